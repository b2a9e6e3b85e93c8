import { extractVmQuery, vmQueryCandidates } from '../../dialogs/intake-text';
import { messageText, readComplaint, sharesCardOnly } from '../../dialogs/msgext-text';

/**
 * "Diagnose RDP" on a message (issue #17): a complaint pasted in a channel, as Teams sends it
 * (HTML), read the way the intake reads a first message: the VM names it may mean and the symptom.
 */
describe('a message body as text', () => {
  it.each([
    ['<p>не могу подключиться к <b>vm-certpk-01</b> по RDP,&nbsp;внутренняя ошибка</p>', 'не могу подключиться к vm-certpk-01 по RDP, внутренняя ошибка'],
    ['<div>line one<br>line&nbsp;two</div><div>&laquo;vm&#45;app&#x2D;03&raquo; &amp; more</div>', 'line one\nline two\n«vm-app-03» & more'],
    ['<at>RDP Doctor</at> vm\u200b-web-01 &lt;script&gt;', 'RDP Doctor vm-web-01 <script>'],
    ['&bogus; &#0; &#9999999;', '&bogus;'],
  ])('%p', (html, text) => {
    expect(messageText(html, 'html')).toBe(text);
  });

  it('plain text is taken as it is; anything but a string is empty; a huge body is cut at Teams\' limit', () => {
    expect(messageText('<b>vm-x1</b>', 'text')).toBe('<b>vm-x1</b>');
    expect(messageText(undefined)).toBe('');
    expect(messageText({ a: 1 })).toBe('');
    expect(messageText('<p>' + 'a'.repeat(100_000) + '</p>').length).toBe(28000);
  });
});

describe('the VMs and the symptom of a complaint, English and Russian', () => {
  it.each<[string, string[], string]>([
    ['<p>не могу подключиться к vm-certpk-01 по RDP, внутренняя ошибка</p>', ['vm-certpk-01'], 'internal-error'],
    ["I can't RDP to vm-certexpired-04, internal error", ['vm-certexpired-04'], 'internal-error'],
    ['Не получается зайти на <b>app-srv-2</b> и db-7: <i>Произошла ошибка проверки подлинности</i>', ['app-srv-2', 'db-7'], 'auth-error'],
    ['vm-tlsoff-06 and VM-TLSOFF-06 and vm-exposed-02 and web-03 and web-04', ['vm-tlsoff-06', 'vm-exposed-02', 'web-03'], 'not-stated'],
    ['Error code: 0x204, Extended error code: 0x0 on 10.0.0.4 port 3389 (KB5005112, CVE-2018-0886)', [], 'cannot-connect'],
    ['RDP is broken again, please help', [], 'generic'],
    ['Зависает на «Настройка удалённого сеанса», машина db-7', ['db-7'], 'configuring-session'],
  ])('%p', (html, vms, symptom) => {
    const reading = readComplaint(html, 'html');
    expect(reading.vmQueries).toEqual(vms);
    expect(reading.symptom).toBe(symptom);
  });

  it('a resource id is one VM, not its parts, and comes first', () => {
    const id = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachines/vm-web-01';
    expect(vmQueryCandidates(`web-02 fails, and so does ${id}`)).toEqual([id, 'web-02']);
  });

  it('its first candidate is the one the intake would pick', () => {
    for (const text of ['I cannot connect to web01 (also web02)', 'An authentication error has occurred. Remote computer: vm-app-03', 'Не могу подключиться по RDP к vm-tlsoff-06', 'hello']) {
      expect(vmQueryCandidates(text)[0] ?? null).toBe(extractVmQuery(text));
    }
  });
});

describe('a message that only shares a card', () => {
  const card = [{ contentType: 'application/vnd.microsoft.card.adaptive', content: {} }];
  const placeholder = '<span class="inline-compose-card" itemid="0" itemtype="http://schema.skype.com/InputExtension"><span>card</span></span>';
  it('is a card with no words besides the inline-card placeholder', () => {
    expect(sharesCardOnly(placeholder, card)).toBe(true);
    expect(sharesCardOnly('', card)).toBe(true);
    expect(sharesCardOnly(undefined, card)).toBe(true);
  });
  it('is not one with words, or without a card', () => {
    expect(sharesCardOnly(`${placeholder} check vm-web-01`, card)).toBe(false);
    expect(sharesCardOnly(placeholder, [])).toBe(false);
    expect(sharesCardOnly(placeholder, [{ contentType: 'image/png' }])).toBe(false);
    expect(sharesCardOnly('', undefined)).toBe(false);
  });
});

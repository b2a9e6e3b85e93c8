import { approvalCard } from '../../cards/approval';
import { consentCard, findingsCard, vmPickCard } from '../../cards/diagnosis';
import { md } from '../../cards/render';
import { translator } from '../../services/i18n';
import type { Approval, DiagnosisRecord } from '../../services/incidents/model';
import { parseDiagnosticOutput, serializeFacts, UNEXPECTED_NAME } from '../../services/runbook/diagnostic-output';
import { healthyFacts } from './runbook-helpers';
import { conflictingServices } from '../../services/runbook/fixes';

/** Issue #12.10: values from Azure, the VM or a user never become markdown in a card. */
const t = translator('en');
const LINK = '[click here](https://evil.example/phish)';
// a link survives only if "[text](" appears unescaped in one of the card's texts
const hasLink = (card: unknown): boolean => {
  if (typeof card === 'string') return /(^|[^\\])\[[^\]]*\]\(/.test(card);
  if (Array.isArray(card)) return card.some(hasLink);
  // a CodeBlock's snippet is shown as code, never as markdown; so is a TextRun (its fallback's
  // lines): Adaptive Cards never read a TextRun's text as markdown
  if (card && typeof card === 'object') {
    const plain = (card as { type?: unknown }).type === 'TextRun';
    return Object.entries(card).some(([k, v]) => k !== 'codeSnippet' && !(plain && k === 'text') && hasLink(v));
  }
  return false;
};

describe('card markdown escaping', () => {
  const vm = { id: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-1', name: 'vm-1', resourceGroup: `rg ${LINK}`, subscriptionId: '00000000-0000-0000-0000-000000000001', location: `**${LINK}**` };

  it('md escapes links, emphasis and code, and leaves plain text and registry paths alone', () => {
    expect(md(LINK)).toBe('\\[click here\\](https://evil.example/phish)');
    expect(md('**bold** _it_ `code`')).toBe('\\*\\*bold\\*\\* \\_it\\_ \\`code\\`');
    expect(md('HKLM\\SYSTEM\\CurrentControlSet')).toBe('HKLM\\SYSTEM\\CurrentControlSet');
    expect(md('- item')).toBe('\\- item');
    expect(md('vm-web-01 in westeurope')).toBe('vm-web-01 in westeurope');
  });

  it('a resource group or location with [text](url) does not render as a link on the consent and pick cards', () => {
    expect(hasLink({ text: LINK })).toBe(true); // the check itself
    expect(hasLink(consentCard(t, { incidentId: 'i', vm, symptom: 'internal-error', script: 'x', publicBaseUrl: 'http://localhost:3978' }))).toBe(false);
    expect(hasLink(vmPickCard(t, { incidentId: 'i', query: LINK, vms: [vm, { ...vm, name: `vm-2${LINK}` }] }))).toBe(false);
  });

  it('evidence and approval values are escaped too', () => {
    const diagnosis: DiagnosisRecord = {
      at: '2030-01-01T00:00:00.000Z',
      findings: [{ id: 'rdp-blocked-by-nsg', severity: 'warning', evidence: [{ key: 'evidence.nsgDeny', params: { rule: LINK, priority: 100, nsg: LINK } }] }],
      fixes: [],
      runCommandCalls: 1,
      armCalls: 1,
      elapsedMs: 1,
      vm: { id: vm.id, name: `vm${LINK}`, powerState: 'running', agentStatus: 'Ready', osType: 'Windows' },
    };
    expect(hasLink(findingsCard(t, { incidentId: 'i', diagnosis }))).toBe(false);
    const approval: Approval = {
      id: 'a', incidentId: 'i', vmId: vm.id, vmName: `vm${LINK}`, fixId: 'restrict-rdp-source', params: { source: LINK }, paramsHash: 'h',
      requester: { id: '29:x', name: LINK }, lang: 'en', state: 'pending', createdAt: '2030-01-01T00:00:00.000Z', expiresAt: '2030-01-01T01:00:00.000Z', cards: [],
    };
    expect(hasLink(approvalCard(t, { approval, view: 'approver', refreshUserIds: [], publicBaseUrl: 'http://localhost:3978' }))).toBe(false);
  });
});

describe('names from the VM', () => {
  it('a process or service name outside the strict pattern is reported as unexpected and never offered to a fix', () => {
    const f = healthyFacts((x) => {
      x.listeners = [{ pid: 4, proc: 'svc[x](http://e.x)', svc: ['MSSQL$SQLEXPRESS', 'bad name;rm', 'W3SVC'] }];
    });
    const facts = parseDiagnosticOutput(serializeFacts(f));
    expect(facts.listeners).toEqual([{ pid: 4, proc: UNEXPECTED_NAME, svc: ['MSSQL$SQLEXPRESS', UNEXPECTED_NAME, 'W3SVC'] }]);
    expect(conflictingServices(facts)).toEqual(['MSSQL$SQLEXPRESS', 'W3SVC']);
  });
});

import { parseVmId, VM_RESOURCE_ID, VM_RESOURCE_ID_IN_TEXT } from '../../services/azure/arm-ids';
import { extractVmQuery } from '../../dialogs/intake-text';

/** The one VM resource-id pattern: whole values (card data), inside text (intake), and the lookup's parse. */
const ID = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachines/vm-web-01';

test('a VM resource id within ARM limits is one, whole and inside text', () => {
  expect(VM_RESOURCE_ID.test(ID)).toBe(true);
  expect(VM_RESOURCE_ID.test(ID.toLowerCase())).toBe(true);
  expect(VM_RESOURCE_ID_IN_TEXT.exec(`please check ${ID} now`)?.[0]).toBe(ID);
  expect(parseVmId(ID)?.name).toBe('vm-web-01');
});

test.each([
  ['not a subscription GUID', ID.replace('00000000-0000-0000-0000-000000000001', 'sub-1')],
  ['another resource type', ID.replace('virtualMachines', 'disks')],
  ['a name longer than 64', ID.replace('vm-web-01', 'v'.repeat(65))],
  ['a resource group longer than 90', ID.replace('rg-demo', 'r'.repeat(91))],
  ['text around it', `x${ID}`],
  ['a trailing segment', `${ID}/extensions/x`],
])('card data refuses %s', (_what, value) => {
  expect(VM_RESOURCE_ID.test(value)).toBe(false);
});

test('the lookup parses what looks like a VM id and nothing else', () => {
  expect(parseVmId(ID.replace('virtualMachines', 'disks'))).toBeNull();
  expect(parseVmId('vm-web-01')).toBeNull();
});

test('intake takes the resource id out of a message', () => {
  expect(extractVmQuery(`can't RDP to ${ID}`)).toBe(ID);
});

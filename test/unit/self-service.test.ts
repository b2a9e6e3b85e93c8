import { loadConfig } from '../../bot/config';
import { vmSummaryOfRow } from '../../services/azure/vm-details';
import { graphQueryForName } from '../../services/azure/graph-query';
import { inSelfServiceScope, parseSelfServiceScope } from '../../services/incidents/self-service';
import { graphRowOf } from '../../services/simulator/arm-shapes';
import { parseFleet } from '../../services/simulator/fleet';
import { runKql } from '../../services/simulator/resource-graph';

describe('SELF_SERVICE_SCOPE', () => {
  it('takes resource groups and tag:name=value entries', () => {
    expect(parseSelfServiceScope(['rg-a', 'tag:rdp-self-service=true', 'TAG:Team=Ops Desk', 'tag:empty='])).toEqual({
      resourceGroups: ['rg-a'],
      tags: [{ name: 'rdp-self-service', value: 'true' }, { name: 'Team', value: 'Ops Desk' }, { name: 'empty', value: '' }],
    });
    expect(loadConfig({ SELF_SERVICE_SCOPE: 'rg-a, tag:rdp-self-service=true' }).SELF_SERVICE_SCOPE).toEqual(['rg-a', 'tag:rdp-self-service=true']);
  });

  it.each(['tag:=x', 'tag:no-value', 'tag:a/b=x', 'tag:a<b=x', 'rg with space', "rg'; drop"])('refuses %j with the variable named', (bad) => {
    expect(() => loadConfig({ SELF_SERVICE_SCOPE: bad })).toThrow(/SELF_SERVICE_SCOPE/);
  });

  it('a VM is in scope by its resource group or by one of the tags (names case-insensitive, values exact); empty: everything', () => {
    const scope = parseSelfServiceScope(['rg-self', 'tag:RDP-Self-Service=true']);
    expect(inSelfServiceScope(scope, { resourceGroup: 'RG-SELF' })).toBe(true);
    expect(inSelfServiceScope(scope, { resourceGroup: 'rg-other', tags: { 'rdp-self-service': 'true' } })).toBe(true);
    expect(inSelfServiceScope(scope, { resourceGroup: 'rg-other', tags: { 'rdp-self-service': 'True' } })).toBe(false);
    expect(inSelfServiceScope(scope, { resourceGroup: 'rg-other', tags: { other: 'true' } })).toBe(false);
    expect(inSelfServiceScope(scope, { resourceGroup: 'rg-other' })).toBe(false);
    expect(inSelfServiceScope(parseSelfServiceScope([]), { resourceGroup: 'rg-other' })).toBe(true);
  });

  it('the VM search reads the tags from Resource Graph', () => {
    const row = { id: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-a', name: 'vm-a', tags: { a: 'b', n: 1 } };
    expect(vmSummaryOfRow(row)?.tags).toEqual({ a: 'b' });
    expect(graphQueryForName('vm-a')).toMatch(/\| project .*\btags\b/);
    // the simulator serves a fleet VM's tags to that query
    const fleet = parseFleet({
      subscriptionId: '00000000-0000-0000-0000-000000000001',
      vms: [{ name: 'vm-a', resourceGroup: 'rg', location: 'westeurope', osType: 'Windows', powerState: 'running', agentStatus: 'Ready', tags: { 'rdp-self-service': 'true' } }],
    });
    const [served] = runKql(graphQueryForName('vm-a'), fleet.vms.map((v) => graphRowOf(fleet, v)));
    expect(vmSummaryOfRow(served as Record<string, unknown>)?.tags).toEqual({ 'rdp-self-service': 'true' });
  });
});

import type { EffectiveNsg, NsgDetails, SecurityRuleSpec } from '../../services/azure/gateway';
import { DomainError } from '../../services/errors';
import { approvalHash } from '../../services/incidents/approvals';
import { buildFixRun, type ArmFixRun } from '../../services/runbook/fixes';
import { evaluateNsgs } from '../../services/runbook/nsg';
import { highRiskKinds, planOf } from '../../services/runbook/plan';
import { undoScriptFor } from '../../services/runbook/undo';

const NSG = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg-shared';
const NIC = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces';

const rule = (r: Partial<SecurityRuleSpec> & Pick<SecurityRuleSpec, 'name' | 'priority'>): SecurityRuleSpec => ({
  direction: 'Inbound',
  access: 'Allow',
  protocol: 'Tcp',
  sourcePortRange: '*',
  destinationAddressPrefix: '*',
  sourceAddressPrefix: '*',
  ...r,
});

function world(rules: SecurityRuleSpec[]): { nsgs: EffectiveNsg[]; details: NsgDetails[] } {
  return {
    nsgs: [{ networkSecurityGroupId: NSG, associatedWith: 'subnet', rules: rules.map((r) => ({ ...r, name: `securityRules/${r.name}` })) }],
    details: [{ id: NSG, name: 'nsg-shared', rules, networkInterfaceIds: [`${NIC}/vm-a-nic`, `${NIC}/vm-b-nic`], subnetIds: ['/x/subnets/app'] }],
  };
}

/** The NSG after the planned writes, as effective rules. */
function applied(nsgs: EffectiveNsg[], run: ArmFixRun): EffectiveNsg[] {
  const rules = [...nsgs[0].rules];
  if (run.arm.op !== 'nsgRules') throw new Error('not an NSG change');
  for (const c of run.arm.rules) {
    const at = rules.findIndex((r) => r.name === `securityRules/${c.rule.name}`);
    const next = { ...c.rule, name: `securityRules/${c.rule.name}` };
    if (at >= 0) rules[at] = next;
    else rules.push(next);
  }
  return [{ ...nsgs[0], rules }];
}

describe('the plan of restrict-rdp-source', () => {
  it('leaves a rule that also opens web ports as it is, and keeps every other port exactly as it was', () => {
    const broad = rule({ name: 'web-and-rdp', priority: 300, destinationPortRanges: ['80', '443', '3389'], description: 'web farm' });
    const { nsgs, details } = world([broad, rule({ name: 'ssh-office', priority: 200, sourceAddressPrefix: '198.51.100.0/24', destinationPortRange: '22' })]);
    const run = buildFixRun('restrict-rdp-source', { source: '203.0.113.0/24' }, null, { nsgs, nsgDetails: details }) as ArmFixRun;
    const plan = planOf(run, details, `${NIC}/vm-a-nic`);
    expect(plan.nsg.map((c) => [c.action, c.before?.name ?? null, c.after?.name, c.after?.access, c.after?.priority])).toEqual([
      ['upsert', null, 'rdp-doctor-allow-rdp-web-and-rdp', 'Allow', 298],
      ['upsert', null, 'rdp-doctor-deny-rdp-web-and-rdp', 'Deny', 299],
    ]);
    expect(plan.nsg[0].otherPorts).toEqual(['80', '443']);
    // a shared NSG: every other NIC and subnet it applies to is named (the VM's own NIC is not)
    expect(plan.alsoAffects).toEqual(['nic:vm-b-nic', 'subnet:app']);
    expect(highRiskKinds(plan)).toEqual(['nsg']);
    const after = applied(nsgs, run);
    for (const port of [22, 80, 443]) expect(evaluateNsgs(after, port)).toEqual({ ...evaluateNsgs(nsgs, port), allowingRules: expect.anything(), exposingRules: expect.anything() });
    expect(evaluateNsgs(after, 80).exposed).toBe(true);
    expect(evaluateNsgs(after, 3389).exposed).toBe(false);
  });

  it('rewrites a rule that opens only RDP in place, keeping its description and its other sources', () => {
    const only = rule({ name: 'rdp', priority: 300, sourceAddressPrefixes: ['10.1.0.0/16', 'Internet'], destinationPortRange: '3389', description: 'admins' });
    delete only.sourceAddressPrefix;
    const { nsgs, details } = world([only]);
    const run = buildFixRun('restrict-rdp-source', { source: '203.0.113.0/24' }, null, { nsgs, nsgDetails: details }) as ArmFixRun;
    const plan = planOf(run, details);
    expect(plan.nsg).toEqual([
      expect.objectContaining({ action: 'upsert', before: only, after: { ...only, sourceAddressPrefixes: ['10.1.0.0/16', '203.0.113.0/24'] }, otherPorts: [] }),
    ]);
  });

  it('refuses when no free priority lies just before the broad rule', () => {
    const { nsgs, details } = world([rule({ name: 'web-and-rdp', priority: 100, destinationPortRanges: ['80', '3389'] })]);
    try {
      buildFixRun('restrict-rdp-source', { source: '203.0.113.0/24' }, null, { nsgs, nsgDetails: details });
      throw new Error('expected a refusal');
    } catch (e) {
      expect((e as DomainError).params.detailKey).toBe('plans.noRoom');
    }
  });
});

describe('the approval hash seals the plan and the number of approvers', () => {
  it('changes with either, and is unchanged for an approval without a plan', () => {
    const base = { incidentId: 'i', vmId: '/VM', fixId: 'enable-tls', params: { tls10: 'false' } };
    const plan = planOf(buildFixRun('enable-tls', { tls10: 'false' }, null), null);
    const sealed = approvalHash({ ...base, plan });
    expect(approvalHash(base)).not.toBe(sealed);
    expect(approvalHash({ ...base, plan: { ...plan, restart: false } })).not.toBe(sealed);
    expect(approvalHash({ ...base, plan, approvalsRequired: 2 })).not.toBe(sealed);
    expect(approvalHash({ ...base, plan, approvalsRequired: 1 })).toBe(sealed);
  });
});

describe('undo scripts from the before-values a fix printed', () => {
  it('enable-tls: each touched value back, an absent one removed; nothing to undo after a noop', () => {
    const status = { ok: true, status: 'done', before: { 'TLS 1.2': { Enabled: 0 } } };
    expect(undoScriptFor('enable-tls', status)).toEqual({
      id: 'undo-enable-tls',
      needsRestart: true,
      parameters: [
        { name: 'Tls12Enabled', value: '0' },
        { name: 'Tls12DisabledByDefault', value: 'absent' },
      ],
    });
    expect(undoScriptFor('enable-tls', { ok: true, status: 'noop', before: {} })).toBeNull();
    expect(undoScriptFor('enable-tls', { ok: true, status: 'done' })).toBeNull();
    expect(undoScriptFor('enable-tls', { ok: true, status: 'done', before: { 'TLS 1.2': { Enabled: 'x' } } })).toBeNull();
    expect(undoScriptFor('renew-rdp-cert', { ok: true, status: 'done', before: {} })).toBeNull();
  });

  it('fix-firewall-rule: the rule as it was, or removed when the fix created it', () => {
    expect(undoScriptFor('fix-firewall-rule', { ok: true, status: 'done', before: { exists: true, enabled: false, localPort: ['3389', '3390'] } })?.parameters).toEqual([
      { name: 'Exists', value: '1' },
      { name: 'Enabled', value: 'False' },
      { name: 'LocalPort', value: '3389.3390' },
    ]);
    expect(undoScriptFor('fix-firewall-rule', { ok: true, status: 'done', before: { exists: false } })?.parameters).toEqual([{ name: 'Exists', value: '0' }]);
    expect(undoScriptFor('fix-firewall-rule', { ok: true, status: 'done', before: { exists: true, enabled: true, localPort: ['3389; x'] } })).toBeNull();
  });

  it('enable-nla: only the values the fix changed', () => {
    const status = { ok: true, status: 'done', changed: ['UserAuthentication', 'fAllowSecProtocolNegotiation'], before: { UserAuthentication: 0, SecurityLayer: 2 } };
    expect(undoScriptFor('enable-nla', status)?.parameters).toEqual([
      { name: 'UserAuthentication', value: '0' },
      { name: 'AllowSecProtocolNegotiation', value: 'absent' },
    ]);
  });
});

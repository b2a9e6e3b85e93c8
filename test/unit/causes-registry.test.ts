import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AzureGateway, EffectiveNsg, EffectiveSecurityRule, VmModel } from '../../services/azure/gateway';
import { findingsCard } from '../../cards/diagnosis';
import { hasKey, LANGS, translator } from '../../services/i18n';
import type { DiagnosisRecord } from '../../services/incidents/model';
import { planFix } from '../../services/incidents/planner';
import { CAUSES, REGISTRY, registryFixes } from '../../services/runbook/causes';
import { parseDiagnosticOutput } from '../../services/runbook/diagnostic-output';
import { blockers, evaluate, FINDING_IDS, SEVERITY, type Finding, type FindingId } from '../../services/runbook/findings';
import { buildFixRun, FIX_IDS, FIXES, FIX_PARAMS, type FixId } from '../../services/runbook/fixes';
import { AZURE_DEFAULT_INBOUND_RULES } from '../../services/runbook/nsg';
import { DIAGNOSE_SCRIPT, FIX_SCRIPT_IDS, getScript, UNDO_SCRIPT_IDS } from '../../services/runbook/scripts';
import { NO_UNDO_FIXES, type NoUndoReason } from '../../services/runbook/undo';
import { scriptIdOf } from '../../services/simulator/interior';
import { createVmInterior } from '../../services/simulator/vm-interior';
import { demoFleetVms, effectiveNsgsOf, healthyFacts, NOW, vmDetailsOf } from './runbook-helpers';

/**
 * The registry of causes (services/runbook/causes, docs/causes.md) is where every list comes
 * from; these are the rules a cause module must follow so the derived lists stay sound.
 */
const findings = REGISTRY.flatMap((c) => c.findings.map((f) => ({ cause: c.name, ...f })));
const fixes = registryFixes();
const both = (key: string) => LANGS.every((l) => hasKey(l, key));

describe('cause registry', () => {
  it('names each cause, finding and fix once', () => {
    const dup = (xs: string[]) => xs.filter((x, i) => xs.indexOf(x) !== i);
    expect(dup(REGISTRY.map((c) => c.name))).toEqual([]);
    expect(dup(findings.map((f) => f.id))).toEqual([]);
    expect(dup(fixes.map((f) => f.id))).toEqual([]);
  });

  it('every list is read from it: finding ids, severities, fix ids, fix definitions, parameters, the fixes without undo', () => {
    expect([...FINDING_IDS].sort()).toEqual(findings.map((f) => f.id).sort());
    expect(SEVERITY).toEqual(Object.fromEntries(findings.map((f) => [f.id, f.severity])));
    expect(FIX_IDS).toEqual(fixes.map((f) => f.id));
    expect(Object.keys(FIXES).sort()).toEqual([...FIX_IDS].sort());
    expect(Object.keys(FIX_PARAMS).sort()).toEqual([...FIX_IDS].sort());
    for (const f of fixes) expect([f.id, FIXES[f.id as keyof typeof FIXES].addresses]).toEqual([f.id, f.addresses]);
    expect([...NO_UNDO_FIXES].sort()).toEqual(fixes.filter((f) => f.noUndoReason).map((f) => f.id).sort());
  });

  it('keeps the order a report has always used (severity first, then the order of CONTRACTS §1), and the catalogue order of §2', () => {
    // the ids that existed before the registry, in the order sortFindings, the first fix and the card depend on
    const before = [
      'vm-not-windows', 'vm-not-running', 'vm-agent-not-ready', 'rdp-exposed-to-internet', 'brute-force-suspected', 'termservice-stopped',
      'rdp-port-conflict', 'rdp-not-listening', 'rdp-cert-missing', 'rdp-cert-binding-broken', 'rdp-cert-expired', 'rdp-cert-no-private-key',
      'machinekeys-acl-broken', 'cert-key-errors-logged', 'tls-disabled', 'rdp-blocked-by-nsg', 'firewall-rule-mismatch', 'rdp-cert-expiring',
      'nla-disabled', 'tls-managed-by-policy',
    ];
    expect(FINDING_IDS.filter((id) => before.includes(id))).toEqual(before);
    const rank = { blocker: 0, critical: 1, warning: 2, info: 3 };
    const ranks = FINDING_IDS.map((id) => rank[SEVERITY[id]]);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    const catalogue = ['restrict-rdp-source', 'free-rdp-port', 'change-rdp-port', 'start-termservice', 'fix-firewall-rule', 'renew-rdp-cert', 'reset-machinekeys-acl', 'enable-tls', 'enable-nla', 'start-vm', 'restart-vm', 'snapshot-os-disk'];
    expect(FIX_IDS.filter((id) => catalogue.includes(id))).toEqual(catalogue);
  });

  it.each(fixes.map((f) => [f.id, f] as const))('fix %s: addresses findings, has its script, says how it is undone, asks only for its parameters', (_id, fix) => {
    for (const a of fix.addresses) expect([fix.id, a, (FINDING_IDS as readonly string[]).includes(a)]).toEqual([fix.id, a, true]);
    if (fix.kind === 'script') {
      expect(fix.scriptId).toBeDefined();
      expect((FIX_SCRIPT_IDS as readonly string[]).includes(fix.scriptId ?? '')).toBe(true);
      expect(getScript(fix.scriptId!).source.split('\n')[0]).toBe(`# rdp-doctor-script: ${fix.scriptId}`);
    } else {
      expect(fix.scriptId).toBeUndefined();
    }
    // exactly one way: an undo script from the before-values, the NSG rules put back, or a reason there is none
    const ways = [fix.undo !== undefined, fix.undoesNsgRules === true, fix.noUndoReason !== undefined].filter(Boolean);
    expect([fix.id, ways.length]).toEqual([fix.id, 1]);
    if (fix.noUndoReason) expect([fix.noUndoReason, both(`plans.undo.none.${fix.noUndoReason}`)]).toEqual([fix.noUndoReason, true]);
    if (fix.undo) expect((UNDO_SCRIPT_IDS as readonly string[]).includes(`undo-${fix.scriptId?.replace(/^fix-/, '')}`)).toBe(true);
    for (const key of [`fixes.${fix.id}.title`, `fixes.${fix.id}.description`]) expect([key, both(key)]).toEqual([key, true]);
    const shape = Object.keys((fix.params as unknown as { shape?: Record<string, unknown> }).shape ?? {});
    for (const input of fix.inputs ?? []) {
      expect([fix.id, input.id, shape.includes(input.id)]).toEqual([fix.id, input.id, true]);
      const keys = [input.labelKey, ...('errorKey' in input && input.errorKey ? [input.errorKey] : []), ...(input.type === 'choice' ? (input.choices ?? []).map((c) => c.labelKey) : [])];
      for (const key of keys) expect([key, both(key)]).toEqual([key, true]);
    }
  });

  it('names every fix and undo script the project ships', () => {
    const named = new Set(fixes.map((f) => f.scriptId));
    expect(FIX_SCRIPT_IDS.filter((id) => !named.has(id))).toEqual([]);
    const undone = new Set(fixes.filter((f) => f.undo).map((f) => `undo-${f.scriptId?.replace(/^fix-/, '')}`));
    expect(UNDO_SCRIPT_IDS.filter((id) => !undone.has(id))).toEqual([]);
  });

  it('every finding has a fix or guidance (blockers and info are exempt; rdp-blocked-by-nsg waits for guidance: opening the NSG is a choice for people)', () => {
    const guided = new Set(REGISTRY.flatMap((c) => (c.guidance ?? []).map((g) => g.findingId)));
    const fixed = new Set(fixes.flatMap((f) => f.addresses));
    const exempt = new Set(['rdp-blocked-by-nsg']);
    const lacking = findings.filter((f) => f.severity !== 'blocker' && f.severity !== 'info' && !exempt.has(f.id) && !fixed.has(f.id) && !guided.has(f.id));
    expect(lacking.map((f) => f.id)).toEqual([]);
    for (const g of REGISTRY.flatMap((c) => c.guidance ?? [])) {
      expect([g.findingId, (FINDING_IDS as readonly string[]).includes(g.findingId), both(g.textKey), g.article.startsWith('https://learn.microsoft.com/')]).toEqual([g.findingId, true, true, true]);
    }
    for (const f of findings) for (const key of [`findings.${f.id}.title`, `findings.${f.id}.explain`]) expect([key, both(key)]).toEqual([key, true]);
  });

  it('a cause reports only its own findings; blockers only from blockers(), never from check', () => {
    const own = new Map(REGISTRY.flatMap((c) => c.findings.map((f) => [f.id, c.name] as const)));
    const out = evidenceRun();
    for (const { cause, finding } of out.reported) expect([finding.id, own.get(finding.id)]).toEqual([finding.id, cause]);
    expect(out.reported.filter((r) => r.finding.severity === 'blocker' && !r.fromBlockers)).toEqual([]);
    // the run reaches every cause that has findings, so the next test means something
    const seen = new Set(out.reported.map((r) => r.cause));
    expect(REGISTRY.filter((c) => c.findings.length > 0 && !seen.has(c.name)).map((c) => c.name)).toEqual([]);
  });

  it('every evidence key a check produces over the fixtures and the demo fleet has English and Russian text', () => {
    const keys = [...new Set(evidenceRun().reported.flatMap((r) => r.finding.evidence.map((e) => e.key)))].sort();
    expect(keys.length).toBeGreaterThan(20);
    expect(keys.filter((k) => !both(k))).toEqual([]);
  });

  it('CAUSES is the tuple behind REGISTRY', () => {
    expect(REGISTRY).toBe(CAUSES);
  });
});

let cached: ReturnType<typeof runAll> | null = null;
function evidenceRun() {
  cached ??= runAll();
  return cached;
}

/** Every cause's check over the real outputs in fixtures/diagnose-output and every demo fleet VM (the emulated script), blockers too. */
function runAll() {
  const reported: { cause: string; finding: Finding; fromBlockers: boolean }[] = [];
  const record = (input: Parameters<typeof evaluate>[0]) => {
    for (const c of REGISTRY) {
      for (const finding of c.check(input)) reported.push({ cause: c.name, finding, fromBlockers: false });
      for (const finding of c.blockers?.(input.vm) ?? []) reported.push({ cause: c.name, finding, fromBlockers: true });
    }
  };
  const vms = demoFleetVms();
  const dir = join(__dirname, 'fixtures', 'diagnose-output');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.txt'))) {
    const facts = parseDiagnosticOutput(readFileSync(join(dir, file), 'utf8'));
    record({ vm: vmDetailsOf(vms[0]), nsgs: null, facts, now: new Date(Date.parse(facts.at ?? NOW.toISOString())) });
  }
  // what no demo VM shows: NLA off (listener and policy), RDP denied by an NSG, two NSGs without a common source
  const healthy = vms.find((v) => v.name === 'vm-healthy-01') ?? vms[0];
  const nlaOff = [healthyFacts((f) => (f.rdpTcp = { ...f.rdpTcp, UserAuthentication: 0 } as typeof f.rdpTcp)), healthyFacts((f) => (f.policy = ['TS\\UserAuthentication=0']))];
  for (const facts of nlaOff) record({ vm: vmDetailsOf(healthy), nsgs: effectiveNsgsOf(healthy), facts, now: NOW });
  const nsg = (at: EffectiveNsg['associatedWith'], rules: Partial<EffectiveSecurityRule>[]): EffectiveNsg => ({
    networkSecurityGroupId: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/${at}-nsg`,
    associatedWith: at,
    rules: [...rules.map((r, i) => ({ name: `securityRules/r${i}`, protocol: 'Tcp', direction: 'Inbound' as const, sourceAddressPrefix: '*', destinationPortRange: '3389', access: 'Allow' as const, priority: 100 + i, ...r })), ...AZURE_DEFAULT_INBOUND_RULES],
  });
  const blocked = [
    [nsg('networkInterface', [{ access: 'Deny' }])],
    [nsg('networkInterface', [{ sourceAddressPrefix: '203.0.113.0/24' }]), nsg('subnet', [{ sourceAddressPrefix: '198.51.100.0/24' }])],
  ];
  for (const nsgs of blocked) record({ vm: vmDetailsOf(healthy), nsgs, facts: healthyFacts(), now: NOW });
  const interior = createVmInterior();
  for (const vm of vms) {
    const details = vmDetailsOf(vm);
    const nsgs = effectiveNsgsOf(vm);
    const stopped = blockers(details).length > 0;
    const facts = stopped ? null : parseDiagnosticOutput(interior.run(vm, scriptIdOf(DIAGNOSE_SCRIPT.source) ?? '', [], NOW).stdout);
    record({ vm: details, nsgs, facts, now: NOW });
  }
  return { reported };
}

describe('findings card: each fix asks for exactly the inputs its cause module declares', () => {
  const inputsOf = (card: unknown, fixId: string): { type: string; id: string; choices?: { value: string }[] }[] => {
    const found: { type: string; id: string }[] = [];
    const walk = (node: unknown, inFix: boolean): void => {
      if (Array.isArray(node)) return node.forEach((n) => walk(n, inFix));
      if (!node || typeof node !== 'object') return;
      const o = node as Record<string, unknown>;
      if (o.type === 'Action.ShowCard') {
        const card = o.card as { actions?: { data?: { fixId?: string } }[] };
        return walk(card, card.actions?.[0]?.data?.fixId === fixId);
      }
      if (inFix && typeof o.type === 'string' && o.type.startsWith('Input.')) found.push(o as { type: string; id: string });
      for (const v of Object.values(o)) walk(v, inFix);
    };
    walk(card, false);
    return found;
  };
  const TYPE = { text: 'Input.Text', number: 'Input.Number', choice: 'Input.ChoiceSet', toggle: 'Input.Toggle' } as const;

  it.each(LANGS)('%s', (lang) => {
    const facts = healthyFacts((f) => (f.listeners = [{ pid: 4, proc: 'java', svc: ['TomcatAgent'] }]));
    const offered = fixes.filter((f) => f.addresses.length > 0);
    const diagnosis: DiagnosisRecord = {
      at: NOW.toISOString(),
      findings: [],
      fixes: offered.map((f) => ({ id: f.id, addresses: [...f.addresses] })),
      runCommandCalls: 1, armCalls: 1, elapsedMs: 1000,
      vm: { id: vmDetailsOf(demoFleetVms()[0]).id, name: 'vm', powerState: 'running', agentStatus: 'Ready', osType: 'Windows' },
      facts,
    } as DiagnosisRecord;
    const card = findingsCard(translator(lang), { incidentId: 'i', diagnosis });
    for (const fix of offered) {
      const shown = inputsOf(card, fix.id);
      expect([fix.id, shown.map((i) => [i.type, i.id])]).toEqual([fix.id, (fix.inputs ?? []).map((i) => [TYPE[i.type], i.id])]);
      for (const [i, input] of (fix.inputs ?? []).entries()) {
        if (input.type !== 'choice') continue;
        const values = (shown[i].choices ?? []).map((c) => c.value);
        expect(values).toEqual(input.choicesFrom ? input.choicesFrom(facts) : (input.choices ?? []).map((c) => c.value));
      }
    }
  });
});

describe('the ids stay literal types (a mistyped id is a compile error; npm run typecheck)', () => {
  it('FindingId, FixId and NoUndoReason are unions of the registry ids', () => {
    // @ts-expect-error not a finding id
    const finding: FindingId = 'no-such-finding';
    // @ts-expect-error not a fix id
    const fix: FixId = 'no-such-fix';
    // @ts-expect-error not a reason
    const reason: NoUndoReason = 'no-such-reason';
    const ok: [FindingId, FixId, NoUndoReason] = ['nla-disabled', 'enable-nla', 'start-vm'];
    expect([finding, fix, reason, ...ok]).toHaveLength(6);
  });
});

describe('the planner reads the NSGs fresh for every fix that changes NSG rules (readsNsgs), and only for those', () => {
  const vm = demoFleetVms().find((v) => v.name === 'vm-exposed-02') ?? demoFleetVms()[0];
  const PARAMS: Record<string, unknown> = { 'restrict-rdp-source': { source: '203.0.113.0/24' }, 'change-rdp-port': { port: 3390 }, 'free-rdp-port': { service: 'TomcatAgent' } };
  const facts = healthyFacts((f) => (f.listeners = [{ pid: 4, proc: 'java', svc: ['TomcatAgent'] }]));
  // offline-repair reads the VM's compute model instead (readsVmModel)
  const details = vmDetailsOf(vm);
  const vmModel: VmModel = { ...details, vmSize: 'Standard_B2s', hyperVGeneration: 'V1', osDiskId: `/subscriptions/${details.subscriptionId}/resourceGroups/${details.resourceGroup}/providers/Microsoft.Compute/disks/${details.name}-os`, osDiskName: `${details.name}-os`, subnetId: 'subnet', dataDisks: [] };
  const incidentId = '0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b';
  const changesNsgs = (fixId: string): boolean => {
    const run = buildFixRun(fixId, PARAMS[fixId] ?? {}, facts, { vm: vmDetailsOf(vm), nsgs: effectiveNsgsOf(vm), now: NOW, vmModel, incidentId });
    return run.arm?.op === 'nsgRules' && run.arm.rules.length > 0;
  };
  it.each(fixes.map((f) => f.id))('%s', async (fixId) => {
    const read: string[] = [];
    const gateway = {
      getVm: async () => (read.push('getVm'), vmDetailsOf(vm)),
      getEffectiveNsgRules: async () => (read.push('getEffectiveNsgRules'), effectiveNsgsOf(vm)),
      getNsg: async (id: string) => (read.push('getNsg'), { id, name: 'nsg', rules: [], networkInterfaceIds: [], subnetIds: [] }),
      getVmModel: async () => (read.push('getVmModel'), vmModel),
    } as unknown as AzureGateway;
    await planFix(gateway, { vmId: vmDetailsOf(vm).id, fixId, params: PARAMS[fixId] ?? {}, facts, now: NOW, knownNsgs: effectiveNsgsOf(vm), incidentId });
    expect([fixId, read.includes('getNsg')]).toEqual([fixId, changesNsgs(fixId)]);
    expect([fixId, read.includes('getVmModel')]).toEqual([fixId, FIXES[fixId as FixId].readsVmModel]);
  });
});

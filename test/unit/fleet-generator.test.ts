import { parseDiagnosticOutput } from '../../services/runbook/diagnostic-output';
import { blockers, evaluate } from '../../services/runbook/findings';
import { fleetSchema, fleetSubscriptions, vmSubscriptionOf, type FleetVm } from '../../services/simulator/fleet';
import { createVmInterior } from '../../services/simulator/vm-interior';
import { effectiveNsgsOf, vmDetailsOf } from './runbook-helpers';
import { findAddressed } from '../../services/simulator/fleet-index';
import { generateFleet, GENERATED_PROFILES } from '../../services/simulator/fleet-generator';
import { ArmThrottle } from '../../services/simulator/throttling';

const NOW = new Date('2026-12-01T00:00:00Z');

describe('the fleet generator', () => {
  test('the same seed gives the identical fleet; another seed a different one', () => {
    const a = generateFleet({ vms: 500, seed: 42, subscriptions: 4, now: NOW });
    const b = generateFleet({ vms: 500, seed: 42, subscriptions: 4, now: NOW });
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    const c = generateFleet({ vms: 500, seed: 43, subscriptions: 4, now: NOW });
    expect(JSON.stringify(c)).not.toBe(JSON.stringify(a));
    expect(fleetSubscriptions(c)).not.toEqual(fleetSubscriptions(a));
    expect(c.vms.map((v) => v.tags?.profile)).not.toEqual(a.vms.map((v) => v.tags?.profile));
  });

  test('10,000 VMs over 4 subscriptions and their resource groups, valid by the fleet schema, with the whole mix', () => {
    const f = generateFleet({ vms: 10_000, seed: 42, subscriptions: 4, resourceGroups: 5, now: NOW });
    expect(f.vms).toHaveLength(10_000);
    expect(fleetSchema.safeParse(JSON.parse(JSON.stringify(f))).success).toBe(true);
    const subs = fleetSubscriptions(f);
    expect(subs).toHaveLength(4);
    expect(new Set(f.vms.map((v) => `${vmSubscriptionOf(f, v)}/${v.resourceGroup}`)).size).toBe(20);
    expect(new Set(f.vms.map((v) => v.name)).size).toBe(10_000);
    const count = new Map<string, number>();
    for (const v of f.vms) count.set(v.tags?.profile ?? '', (count.get(v.tags?.profile ?? '') ?? 0) + 1);
    for (const [profile, weight] of GENERATED_PROFILES) {
      // every profile is there, near its share (weights are per 1,000)
      expect(count.get(profile) ?? 0).toBeGreaterThan(weight * 10 * 0.6);
      expect(count.get(profile) ?? 0).toBeLessThan(weight * 10 * 1.4 + 20);
    }
  });

  test('each profile is the state its name says', () => {
    const f = generateFleet({ vms: 2000, seed: 5, now: NOW });
    const one = (p: string) => f.vms.find((v) => v.tags?.profile === p);
    expect(one('rdp-exposed')?.nsgRules).toEqual([expect.objectContaining({ access: 'Allow', sourceAddressPrefix: '*', destinationPortRange: '3389' })]);
    expect(one('nsg-blocks')?.nsgRules[0]).toMatchObject({ access: 'Deny', priority: 100, destinationPortRange: '3389' });
    expect(one('deallocated')).toMatchObject({ powerState: 'deallocated' });
    expect(one('agent-not-ready')).toMatchObject({ powerState: 'running', agentStatus: 'NotReady' });
    expect(one('no-public-ip')?.publicIp).toBeNull();
    const expiring = Date.parse(one('cert-expiring')?.windows?.rdpCertificate?.notAfter ?? '');
    expect(expiring).toBeGreaterThan(NOW.getTime());
    expect(expiring).toBeLessThan(NOW.getTime() + 14 * 86_400_000);
    expect(Date.parse(one('cert-expired')?.windows?.rdpCertificate?.notAfter ?? '')).toBeLessThan(NOW.getTime());
    expect(one('tls-disabled')?.windows?.schannelServer['TLS 1.2']).toEqual({ Enabled: 0, DisabledByDefault: 1 });
    expect(one('nla-disabled')?.windows?.rdpTcp.UserAuthentication).toBe(0);
    expect(Date.parse(one('healthy')?.windows?.rdpCertificate?.notAfter ?? '')).toBeGreaterThan(NOW.getTime() + 14 * 86_400_000);
  });

  let mixed: ReturnType<typeof generateFleet> | undefined;
  /** What a deep sweep sees (the bot's diagnosis, the VM's inside emulated): blockers, else the diagnostic. */
  function findingsOf(vm: FleetVm): string[] {
    const details = vmDetailsOf(vm, vm.subscriptionId);
    const nsgs = effectiveNsgsOf(vm, vm.subscriptionId);
    const stop = blockers(details);
    if (stop.length > 0) return [...stop, ...evaluate({ vm: details, nsgs, facts: null, now: NOW })].map((f) => f.id);
    const facts = parseDiagnosticOutput(createVmInterior().run(vm, 'diagnose', [], NOW).stdout);
    return evaluate({ vm: details, nsgs, facts, now: NOW }).map((f) => f.id);
  }

  test.each([
    ['healthy', []],
    ['rdp-exposed', ['rdp-exposed-to-internet']],
    ['brute-force', ['rdp-exposed-to-internet', 'brute-force-suspected']],
    ['nsg-blocks', ['rdp-blocked-by-nsg']],
    ['deallocated', ['vm-not-running']],
    ['stopped', ['vm-not-running']],
    ['agent-not-ready', ['vm-agent-not-ready']],
    ['no-public-ip', ['rdp-no-public-ip']],
    ['cert-expiring', ['rdp-cert-expiring']],
    ['cert-expired', ['rdp-cert-expired', 'cert-key-errors-logged']],
    ['tls-disabled', ['tls-disabled']],
    ['nla-disabled', ['nla-disabled']],
    ['rdp-denied', ['rdp-connections-denied']],
    ['termservice-disabled', ['termservice-disabled']],
    ['guest-firewall', ['guest-firewall-blocks-rdp']],
    ['disk-full', ['system-disk-full']],
  ])('a generated %s VM is diagnosed with %j', (profile, expected) => {
    mixed ??= generateFleet({ vms: 2000, seed: 5, now: NOW });
    const vm = mixed.vms.find((v) => v.tags?.profile === profile) as FleetVm;
    expect(findingsOf(vm).sort()).toEqual([...expected].sort());
  });

  test('bad sizes are refused with the flag named', () => {
    expect(() => generateFleet({ vms: 0, seed: 1 })).toThrow(/--generate/);
    expect(() => generateFleet({ vms: 10, seed: -1 })).toThrow(/--seed/);
    expect(() => generateFleet({ vms: 10, seed: 1, subscriptions: 17 })).toThrow(/--subscriptions/);
  });
});

describe('the fleet index', () => {
  test('finds a VM by its subscription, resource group and the name of the VM, NIC, NSG or disk; another subscription does not', () => {
    const f = generateFleet({ vms: 300, seed: 9, subscriptions: 3, now: NOW });
    const vm = f.vms[200]!;
    const sub = vmSubscriptionOf(f, vm);
    expect(findAddressed(f, 'vm', sub.toUpperCase(), vm.resourceGroup.toUpperCase(), vm.name)).toBe(vm);
    expect(findAddressed(f, 'nic', sub, vm.resourceGroup, `${vm.name}-nic`)).toBe(vm);
    expect(findAddressed(f, 'nsg', sub, vm.resourceGroup, `${vm.name}-nsg`)).toBe(vm);
    expect(findAddressed(f, 'disk', sub, vm.resourceGroup, `${vm.name}_OsDisk_1`)).toBe(vm);
    const other = fleetSubscriptions(f).find((s) => s !== sub)!;
    expect(findAddressed(f, 'vm', other, vm.resourceGroup, vm.name)).toBeUndefined();
    // a VM added or replaced later is found
    const copy = { ...vm, name: 'vm-added' };
    f.vms.push(copy);
    expect(findAddressed(f, 'vm', sub, vm.resourceGroup, 'vm-added')).toBe(copy);
    const replaced = { ...vm };
    f.vms[200] = replaced;
    expect(findAddressed(f, 'vm', sub, vm.resourceGroup, vm.name)).toBe(replaced);
  });
});

describe('ARM throttling (token bucket) and Resource Graph quota', () => {
  test('reads: the bucket, then 429 with Retry-After; tokens come back at the refill rate', () => {
    let t = 0;
    const th = new ArmThrottle({ readBucket: 3, readRefillPerSecond: 1 }, () => t);
    const path = '/subscriptions/s1/providers/Microsoft.Compute/virtualMachines';
    expect([1, 2, 3].map(() => th.take('GET', path).headers['x-ms-ratelimit-remaining-subscription-reads'])).toEqual(['2', '1', '0']);
    const no = th.take('GET', path);
    expect(no.throttled).toMatchObject({ status: 429, headers: { 'retry-after': '1' }, body: { error: { code: 'TooManyRequests' } } });
    // another subscription has its own bucket; writes have theirs
    expect(th.take('GET', '/subscriptions/s2/x').throttled).toBeUndefined();
    expect(th.take('PUT', path).headers['x-ms-ratelimit-remaining-subscription-writes']).toBe('199');
    t = 1000;
    expect(th.take('GET', path).throttled).toBeUndefined();
    expect(th.take('GET', path).throttled).toBeDefined();
  });

  test('Resource Graph: the quota per window, with its headers; 429 until the window resets', () => {
    let t = 0;
    const th = new ArmThrottle({ graphQuota: 2, graphWindowSeconds: 5 }, () => t);
    const path = '/providers/Microsoft.ResourceGraph/resources';
    expect(th.take('POST', path).headers).toEqual({ 'x-ms-user-quota-remaining': '1', 'x-ms-user-quota-resets-after': '00:00:05' });
    t = 1500;
    expect(th.take('POST', path).headers['x-ms-user-quota-remaining']).toBe('0');
    const no = th.take('POST', path);
    expect(no.throttled).toMatchObject({ status: 429, headers: { 'retry-after': '4', 'x-ms-user-quota-resets-after': '00:00:04' }, body: { error: { code: 'RateLimiting' } } });
    t = 5000;
    expect(th.take('POST', path).throttled).toBeUndefined();
  });
});

import fc from 'fast-check';
import { join } from 'node:path';
import { effectiveNsgListOf, type JsonObject } from '../../services/simulator/arm-shapes';
import { loadFleetFile } from '../../services/simulator/fleet';
import type { EffectiveNsg, EffectiveSecurityRule } from '../../services/azure/gateway';
import { AZURE_DEFAULT_INBOUND_RULES, evaluateNsgs, portSpecCovers } from '../../services/runbook/nsg';

type R = Partial<EffectiveSecurityRule> & { priority: number; access: 'Allow' | 'Deny' };

function rule(r: R): EffectiveSecurityRule {
  return {
    name: `securityRules/r${r.priority}`,
    protocol: 'Tcp',
    direction: 'Inbound',
    sourceAddressPrefix: '*',
    destinationPortRange: '3389',
    ...r,
  };
}

function nsg(rules: R[], associatedWith: EffectiveNsg['associatedWith'] = 'networkInterface'): EffectiveNsg {
  return {
    networkSecurityGroupId: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/${associatedWith}-nsg`,
    associatedWith,
    rules: [...rules.map(rule), ...AZURE_DEFAULT_INBOUND_RULES],
  };
}

/** The same NSGs with every rule list backwards (Azure's defaults first, the highest priority number first). */
const reversed = (nsgs: EffectiveNsg[]): EffectiveNsg[] => nsgs.map((n) => ({ ...n, rules: [...n.rules].reverse() }));

/** An NSG with its rules (Azure's defaults included) in a seeded random order. */
function shuffledNsg(rules: R[], seed: number): EffectiveNsg {
  const n = nsg(rules);
  const out = [...n.rules];
  let x = (seed | 0) || 1;
  for (let i = out.length - 1; i > 0; i--) {
    x = (Math.imul(x, 1103515245) + 12345) | 0;
    const j = ((x >>> 16) % (i + 1) + i + 1) % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return { ...n, rules: out };
}

const allow = (priority: number, extra: Partial<EffectiveSecurityRule> = {}): R => ({ priority, access: 'Allow', ...extra });
const deny = (priority: number, extra: Partial<EffectiveSecurityRule> = {}): R => ({ priority, access: 'Deny', ...extra });

describe('NSG evaluation for inbound TCP 3389', () => {
  it.each<[string, EffectiveNsg[], { exposed: boolean; blocked: boolean }]>([
    ['only Azure default rules: AllowVnetInBound lets the virtual network in (VPN, peering, Bastion)', [nsg([])], { exposed: false, blocked: false }],
    ['allow from *', [nsg([allow(300)])], { exposed: true, blocked: false }],
    ['allow from Internet', [nsg([allow(300, { sourceAddressPrefix: 'Internet' })])], { exposed: true, blocked: false }],
    ['allow from Any', [nsg([allow(300, { sourceAddressPrefix: 'Any' })])], { exposed: true, blocked: false }],
    ['allow from 0.0.0.0/0', [nsg([allow(300, { sourceAddressPrefix: '0.0.0.0/0' })])], { exposed: true, blocked: false }],
    ['allow from a list holding 0.0.0.0/0', [nsg([allow(300, { sourceAddressPrefix: undefined, sourceAddressPrefixes: ['10.0.0.0/8', '0.0.0.0/0'] })])], { exposed: true, blocked: false }],
    [
      'allow whose expansion is Internet-wide',
      [nsg([allow(300, { sourceAddressPrefix: undefined, expandedSourceAddressPrefix: ['0.0.0.0/0'] })])],
      { exposed: true, blocked: false },
    ],
    ['allow from an office range', [nsg([allow(300, { sourceAddressPrefix: '198.51.100.0/24' })])], { exposed: false, blocked: false }],
    ['allow from a single IP without a mask', [nsg([allow(300, { sourceAddressPrefix: '203.0.113.7' })])], { exposed: false, blocked: false }],
    ['higher-priority deny * wins over allow *', [nsg([deny(100), allow(300)])], { exposed: false, blocked: true }],
    ['deny Internet before allow *: the virtual network still gets in', [nsg([deny(100, { sourceAddressPrefix: 'Internet' }), allow(300)])], { exposed: false, blocked: false }],
    ['lower-priority deny does not stop an earlier allow', [nsg([allow(100), deny(300)])], { exposed: true, blocked: false }],
    ['a narrow deny first does not stop Internet-wide exposure', [nsg([deny(100, { sourceAddressPrefix: '203.0.113.0/24' }), allow(300)])], { exposed: true, blocked: false }],
    ['deny of a range covers an allow inside it', [nsg([deny(100, { sourceAddressPrefix: '198.51.0.0/16' }), allow(300, { sourceAddressPrefix: '198.51.100.0/24' }), deny(4000)])], { exposed: false, blocked: true }],
    ['deny of a range does not cover a wider allow', [nsg([deny(100, { sourceAddressPrefix: '198.51.100.0/24' }), allow(300, { sourceAddressPrefix: '198.51.0.0/16' })])], { exposed: false, blocked: false }],
    ['UDP allow does not carry RDP over TCP (behind a deny of everything else)', [nsg([allow(300, { protocol: 'Udp' }), deny(4000)])], { exposed: false, blocked: true }],
    ['protocol * carries TCP', [nsg([allow(300, { protocol: '*' })])], { exposed: true, blocked: false }],
    ['protocol All carries TCP', [nsg([allow(300, { protocol: 'All' })])], { exposed: true, blocked: false }],
    ['UDP deny does not block TCP', [nsg([deny(100, { protocol: 'Udp' }), allow(300)])], { exposed: true, blocked: false }],
    ['port range 3000-4000 covers 3389', [nsg([allow(300, { destinationPortRange: '3000-4000' })])], { exposed: true, blocked: false }],
    ['port range 3389-3389 covers 3389', [nsg([allow(300, { destinationPortRange: '3389-3389' })])], { exposed: true, blocked: false }],
    ['port range 0-65535 covers 3389', [nsg([allow(300, { destinationPortRange: '0-65535' })])], { exposed: true, blocked: false }],
    ['port * covers 3389', [nsg([allow(300, { destinationPortRange: '*' })])], { exposed: true, blocked: false }],
    ['a port list covers 3389', [nsg([allow(300, { destinationPortRange: undefined, destinationPortRanges: ['22', '3389'] })])], { exposed: true, blocked: false }],
    ['another port does not', [nsg([allow(300, { destinationPortRange: '3390' }), deny(4000)])], { exposed: false, blocked: true }],
    ['a range that stops short does not', [nsg([allow(300, { destinationPortRange: '3000-3388' }), deny(4000)])], { exposed: false, blocked: true }],
    ['outbound allow is ignored', [nsg([allow(300, { direction: 'Outbound' }), deny(4000)])], { exposed: false, blocked: true }],
    ['explicit allow from VirtualNetwork is an allow, not exposure', [nsg([allow(300, { sourceAddressPrefix: 'VirtualNetwork' }), deny(4000)])], { exposed: false, blocked: false }],
    ['subnet allows *, NIC only the office: not exposed', [nsg([allow(300)], 'subnet'), nsg([allow(300, { sourceAddressPrefix: '198.51.100.0/24' })])], { exposed: false, blocked: false }],
    ['both allow *: exposed', [nsg([allow(300)], 'subnet'), nsg([allow(310)])], { exposed: true, blocked: false }],
    ['subnet allows *, NIC has only defaults: the virtual network passes both', [nsg([allow(300)], 'subnet'), nsg([])], { exposed: false, blocked: false }],
    [
      'two NSGs allowing disjoint ranges: no common source',
      [nsg([allow(300, { sourceAddressPrefix: '198.51.100.0/24' }), deny(4000)], 'subnet'), nsg([allow(300, { sourceAddressPrefix: '203.0.113.0/24' }), deny(4000)])],
      { exposed: false, blocked: true },
    ],
    [
      'two NSGs with nested ranges share a source',
      [nsg([allow(300, { sourceAddressPrefix: '198.51.0.0/16' })], 'subnet'), nsg([allow(300, { sourceAddressPrefix: '198.51.100.0/24' })])],
      { exposed: false, blocked: false },
    ],
    // rdp-blocked-by-nsg means no user's source at all (CONTRACTS §1): an allow only the virtual network can use is an allow
    ['deny VirtualNetwork explicitly, nothing else: blocked', [nsg([deny(100, { sourceAddressPrefix: 'VirtualNetwork' })])], { exposed: false, blocked: true }],
    ['deny VirtualNetwork, allow *: the Internet still gets in', [nsg([deny(100, { sourceAddressPrefix: 'VirtualNetwork' }), allow(300)])], { exposed: true, blocked: false }],
    ['deny Internet and VirtualNetwork, then allow *: blocked', [nsg([deny(100, { sourceAddressPrefix: 'Internet' }), deny(110, { sourceAddressPrefix: 'VirtualNetwork' }), allow(300)])], { exposed: false, blocked: true }],
    ['deny Internet, nothing else: AllowVnetInBound still lets the VNet in', [nsg([deny(100, { sourceAddressPrefix: 'Internet' })])], { exposed: false, blocked: false }],
    ['deny 0.0.0.0/0 before AllowVnetInBound: blocked', [nsg([deny(4000, { sourceAddressPrefix: '0.0.0.0/0', protocol: '*' })])], { exposed: false, blocked: true }],
    ['allow from a private range behind a deny of Internet', [nsg([deny(100, { sourceAddressPrefix: 'Internet' }), allow(300, { sourceAddressPrefix: '10.1.0.0/16' }), deny(4000)])], { exposed: false, blocked: false }],
    ['allow from a peered prefix (a list of private ranges)', [nsg([allow(300, { sourceAddressPrefix: undefined, sourceAddressPrefixes: ['10.20.0.0/16', '172.16.5.0/24'] }), deny(4000)])], { exposed: false, blocked: false }],
    ['deny of private ranges one by one covers an allow of VirtualNetwork', [nsg([deny(100, { sourceAddressPrefix: undefined, sourceAddressPrefixes: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '127.0.0.0/8'] })])], { exposed: false, blocked: true }],
    ['AzureLoadBalancer is not a user: its allow alone does not open RDP', [nsg([deny(100, { sourceAddressPrefix: 'VirtualNetwork' }), allow(300, { sourceAddressPrefix: 'AzureLoadBalancer' })])], { exposed: false, blocked: true }],
    ['GatewayManager is not a user either', [nsg([allow(300, { sourceAddressPrefix: 'GatewayManager' }), deny(400)])], { exposed: false, blocked: true }],
    ['another service tag may hold users: not claimed blocked on a guess', [nsg([allow(300, { sourceAddressPrefix: 'AzureCloud' }), deny(400)])], { exposed: false, blocked: false }],
    ['a deny of Internet takes the public service tags too', [nsg([deny(100, { sourceAddressPrefix: 'Internet' }), allow(300, { sourceAddressPrefix: 'AzureCloud' }), deny(400)])], { exposed: false, blocked: true }],
    ['subnet allows only the VNet (defaults), NIC denies everything: blocked', [nsg([], 'subnet'), nsg([deny(100)])], { exposed: false, blocked: true }],
    ['subnet denies everything, NIC allows only the VNet: blocked', [nsg([deny(100)], 'subnet'), nsg([])], { exposed: false, blocked: true }],
    ['subnet allows only the VNet, NIC allows the office and the VNet (defaults): the VNet passes both', [nsg([deny(100, { sourceAddressPrefix: 'Internet' })], 'subnet'), nsg([allow(300, { sourceAddressPrefix: '198.51.100.0/24' })])], { exposed: false, blocked: false }],
    ['subnet lets only the Internet in, NIC only the VNet: no common source', [nsg([deny(100, { sourceAddressPrefix: 'VirtualNetwork' }), allow(300)], 'subnet'), nsg([])], { exposed: false, blocked: true }],
    ['no NSG at all: open wherever routable', [], { exposed: true, blocked: false }],
  ])('%s', (_label, nsgs, expected) => {
    const v = evaluateNsgs(nsgs, 3389);
    expect({ exposed: v.exposed, blocked: v.blocked }).toEqual(expected);
    // Azure lists effective rules in no promised order: the verdict must not depend on it
    const backwards = evaluateNsgs(reversed(nsgs), 3389);
    expect({ exposed: backwards.exposed, blocked: backwards.blocked }).toEqual(expected);
  });

  it.each<[string, R[], { exposed: boolean; blocked: boolean; exposing?: number }]>([
    ['deny * at 100 listed after allow * at 300: blocked', [allow(300), deny(100)], { exposed: false, blocked: true }],
    ['allow * at 100 listed after deny * at 300: exposed by the allow', [deny(300), allow(100)], { exposed: true, blocked: false, exposing: 100 }],
    ['deny Internet at 100 listed after allow Internet at 200', [allow(200, { sourceAddressPrefix: 'Internet' }), deny(4000), deny(100, { sourceAddressPrefix: 'Internet' })], { exposed: false, blocked: true }],
    ['deny of a range at 100 listed after an allow inside it', [allow(300, { sourceAddressPrefix: '198.51.100.0/24' }), deny(4000), deny(100, { sourceAddressPrefix: '198.51.0.0/16' })], { exposed: false, blocked: true }],
    ['two allows listed high first: the lower number is the exposing rule', [allow(900), allow(150, { sourceAddressPrefix: 'Internet' })], { exposed: true, blocked: false, exposing: 150 }],
  ])('rule order as listed by Azure: %s', (_label, rules, expected) => {
    // the Azure defaults (DenyAllInBound at 65500) come first here, the custom rules after them
    const listed: EffectiveNsg = { ...nsg([]), rules: [...AZURE_DEFAULT_INBOUND_RULES, ...rules.map(rule)] };
    const v = evaluateNsgs([listed], 3389);
    expect({ exposed: v.exposed, blocked: v.blocked }).toEqual({ exposed: expected.exposed, blocked: expected.blocked });
    if (expected.exposing !== undefined) expect(v.exposingRules.map((r) => r.rule.priority)).toEqual([expected.exposing]);
  });

  it('names the rule that exposes RDP in each NSG', () => {
    const v = evaluateNsgs([nsg([allow(300)], 'subnet'), nsg([allow(310, { sourceAddressPrefix: 'Internet' })])], 3389);
    expect(v.exposingRules.map((r) => r.rule.priority)).toEqual([300, 310]);
  });

  it('evaluates the RDP port the VM actually uses', () => {
    const nsgs = [nsg([allow(300, { destinationPortRange: '3390' })])];
    expect(evaluateNsgs(nsgs, 3390).exposed).toBe(true);
    expect(evaluateNsgs(nsgs, 3389).exposed).toBe(false);
  });

  it('port specs: a range covers exactly its ports', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }), (a, b, p) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(portSpecCovers(`${lo}-${hi}`, p)).toBe(p >= lo && p <= hi);
        expect(portSpecCovers(String(lo), p)).toBe(p === lo);
        expect(portSpecCovers('*', p)).toBe(true);
      }),
    );
  });

  it('first match wins: a deny * placed before every allow always blocks, placed after none it never exposes less', () => {
    const arbRule = fc.record({
      priority: fc.integer({ min: 200, max: 4096 }),
      access: fc.constantFrom<'Allow' | 'Deny'>('Allow', 'Deny'),
      protocol: fc.constantFrom('Tcp', 'Udp', '*', 'All'),
      sourceAddressPrefix: fc.constantFrom('*', 'Internet', '198.51.100.0/24', '203.0.113.7', 'VirtualNetwork', '10.0.0.0/8'),
      destinationPortRange: fc.constantFrom('3389', '3000-4000', '*', '22', '3389-3389'),
    });
    fc.assert(
      fc.property(fc.uniqueArray(arbRule, { selector: (r) => r.priority, maxLength: 6 }), fc.nat(), fc.nat(), (rules, at, seed) => {
        // the deciding rule (priority 100) goes anywhere in the list, the Azure defaults too
        const placed = (first: R): EffectiveNsg => shuffledNsg([...rules.slice(0, at % (rules.length + 1)), first, ...rules.slice(at % (rules.length + 1))], seed);
        const blockedFirst = evaluateNsgs([placed(deny(100))], 3389);
        expect(blockedFirst.blocked).toBe(true);
        expect(blockedFirst.exposed).toBe(false);
        const plain = evaluateNsgs([nsg(rules)], 3389);
        const withAllowFirst = evaluateNsgs([placed(allow(100))], 3389);
        expect(withAllowFirst.exposed).toBe(true);
        expect(withAllowFirst.exposingRules.map((r) => r.rule.priority)).toEqual([100]);
        // any order of the same rules gives the same verdict
        const shuffled = evaluateNsgs([shuffledNsg(rules, seed)], 3389);
        expect({ e: shuffled.exposed, b: shuffled.blocked }).toEqual({ e: plain.exposed, b: plain.blocked });
        // exposure implies reachability
        if (plain.exposed) expect(plain.blocked).toBe(false);
        // adding a second, identical NSG never changes the verdict
        const twice = evaluateNsgs([nsg(rules, 'subnet'), nsg(rules)], 3389);
        expect({ e: twice.exposed, b: twice.blocked }).toEqual({ e: plain.exposed, b: plain.blocked });
      }),
    );
  });
});

describe("the simulator's effectiveNetworkSecurityGroups answer", () => {
  it('lists every demo VM\'s rules out of priority order, the same order on every call', () => {
    const fleet = loadFleetFile(join(__dirname, '..', '..', 'services', 'simulator', 'fleets', 'demo-fleet.json'));
    for (const vm of fleet.vms) {
      const priorities = (body: JsonObject): number[] =>
        ((body.value as Array<{ effectiveSecurityRules: Array<{ priority: number }> }>)[0].effectiveSecurityRules).map((r) => r.priority);
      const first = priorities(effectiveNsgListOf(fleet, vm));
      expect(first).toEqual(priorities(effectiveNsgListOf(fleet, vm)));
      expect(first).not.toEqual([...first].sort((a, b) => a - b));
    }
  });
});

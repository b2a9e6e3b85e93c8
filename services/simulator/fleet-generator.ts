import { stableGuid } from './arm-shapes';
import { parseFleet, type Fleet } from './fleet';

/**
 * A generated fleet for sweeps at scale (issue #16): N VMs over several subscriptions and
 * resource groups, with a fixed mix of what a fast sweep and a deep sweep report. Deterministic:
 * the same options give the same fleet byte for byte (a seeded PRNG, no Date.now(); dates are
 * relative to `now`, the UTC midnight of the day by default). docs/simulator.md lists the mix.
 */
export interface GenerateFleetOptions {
  vms: number;
  seed: number;
  /** 1-16 (default 4) */
  subscriptions?: number;
  /** resource groups per subscription, 1-50 (default 5) */
  resourceGroups?: number;
  /** what certificate dates are relative to (default: today, 00:00 UTC) */
  now?: Date;
}

export const GENERATE_MAX_VMS = 50_000;

/** What a generated VM is meant to show; the weights (per 1,000) are the mix. */
export const GENERATED_PROFILES = [
  ['healthy', 560],
  ['rdp-exposed', 80],
  ['brute-force', 20],
  ['nsg-blocks', 40],
  ['deallocated', 70],
  ['stopped', 20],
  ['agent-not-ready', 40],
  ['no-public-ip', 40],
  ['cert-expiring', 30],
  ['cert-expired', 20],
  ['tls-disabled', 25],
  ['nla-disabled', 25],
  ['rdp-denied', 10],
  ['termservice-disabled', 10],
  ['guest-firewall', 5],
  ['disk-full', 5],
] as const;
export type GeneratedProfile = (typeof GENERATED_PROFILES)[number][0];

const LOCATIONS = ['westeurope', 'northeurope', 'eastus', 'swedencentral'];

/** mulberry32: small, seeded, the same on every platform (the test connector's seeded faults use it too) */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function checkInt(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
}

type GeneratedWindows = Record<string, unknown> & { rdpCertificate: { thumbprint: string; notAfter: string; hasPrivateKey: boolean } };

function healthyWindows(rand: () => number, now: Date): GeneratedWindows {
  const days = 200 + Math.floor(rand() * 500);
  return {
    rdpPort: 3389,
    listeners: [{ port: 3389, pid: 1104, process: 'svchost', services: ['TermService'] }],
    services: { TermService: 'Running', SessionEnv: 'Running', UmRdpService: 'Running' },
    rdpCertificate: { thumbprint: stableGuid(`cert-${rand()}`).replace(/-/g, '').toUpperCase().padEnd(40, '0').slice(0, 40), notAfter: new Date(now.getTime() + days * 86_400_000).toISOString(), hasPrivateKey: true },
    sslCertificateSHA1Hash: null,
    machineKeysAcl: ['S-1-5-32-544:F', 'S-1-1-0:special'],
    rdpKeyFileAcl: ['S-1-5-18:F', 'S-1-5-32-544:F', 'S-1-5-20:R'],
    schannelServer: { 'TLS 1.0': {}, 'TLS 1.1': {}, 'TLS 1.2': {} },
    rdpTcp: { SecurityLayer: 2, UserAuthentication: 1, fAllowSecProtocolNegotiation: 1 },
    firewallRdpRule: { enabled: true, localPort: 3389 },
    domainJoined: false,
    policyManagedKeys: [],
    events24h: { '4625': 2 },
    failedLogonSources: [{ ip: '198.51.100.23', count: 2 }],
  };
}

const OFFICE_RULE = { name: 'allow-rdp-office', priority: 300, direction: 'Inbound', access: 'Allow', protocol: 'Tcp', sourceAddressPrefix: '198.51.100.0/24', destinationPortRange: '3389' };
const OPEN_RULE = { name: 'RDP', priority: 300, direction: 'Inbound', access: 'Allow', protocol: 'Tcp', sourceAddressPrefix: '*', destinationPortRange: '3389' };
const BLOCK_RULE = { name: 'deny-rdp', priority: 100, direction: 'Inbound', access: 'Deny', protocol: '*', sourceAddressPrefix: '*', destinationPortRange: '3389' };

function pickProfile(r: number): GeneratedProfile {
  let x = r * 1000;
  for (const [p, w] of GENERATED_PROFILES) {
    if (x < w) return p;
    x -= w;
  }
  return 'healthy';
}

function vmOf(i: number, profile: GeneratedProfile, sub: string, rg: string, location: string, rand: () => number, now: Date): Record<string, unknown> {
  const w = healthyWindows(rand, now);
  const vm: Record<string, unknown> = {
    name: `vm-${String(i).padStart(5, '0')}`,
    subscriptionId: sub,
    resourceGroup: rg,
    location,
    osType: 'Windows',
    powerState: 'running',
    agentStatus: 'Ready',
    nsgRules: [OFFICE_RULE],
    tags: { profile },
    windows: w,
  };
  const days = (d: number): string => new Date(now.getTime() + d * 86_400_000).toISOString();
  switch (profile) {
    case 'healthy': break;
    case 'rdp-exposed': vm.nsgRules = [OPEN_RULE]; break;
    case 'brute-force':
      vm.nsgRules = [OPEN_RULE];
      w.events24h = { '4625': 400 + Math.floor(rand() * 5000) };
      w.failedLogonSources = [{ ip: '203.0.113.7', count: 300 }, { ip: '192.0.2.44', count: 100 }];
      break;
    case 'nsg-blocks': vm.nsgRules = [BLOCK_RULE, OFFICE_RULE]; break;
    case 'deallocated': vm.powerState = 'deallocated'; vm.agentStatus = 'NotReady'; break;
    case 'stopped': vm.powerState = 'stopped'; vm.agentStatus = 'NotReady'; break;
    case 'agent-not-ready': vm.agentStatus = 'NotReady'; break;
    case 'no-public-ip': vm.publicIp = null; break;
    case 'cert-expiring': w.rdpCertificate.notAfter = days(1 + Math.floor(rand() * 12)); break;
    case 'cert-expired': w.rdpCertificate.notAfter = days(-1 - Math.floor(rand() * 60)); w.events24h = { '4625': 2, '1058': 4 }; break;
    case 'tls-disabled': w.schannelServer = { 'TLS 1.0': {}, 'TLS 1.1': {}, 'TLS 1.2': { Enabled: 0, DisabledByDefault: 1 } }; w.events24h = { '4625': 2, '36871': 30 }; break;
    case 'nla-disabled': w.rdpTcp = { SecurityLayer: 2, UserAuthentication: 0, fAllowSecProtocolNegotiation: 1 }; break;
    case 'rdp-denied': w.terminalServer = { fDenyTSConnections: 1 }; break;
    case 'termservice-disabled': w.services = { TermService: 'Disabled', SessionEnv: 'Running', UmRdpService: 'Running' }; w.listeners = []; break;
    case 'guest-firewall': w.firewall = { activeProfile: 'Public', profiles: { Public: { enabled: true, blockAllInbound: true } } }; break;
    case 'disk-full': w.systemDrive = { freeMB: 150 }; break;
  }
  return vm;
}

export function generateFleet(o: GenerateFleetOptions): Fleet {
  checkInt('--generate', o.vms, 1, GENERATE_MAX_VMS);
  checkInt('--seed', o.seed, 0, 2 ** 32 - 1);
  const subs = o.subscriptions ?? 4;
  const rgs = o.resourceGroups ?? 5;
  checkInt('--subscriptions', subs, 1, 16);
  checkInt('--resource-groups', rgs, 1, 50);
  const now = o.now ?? new Date(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
  const rand = prng(o.seed);
  const subscriptionIds = Array.from({ length: subs }, (_, k) => stableGuid(`sweep-sim subscription ${o.seed} ${k}`));
  const vms: Record<string, unknown>[] = [];
  for (let i = 1; i <= o.vms; i++) {
    const k = Math.floor(rand() * subs);
    const rg = `rg-sweep-${String(k + 1).padStart(2, '0')}-${String(Math.floor(rand() * rgs) + 1).padStart(2, '0')}`;
    const location = LOCATIONS[Math.floor(rand() * LOCATIONS.length)] as string;
    vms.push(vmOf(i, pickProfile(rand()), subscriptionIds[k] as string, rg, location, rand, now));
  }
  return parseFleet({ subscriptionId: subscriptionIds[0], vms }, `generated fleet (seed ${o.seed})`);
}

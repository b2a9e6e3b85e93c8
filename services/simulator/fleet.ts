import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { bootSchema, canonicalBoot, repairFaultFields, repairVmFields, type CanonicalBoot } from './fleet-repair';

/**
 * The simulated fleet file (CONTRACTS.md §3 and §3b, documented field by field in
 * docs/fleet-format.md): Azure VMs plus what the diagnostic script would observe inside each.
 * Parsed strictly enough to catch typos, loosely enough to accept new optional fields.
 * Every §3b field is optional: absent = the healthy default (see `canonicalWindows`).
 */
const ACL_RIGHTS = '(F|M|RX|R|W|special)';
/** `SID:right` or `SID:right:deny` (an explicit Deny ACE). */
const aclEntry = z
  .string()
  .regex(new RegExp(`^S-1-[0-9-]+:${ACL_RIGHTS}(:deny)?$`), 'SID:right[:deny], right one of F, M, RX, R, W, special');
const sid = z.string().regex(/^S-1-[0-9-]+$/, 'a SID (S-1-...)');
const isoDate = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO 8601 date');

export const nsgRuleSchema = z.object({
  name: z.string().min(1),
  priority: z.number().int().min(100).max(65500),
  direction: z.enum(['Inbound', 'Outbound']),
  access: z.enum(['Allow', 'Deny']),
  protocol: z.enum(['Tcp', 'Udp', 'Icmp', '*']),
  sourceAddressPrefix: z.string().optional(),
  sourceAddressPrefixes: z.array(z.string()).optional(),
  destinationPortRange: z.string().optional(),
  destinationPortRanges: z.array(z.string()).optional(),
  sourcePortRange: z.string().optional(),
  destinationAddressPrefix: z.string().optional(),
  description: z.string().optional(),
});
export type FleetNsgRule = z.infer<typeof nsgRuleSchema>;

const dword = z.number().int();
const tlsValues = z.object({ Enabled: dword.optional(), DisabledByDefault: dword.optional() });

export const SERVICE_STATES = ['Running', 'Stopped', 'StartPending', 'StopPending'] as const;
export const START_MODES = ['Auto', 'Manual', 'Disabled'] as const;
const serviceObject = z.object({
  state: z.enum(SERVICE_STATES).optional(),
  startMode: z.enum(START_MODES).optional(),
  startName: z.string().min(1).optional(),
  /** a start or stop of this service never completes (it stays Start/Stop Pending) */
  hangs: z.boolean().optional(),
  /** the service runs in its own process (`sc config type= own`); default: shared svchost */
  ownProcess: z.boolean().optional(),
});
/** A service: the legacy string form (`Running`, `Stopped`, `Disabled`, ...) or the §3b object. */
const serviceEntry = z.union([z.string().min(1), serviceObject]);
export type FleetService = z.infer<typeof serviceEntry>;

/** A firewall rule's LocalPort: a number, a string (`"3389"`, `"3389-3390"`, `"Any"`, `"RPC"`), or several. */
const localPort = z.union([z.number().int().min(0).max(65535), z.string().min(1), z.array(z.string().min(1)).min(1)]);
const FIREWALL_PROFILES = ['Domain', 'Private', 'Public'] as const;
const firewallProfile = z.object({
  enabled: z.boolean().optional(),
  blockAllInbound: z.boolean().optional(),
  defaultInbound: z.enum(['Allow', 'Block']).optional(),
});
const firewallRule = z.object({
  name: z.string().min(1),
  enabled: z.boolean().optional(),
  action: z.enum(['Allow', 'Block']).optional(),
  protocol: z.string().min(1).optional(),
  localPort: localPort.optional(),
  profile: z.string().min(1).optional(),
  direction: z.enum(['Inbound', 'Outbound']).optional(),
  /** `Local` (PersistentStore, default) or `GroupPolicy` (only in the ActiveStore/RSOP view) */
  source: z.enum(['Local', 'GroupPolicy']).optional(),
});

export const windowsStateSchema = z.object({
  rdpPort: z.number().int().min(1).max(65535),
  listeners: z.array(z.object({
    port: z.number().int(),
    pid: z.number().int(),
    process: z.string(),
    services: z.array(z.string()),
  })),
  services: z.record(z.string(), serviceEntry),
  rdpCertificate: z.object({
    thumbprint: z.string(),
    notAfter: z.string(),
    hasPrivateKey: z.boolean(),
    store: z.enum(['Remote Desktop', 'My']).optional(),
    key: z.enum(['ok', 'missing', 'unreadable']).optional(),
    /** the key's container name (CERT_KEY_PROV_INFO); default `TSSecKeySet1`, the self-signed RDP key's */
    keyContainer: z.string().min(1).optional(),
  }).nullable(),
  sslCertificateSHA1Hash: z.string().nullable(),
  machineKeysAcl: z.array(aclEntry),
  rdpKeyFileAcl: z.array(aclEntry).nullable(),
  machineKeysOwner: sid.optional(),
  rdpKeyFileOwner: sid.optional(),
  machineGuid: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/).optional(),
  schannelServer: z.record(z.string(), tlsValues),
  rdpTcp: z.object({
    SecurityLayer: dword.optional(),
    UserAuthentication: dword.optional(),
    fAllowSecProtocolNegotiation: dword.optional(),
    fEnableWinStation: dword.nullable().optional(),
    fLogonDisabled: dword.nullable().optional(),
    MinEncryptionLevel: dword.nullable().optional(),
    LanAdapter: dword.nullable().optional(),
  }),
  terminalServer: z.object({
    fDenyTSConnections: dword.nullable().optional(),
    TSEnabled: dword.nullable().optional(),
    TSUserEnabled: dword.nullable().optional(),
    TSServerDrainMode: dword.nullable().optional(),
  }).optional(),
  firewallRdpRule: z.object({ enabled: z.boolean(), localPort }).nullable(),
  firewall: z.object({
    activeProfile: z.enum(FIREWALL_PROFILES).optional(),
    profiles: z.object({ Domain: firewallProfile.optional(), Private: firewallProfile.optional(), Public: firewallProfile.optional() }).optional(),
    rules: z.array(firewallRule).optional(),
  }).optional(),
  domainJoined: z.boolean(),
  secureChannel: z.boolean().optional(),
  policyManagedKeys: z.array(z.string()),
  policyValues: z.record(z.string(), z.union([z.number().int(), z.string()])).optional(),
  credSsp: z.object({ allowEncryptionOracle: z.number().int().min(0).max(2).nullable().optional() }).optional(),
  rdsh: z.object({ installed: z.boolean().optional(), licenseServers: z.array(z.string()).optional(), graceExpired: z.boolean().optional() }).optional(),
  systemDrive: z.object({ freeMB: z.number().min(0) }).optional(),
  events24h: z.record(z.string(), z.number().int().min(0)),
  /** per event id: when events of that id stopped being written (none after it; the log keeps the older ones) */
  eventsStoppedAt: z.record(z.string(), isoDate).optional(),
  auditFailedLogons: z.boolean().optional(),
  failedLogonSources: z.array(z.object({
    ip: z.string(),
    count: z.number().int().min(0),
    /** 4625 logon type; absent = an RDP logon (10, or 3 with NLA) */
    logonType: z.number().int().min(2).max(13).nullable().optional(),
  })),
  /** damaged-machine switches for the modelled Windows (SCRIPT-REVIEW A8, A10) */
  damage: z.object({
    /** CIM classes whose queries fail (e.g. `Win32_Service`, `MSFT_NetTCPConnection`, `MSFT_NetFirewallRule`, `RSOP_RegistryPolicySetting`) */
    cimClasses: z.array(z.string().min(1)).optional(),
    /** event logs a provider is linked to but that are misconfigured (Get-WinEvent -ProviderName reports them) */
    eventLogs: z.array(z.string().min(1)).optional(),
  }).optional(),
  /** files the product keeps on the VM between Run Commands, under `C:\ProgramData\RDP Doctor\` (fix-reset-machinekeys-acl's ACL backups): Windows path -> text */
  files: z.record(z.string().regex(/^C:\\ProgramData\\RDP Doctor\\[^\\]+(\\[^\\]+)*$/i), z.string().max(65536)).optional(),
  // --- issue #15 (repair-sim): the BCD's boot manager settings (fleet-repair.ts) ---
  boot: bootSchema.optional(),
});
export type WindowsState = z.infer<typeof windowsStateSchema>;

export const faultsSchema = z.object({
  runCommand: z.enum(['none', 'conflict', 'agent-error', 'timeout']).default('none'),
  arm: z.enum(['none', 'throttle', 'server-error']).default('none'),
  /** How many times in a row each ARM request for this VM fails before it succeeds (default 1). */
  armFailures: z.number().int().min(1).max(1000).optional(),
  // --- issue #15 (repair-sim): faults of the offline repair's operations (fleet-repair.ts) ---
  ...repairFaultFields,
});
export type Faults = z.infer<typeof faultsSchema>;

export const fleetVmSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/),
  resourceGroup: z.string().min(1),
  location: z.string().min(1),
  osType: z.enum(['Windows', 'Linux']),
  powerState: z.enum(['running', 'stopped', 'deallocated', 'starting']),
  agentStatus: z.enum(['Ready', 'NotReady']),
  nsgRules: z.array(nsgRuleSchema).default([]),
  /** the NIC's public IP; `null` = none; absent = one exists */
  publicIp: z.string().nullable().optional(),
  /** the VM's Azure tags, as ARM and Resource Graph return them (SELF_SERVICE_SCOPE `tag:name=value`) */
  tags: z.record(z.string().min(1).max(512), z.string().max(256)).optional(),
  windows: windowsStateSchema.optional(),
  faults: faultsSchema.default({ runCommand: 'none', arm: 'none' }),
  // --- sweep-sim: several subscriptions (issue #16) ---
  /** the subscription the VM lives in; absent = the fleet's `subscriptionId` */
  subscriptionId: z.guid({ message: 'expected a subscription GUID' }).optional(),
  // --- end sweep-sim ---
  // --- issue #15 (repair-sim): size, zone, generation, security type, OS disk name (fleet-repair.ts) ---
  ...repairVmFields,
});
export type FleetVm = z.infer<typeof fleetVmSchema>;

export const fleetSchema = z.object({
  subscriptionId: z.guid({ message: 'expected a subscription GUID' }),
  vms: z.array(fleetVmSchema),
});
export type Fleet = z.infer<typeof fleetSchema>;

// --- sweep-sim: several subscriptions (issue #16) ---
/** The subscription a VM lives in: its own `subscriptionId`, else the fleet's. */
export function vmSubscriptionOf(fleet: Fleet, vm: FleetVm): string {
  return vm.subscriptionId ?? fleet.subscriptionId;
}

/** Every subscription of the fleet: the fleet's own first, then each VM's, once each (case-insensitive). */
export function fleetSubscriptions(fleet: Fleet): string[] {
  const seen = new Map<string, string>([[fleet.subscriptionId.toLowerCase(), fleet.subscriptionId]]);
  for (const vm of fleet.vms) if (vm.subscriptionId && !seen.has(vm.subscriptionId.toLowerCase())) seen.set(vm.subscriptionId.toLowerCase(), vm.subscriptionId);
  return [...seen.values()];
}
// --- end sweep-sim ---

export function parseFleet(json: unknown, source = 'fleet'): Fleet {
  const r = fleetSchema.safeParse(json);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new Error(`${source}: invalid fleet file at ${first?.path.join('.') || '(root)'}: ${first?.message ?? 'unknown error'}`);
  }
  return r.data;
}

export function loadFleetFile(path: string): Fleet {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read fleet file ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw new Error(`fleet file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  return parseFleet(json, path);
}

/* ---------------------------------------------------------------------------------------------
 * canonicalWindows: the state with every default made explicit, so two states compare with toEqual.
 * The defaults are the ones docs/fleet-format.md names (a healthy Windows Server 2016+ Azure image).
 * ------------------------------------------------------------------------------------------- */

export type ServiceState = (typeof SERVICE_STATES)[number];
export type StartMode = (typeof START_MODES)[number];
export interface CanonicalService {
  state: ServiceState;
  startMode: StartMode;
  startName: string;
  hangs: boolean;
  ownProcess: boolean;
}
export interface CanonicalFirewallRule {
  name: string;
  enabled: boolean;
  action: 'Allow' | 'Block';
  protocol: string;
  localPort: string[];
  profile: string;
  direction: 'Inbound' | 'Outbound';
  source: 'Local' | 'GroupPolicy';
}
export interface CanonicalFirewallProfile {
  enabled: boolean;
  blockAllInbound: boolean;
  defaultInbound: 'Allow' | 'Block';
}
type Dword = number | null;
export interface CanonicalWindows {
  rdpPort: number;
  listeners: WindowsState['listeners'];
  services: Record<string, CanonicalService>;
  rdpCertificate: {
    thumbprint: string;
    notAfter: string;
    hasPrivateKey: boolean;
    store: 'Remote Desktop' | 'My';
    key: 'ok' | 'missing' | 'unreadable';
    keyContainer: string;
  } | null;
  sslCertificateSHA1Hash: string | null;
  machineKeysAcl: string[];
  rdpKeyFileAcl: string[] | null;
  machineKeysOwner: string;
  rdpKeyFileOwner: string;
  machineGuid: string;
  schannelServer: Record<string, { Enabled?: number; DisabledByDefault?: number }>;
  rdpTcp: {
    SecurityLayer?: number;
    UserAuthentication?: number;
    fAllowSecProtocolNegotiation?: number;
    fEnableWinStation: Dword;
    fLogonDisabled: Dword;
    MinEncryptionLevel: Dword;
    LanAdapter: Dword;
  };
  terminalServer: { fDenyTSConnections: Dword; TSEnabled: Dword; TSUserEnabled: Dword; TSServerDrainMode: Dword };
  firewallRdpRule: { enabled: boolean; localPort: string[] } | null;
  firewall: {
    activeProfile: (typeof FIREWALL_PROFILES)[number];
    profiles: Record<(typeof FIREWALL_PROFILES)[number], CanonicalFirewallProfile>;
    rules: CanonicalFirewallRule[];
  };
  domainJoined: boolean;
  secureChannel: boolean;
  policyManagedKeys: string[];
  policyValues: Record<string, number | string>;
  credSsp: { allowEncryptionOracle: number | null };
  rdsh: { installed: boolean; licenseServers: string[]; graceExpired: boolean };
  systemDrive: { freeMB: number };
  events24h: Record<string, number>;
  eventsStoppedAt: Record<string, string>;
  auditFailedLogons: boolean;
  failedLogonSources: Array<{ ip: string; count: number; logonType: number | null }>;
  damage: { cimClasses: string[]; eventLogs: string[] };
  /** path -> text, sorted by path */
  files: Record<string, string>;
  /** issue #15: the BCD's boot manager settings */
  boot: CanonicalBoot;
}

/** Event ids the fleet knows (CONTRACTS §1, §1b): canonical form lists each, 0 when absent. */
export const FLEET_EVENT_IDS = ['1057', '1058', '1006', '36870', '36871', '36872', '4625', '7031', '7034'] as const;
export const DEFAULT_MACHINE_GUID = '6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7';
/** The self-signed RDP certificate's key container (CAPI): file f686aace6942fb7f7ceb231212eef4a4_<MachineGuid>. */
export const RDP_KEY_CONTAINER = 'TSSecKeySet1';
const DEFAULT_START_NAMES: Record<string, string> = {
  TermService: 'NT Authority\\NetworkService',
  SessionEnv: 'localSystem',
  UmRdpService: 'localSystem',
};

/** A service entry with its defaults: legacy `Disabled` = Stopped + start mode Disabled (Win32_Service has no "Disabled" state). */
export function canonicalService(name: string, s: FleetService): CanonicalService {
  const o = typeof s === 'string' ? legacyService(s) : s;
  return {
    state: o.state ?? 'Running',
    startMode: o.startMode ?? 'Manual',
    startName: o.startName ?? DEFAULT_START_NAMES[name] ?? 'LocalSystem',
    hangs: o.hangs ?? false,
    ownProcess: o.ownProcess ?? false,
  };
}

function legacyService(s: string): z.infer<typeof serviceObject> {
  const t = s.replace(/\s+/g, '').toLowerCase();
  if (t === 'disabled') return { state: 'Stopped', startMode: 'Disabled' };
  const state = SERVICE_STATES.find((x) => x.toLowerCase() === t);
  return { state: state ?? 'Stopped' };
}

/** Thumbprints in hand-written fleets may be shortened ("3F2A..."): keep the hex, pad to SHA-1 length. */
export function normaliseThumb(t: string): string {
  return t.toUpperCase().replace(/[^0-9A-F]/g, '').slice(0, 40).padEnd(40, '0');
}

/** A firewall LocalPort in the form Get-NetFirewallPortFilter returns: always strings. */
export function localPortStrings(p: number | string | string[] | undefined): string[] {
  if (p === undefined) return ['Any'];
  if (Array.isArray(p)) return [...p];
  return [String(p)];
}

const isoSeconds = (s: string): string => new Date(s).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function canonicalWindows(w: WindowsState): CanonicalWindows {
  const services: Record<string, CanonicalService> = {};
  for (const [name, s] of Object.entries(w.services)) services[name] = canonicalService(name, s);
  const c = w.rdpCertificate;
  const schannelServer: CanonicalWindows['schannelServer'] = {};
  for (const v of ['TLS 1.0', 'TLS 1.1', 'TLS 1.2', ...Object.keys(w.schannelServer)]) {
    const x = w.schannelServer[v] ?? {};
    const o: { Enabled?: number; DisabledByDefault?: number } = {};
    if (x.Enabled !== undefined) o.Enabled = x.Enabled;
    if (x.DisabledByDefault !== undefined) o.DisabledByDefault = x.DisabledByDefault;
    schannelServer[v] = o;
  }
  const rdpTcp: CanonicalWindows['rdpTcp'] = {
    fEnableWinStation: w.rdpTcp.fEnableWinStation === undefined ? 1 : w.rdpTcp.fEnableWinStation,
    fLogonDisabled: w.rdpTcp.fLogonDisabled === undefined ? 0 : w.rdpTcp.fLogonDisabled,
    MinEncryptionLevel: w.rdpTcp.MinEncryptionLevel === undefined ? 2 : w.rdpTcp.MinEncryptionLevel,
    LanAdapter: w.rdpTcp.LanAdapter === undefined ? 0 : w.rdpTcp.LanAdapter,
  };
  if (w.rdpTcp.SecurityLayer !== undefined) rdpTcp.SecurityLayer = w.rdpTcp.SecurityLayer;
  if (w.rdpTcp.UserAuthentication !== undefined) rdpTcp.UserAuthentication = w.rdpTcp.UserAuthentication;
  if (w.rdpTcp.fAllowSecProtocolNegotiation !== undefined) rdpTcp.fAllowSecProtocolNegotiation = w.rdpTcp.fAllowSecProtocolNegotiation;
  const ts = w.terminalServer ?? {};
  const pick = (v: number | null | undefined, d: number): Dword => (v === undefined ? d : v);
  const profile = (p: z.infer<typeof firewallProfile> | undefined): CanonicalFirewallProfile => ({
    enabled: p?.enabled ?? true,
    blockAllInbound: p?.blockAllInbound ?? false,
    defaultInbound: p?.defaultInbound ?? 'Block',
  });
  const events24h: Record<string, number> = {};
  for (const id of FLEET_EVENT_IDS) events24h[id] = 0;
  for (const [id, n] of Object.entries(w.events24h)) events24h[id] = n;
  const eventsStoppedAt: Record<string, string> = {};
  for (const [id, at] of Object.entries(w.eventsStoppedAt ?? {})) eventsStoppedAt[id] = isoSeconds(at);
  return {
    rdpPort: w.rdpPort,
    listeners: w.listeners.map((l) => ({ port: l.port, pid: l.pid, process: l.process, services: [...l.services] })),
    services,
    rdpCertificate: c
      ? {
          thumbprint: normaliseThumb(c.thumbprint),
          notAfter: isoSeconds(c.notAfter),
          hasPrivateKey: c.hasPrivateKey,
          store: c.store ?? 'Remote Desktop',
          key: c.key ?? 'ok',
          keyContainer: c.keyContainer ?? RDP_KEY_CONTAINER,
        }
      : null,
    sslCertificateSHA1Hash: w.sslCertificateSHA1Hash ? normaliseThumb(w.sslCertificateSHA1Hash) : null,
    machineKeysAcl: [...w.machineKeysAcl],
    rdpKeyFileAcl: w.rdpKeyFileAcl ? [...w.rdpKeyFileAcl] : null,
    machineKeysOwner: w.machineKeysOwner ?? 'S-1-5-32-544',
    rdpKeyFileOwner: w.rdpKeyFileOwner ?? 'S-1-5-32-544',
    machineGuid: w.machineGuid ?? DEFAULT_MACHINE_GUID,
    schannelServer,
    rdpTcp,
    terminalServer: {
      fDenyTSConnections: pick(ts.fDenyTSConnections, 0),
      TSEnabled: pick(ts.TSEnabled, 1),
      TSUserEnabled: pick(ts.TSUserEnabled, 0),
      TSServerDrainMode: pick(ts.TSServerDrainMode, 0),
    },
    firewallRdpRule: w.firewallRdpRule ? { enabled: w.firewallRdpRule.enabled, localPort: localPortStrings(w.firewallRdpRule.localPort) } : null,
    firewall: {
      activeProfile: w.firewall?.activeProfile ?? 'Public',
      profiles: {
        Domain: profile(w.firewall?.profiles?.Domain),
        Private: profile(w.firewall?.profiles?.Private),
        Public: profile(w.firewall?.profiles?.Public),
      },
      rules: (w.firewall?.rules ?? []).map((r) => ({
        name: r.name,
        enabled: r.enabled ?? true,
        action: r.action ?? 'Allow',
        protocol: r.protocol ?? 'TCP',
        localPort: localPortStrings(r.localPort),
        profile: r.profile ?? 'Any',
        direction: r.direction ?? 'Inbound',
        source: r.source ?? 'Local',
      })),
    },
    domainJoined: w.domainJoined,
    secureChannel: w.secureChannel ?? true,
    policyManagedKeys: [...w.policyManagedKeys],
    policyValues: { ...(w.policyValues ?? {}) },
    credSsp: { allowEncryptionOracle: w.credSsp?.allowEncryptionOracle ?? null },
    rdsh: {
      installed: w.rdsh?.installed ?? false,
      licenseServers: [...(w.rdsh?.licenseServers ?? [])],
      graceExpired: w.rdsh?.graceExpired ?? false,
    },
    systemDrive: { freeMB: w.systemDrive?.freeMB ?? 20000 },
    events24h,
    eventsStoppedAt,
    auditFailedLogons: w.auditFailedLogons ?? true,
    failedLogonSources: w.failedLogonSources.map((s) => ({ ip: s.ip, count: s.count, logonType: s.logonType ?? null })),
    damage: { cimClasses: [...(w.damage?.cimClasses ?? [])], eventLogs: [...(w.damage?.eventLogs ?? [])] },
    files: Object.fromEntries(Object.entries(w.files ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    boot: canonicalBoot(w.boot),
  };
}

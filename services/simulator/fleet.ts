import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * The simulated fleet file (CONTRACTS.md §3): Azure VMs plus what the diagnostic script would
 * observe inside each. Parsed strictly enough to catch typos, loosely enough to accept new
 * optional fields.
 */
const aclEntry = z.string().regex(/^S-1-[0-9-]+:(F|M|RX|R|W|special)$/, 'SID:right, right one of F, M, RX, R, W, special');

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

const tlsValues = z.object({ Enabled: z.number().int().optional(), DisabledByDefault: z.number().int().optional() });

export const windowsStateSchema = z.object({
  rdpPort: z.number().int().min(1).max(65535),
  listeners: z.array(z.object({
    port: z.number().int(),
    pid: z.number().int(),
    process: z.string(),
    services: z.array(z.string()),
  })),
  services: z.record(z.string(), z.string()),
  rdpCertificate: z.object({
    thumbprint: z.string(),
    notAfter: z.string(),
    hasPrivateKey: z.boolean(),
  }).nullable(),
  sslCertificateSHA1Hash: z.string().nullable(),
  machineKeysAcl: z.array(aclEntry),
  rdpKeyFileAcl: z.array(aclEntry).nullable(),
  schannelServer: z.record(z.string(), tlsValues),
  rdpTcp: z.object({
    SecurityLayer: z.number().int().optional(),
    UserAuthentication: z.number().int().optional(),
    fAllowSecProtocolNegotiation: z.number().int().optional(),
  }),
  firewallRdpRule: z.object({ enabled: z.boolean(), localPort: z.number().int() }).nullable(),
  domainJoined: z.boolean(),
  policyManagedKeys: z.array(z.string()),
  events24h: z.record(z.string(), z.number().int().min(0)),
  failedLogonSources: z.array(z.object({ ip: z.string(), count: z.number().int().min(0) })),
});
export type WindowsState = z.infer<typeof windowsStateSchema>;

export const faultsSchema = z.object({
  runCommand: z.enum(['none', 'conflict', 'agent-error', 'timeout']).default('none'),
  arm: z.enum(['none', 'throttle', 'server-error']).default('none'),
  /** How many times in a row each ARM request for this VM fails before it succeeds (default 1). */
  armFailures: z.number().int().min(1).max(1000).optional(),
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
  windows: windowsStateSchema.optional(),
  faults: faultsSchema.default({ runCommand: 'none', arm: 'none' }),
});
export type FleetVm = z.infer<typeof fleetVmSchema>;

export const fleetSchema = z.object({
  subscriptionId: z.guid({ message: 'expected a subscription GUID' }),
  vms: z.array(fleetVmSchema),
});
export type Fleet = z.infer<typeof fleetSchema>;

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

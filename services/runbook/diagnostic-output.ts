import { z } from 'zod';
import { DomainError } from '../errors';

/**
 * The one JSON line `scripts/diagnose.ps1` prints (and the simulated VM interior prints for it).
 * Key order here is the order the script builds its `[ordered]` hashtables in, so
 * `serializeFacts` produces byte-for-byte what the script prints.
 *
 * Conventions: a section that could not be collected is `null` and its step code is in `err`
 * (`<step>` or `<step>:<detail>`); a registry value that is absent is `null` (Windows default).
 */

/** Caps shared with diagnose.ps1 (the script test checks the script uses the same numbers). */
export const CAPS = {
  listeners: 3,
  servicesPerListener: 3,
  nameLength: 32,
  acl: 5,
  policy: 6,
  policyLength: 48,
  logons: 5,
  err: 5,
  firewallPorts: 4,
  /** Get-WinEvent -MaxEvents per event query; a count equal to the cap means "at least". */
  events: 2000,
  /** Get-WinEvent -MaxEvents for Security 4625 (also the source of the top IPs). */
  events4625: 5000,
} as const;

export const EVENT_IDS = ['1057', '1058', '1006', '36870', '36871', '36872', '4625'] as const;
export type EventId = (typeof EVENT_IDS)[number];

export const TLS_VERSIONS = ['TLS 1.0', 'TLS 1.1', 'TLS 1.2'] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

export const RDP_SERVICES = ['TermService', 'SessionEnv', 'UmRdpService'] as const;

const isoUtc = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
/** `SID:right` with right F|M|RX|R|W|special; `:deny` marks a Deny ACE. */
export const ACL_ENTRY = /^S-1-[0-9-]{1,60}:(F|M|RX|R|W|special)(:deny)?$/;
const aclList = z.array(z.string().regex(ACL_ENTRY)).max(CAPS.acl);
const dword = z.number().int().nullable();
const shortName = z.string().max(CAPS.nameLength);
/** Windows process and service names as the diagnostic reports them (MSSQL$SQLEXPRESS, svchost, ...). */
export const VM_NAME = /^[A-Za-z0-9_.$-]{1,32}$/;
/** What a process or service name from the VM becomes when it is not a plain name: it is shown as such, never offered to a fix. */
export const UNEXPECTED_NAME = '(unexpected name)';
const vmName = shortName.transform((s) => (VM_NAME.test(s) ? s : UNEXPECTED_NAME));

const serviceState = z
  .object({ state: z.string().max(16), start: z.string().max(16) })
  .strict()
  .nullable();

const tlsValues = z.object({ Enabled: dword, DisabledByDefault: dword }).strict();

// --- §1b: guest firewall, domain, CredSSP, licensing, disk (famhost) ---
/**
 * `host`: what diagnose.ps1's §1b block reads (short keys: the output budget is 3,500 bytes).
 * fw: the active firewall profile `p` (Domain|Private|Public), whether it is enabled `on`, blocks
 *     all inbound `blk` (AllowInboundRules False, "block all incoming"), its default inbound action
 *     `def`, and how many enabled inbound Allow rules of that profile cover TCP to the RDP port `n`;
 *     null = the firewall could not be read (err `hfw`).
 * sc: Test-ComputerSecureChannel (domain-joined only; null = workgroup or not tested, err `hsc`).
 * ao: CredSSP AllowEncryptionOracle (null = value absent: the default 1, Mitigated).
 * rdsh: null = the RD Session Host role is not installed; `ls` = license servers configured,
 *     `gd` = licensing grace days left (0 = over).
 * mb: free MB on the system drive. aud: failed-logon auditing (4625) on; null = unknown.
 */
export const hostFactsSchema = z
  .object({
    fw: z
      .object({
        p: z.enum(['Domain', 'Private', 'Public']),
        on: z.boolean(),
        blk: z.boolean(),
        def: z.enum(['Allow', 'Block']),
        n: z.number().int().min(0),
      })
      .strict()
      .nullable(),
    sc: z.boolean().nullable(),
    ao: dword,
    rdsh: z.object({ ls: z.number().int().min(0), gd: z.number().int().min(0).nullable() }).strict().nullable(),
    mb: z.number().int().min(0).nullable(),
    aud: z.boolean().nullable(),
  })
  .strict();
export type HostFacts = z.infer<typeof hostFactsSchema>;
// --- end §1b (famhost) ---
// --- §1b: remote desktop switched off, TermService config ---
/** TermService's account as Win32_Service.StartName reports it, cleaned by the script (null: service or value absent). */
export const ACCOUNT_TEXT = /^[A-Za-z0-9 ._$@\\-]{1,40}$/;
/**
 * `rs`: is Remote Desktop switched on, and is TermService configured as Windows ships it. Registry
 * values are null when absent (the Windows default applies); `acct` is null when it could not be
 * read (`err` then names `rs:acct`), `crash` when the System log could not (`ev:scm`).
 */
const rdpSwitchFacts = z
  .object({
    /** Terminal Server fDenyTSConnections */
    dn: dword,
    /** the Terminal Services policy's fDenyTSConnections (wins over dn) */
    gdn: dword,
    /** Terminal Server TSEnabled */
    en: dword,
    /** Terminal Server TSServerDrainMode */
    dr: dword,
    /** RDP-Tcp fEnableWinStation */
    ws: dword,
    /** RDP-Tcp fLogonDisabled */
    ld: dword,
    /** TermService's StartName */
    acct: z.string().regex(ACCOUNT_TEXT).nullable(),
    /** Service Control Manager 7031/7034 naming TermService in the event window */
    crash: z.number().int().min(0).nullable(),
  })
  .strict()
  .nullable();
// --- end §1b: remote desktop switched off, TermService config ---

export const diagnosticFactsSchema = z
  .object({
    v: z.literal(1),
    id: z.literal('diagnose'),
    ps: z.string().max(8),
    at: isoUtc,
    since: isoUtc,
    boot: isoUtc.nullable(),
    port: z.number().int().min(1).max(65535).nullable(),
    listeners: z
      .array(
        z
          .object({
            pid: z.number().int().min(0),
            proc: vmName,
            svc: z.array(vmName).max(CAPS.servicesPerListener),
          })
          .strict(),
      )
      .max(CAPS.listeners)
      .nullable(),
    services: z
      .object({ TermService: serviceState, SessionEnv: serviceState, UmRdpService: serviceState })
      .strict()
      .nullable(),
    cert: z
      .object({
        thumb: z.string().regex(/^[0-9A-F]{40}$/),
        notAfter: isoUtc,
        hasKey: z.boolean(),
        store: z.enum(['Remote Desktop', 'My']),
        /** key file found in MachineKeys or Crypto\Keys; null = could not tell */
        keyFile: z.boolean().nullable(),
      })
      .strict()
      .nullable(),
    /** SSLCertificateSHA1Hash in RDP-Tcp (registry), upper-case hex; null = value absent */
    sslHash: z.string().regex(/^[0-9A-F]{1,64}$/).nullable(),
    mkAcl: aclList.nullable(),
    keyAcl: aclList.nullable(),
    tls: z.object({ 'TLS 1.0': tlsValues, 'TLS 1.1': tlsValues, 'TLS 1.2': tlsValues }).strict().nullable(),
    rdpTcp: z
      .object({ SecurityLayer: dword, UserAuthentication: dword, fAllowSecProtocolNegotiation: dword })
      .strict()
      .nullable(),
    fw: z
      .object({
        found: z.boolean(),
        enabled: z.boolean(),
        ports: z.array(z.string().max(16)).max(CAPS.firewallPorts),
      })
      .strict()
      .nullable(),
    domain: z.boolean().nullable(),
    /** Policy-owned values: `TS\<name>=<value>`, `SCHANNEL\<TLS x>\Server\<name>`, `SSL\00010002` */
    policy: z.array(z.string().regex(/^[A-Za-z0-9 ._=\\-]{1,48}$/)).max(CAPS.policy).nullable(),
    /** RSOP data for SCHANNEL: ok = read (policy above is complete for Administrative Templates), none = no RSOP data, error */
    rsop: z.enum(['ok', 'none', 'error']),
    events: z
      .object({
        '1057': z.number().int().min(0).nullable(),
        '1058': z.number().int().min(0).nullable(),
        '1006': z.number().int().min(0).nullable(),
        '36870': z.number().int().min(0).nullable(),
        '36871': z.number().int().min(0).nullable(),
        '36872': z.number().int().min(0).nullable(),
        '4625': z.number().int().min(0).nullable(),
      })
      .strict(),
    logons: z
      .array(z.object({ ip: z.string().regex(/^[0-9A-Fa-f:.]{1,45}$/), count: z.number().int().min(0) }).strict())
      .max(CAPS.logons)
      .nullable(),
    /** §1b host facts (famhost); absent in outputs of older scripts */
    host: hostFactsSchema.nullable().optional(),
    err: z.array(z.string().regex(/^[A-Za-z0-9:._-]{1,24}$/)).max(CAPS.err),
    // --- §1b: remote desktop switched off, TermService config ---
    rs: rdpSwitchFacts,
    // --- end §1b: remote desktop switched off, TermService config ---
  })
  .strict();

export type DiagnosticFacts = z.infer<typeof diagnosticFactsSchema>;
export type ServiceFacts = NonNullable<DiagnosticFacts['services']>;
export type ListenerFacts = NonNullable<DiagnosticFacts['listeners']>[number];
export type CertFacts = NonNullable<DiagnosticFacts['cert']>;

/** True when the step's collection failed (its value is then null or unreliable). */
export function stepFailed(facts: DiagnosticFacts, step: string): boolean {
  return facts.err.some((e) => e === step || e.startsWith(`${step}:`));
}

/** Full HKLM path of a `policy` entry (for display and for the fleet's `policyManagedKeys`). */
export const POLICY_ROOTS = {
  TS: 'SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services',
  SCHANNEL: 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols',
  SSL: 'SOFTWARE\\Policies\\Microsoft\\Cryptography\\Configuration\\SSL',
} as const;

export function policyEntryPath(entry: string): string {
  const noValue = entry.replace(/=.*$/, '');
  const m = /^(TS|SCHANNEL|SSL)\\(.*)$/.exec(noValue);
  if (!m) return noValue;
  return `${POLICY_ROOTS[m[1] as keyof typeof POLICY_ROOTS]}\\${m[2]}`;
}

/** The short `policy` form of an HKLM path (inverse of policyEntryPath, without the value). */
export function policyEntryOf(path: string): string | null {
  for (const [k, root] of Object.entries(POLICY_ROOTS)) {
    if (path.toLowerCase().startsWith(`${root.toLowerCase()}\\`)) return `${k}\\${path.slice(root.length + 1)}`;
  }
  return null;
}

/**
 * The serialisation diagnose.ps1 produces: compact JSON, ASCII only. Windows PowerShell 5.1's
 * ConvertTo-Json escapes < > ' & as \u003c \u003e \u0027 \u0026, so the same is done here.
 */
export function serializeFacts(facts: DiagnosticFacts): string {
  // JavaScript orders integer-like keys ascending ("1006" before "1057"); the script's [ordered]
  // table keeps EVENT_IDS order, so the events object is written by hand.
  const marker = '"__events__"';
  const events = `{${EVENT_IDS.map((id) => `"${id}":${JSON.stringify(facts.events[id])}`).join(',')}}`;
  return toPsJson({ ...facts, events: '__events__' }).replace(marker, events);
}

export function toPsJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>'&\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Takes the last JSON object line of Run Command's stdout (the only one the script prints; the
 * 4,096-byte tail may have cut earlier noise) and validates it.
 */
export function parseDiagnosticOutput(stdout: string): DiagnosticFacts {
  const lines = stdout.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  const last = [...lines].reverse().find((l) => l.startsWith('{'));
  if (!last) {
    throw new DomainError('script-output-invalid', 'diagnostic output has no JSON line', { params: { reason: 'no-json' } });
  }
  let json: unknown;
  try {
    json = JSON.parse(last);
  } catch (e) {
    throw new DomainError('script-output-invalid', 'diagnostic output is not valid JSON (truncated?)', {
      params: { reason: 'not-json' },
      cause: e,
    });
  }
  const r = diagnosticFactsSchema.safeParse(json);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new DomainError(
      'script-output-invalid',
      `diagnostic output does not match the schema at ${first?.path.join('.') || '(root)'}: ${first?.message ?? ''}`,
      { params: { reason: 'schema' } },
    );
  }
  return r.data;
}

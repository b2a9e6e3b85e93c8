import type { WindowsState } from './fleet';
import type { OfflineResult, OfflineRun } from './interior';

/**
 * Issue #15: the TypeScript stand-in for the offline scripts (offline-*.ps1) where PowerShell is
 * absent: the same changes to the attached disk's state as the real scripts make under the
 * modelled Windows (Model.Offline.ps1), with shorter output. The real scripts are the product;
 * this only keeps demo mode working without pwsh.
 */
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const POLICY_DENY = 'HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services\\fDenyTSConnections';
const CRLF = '\r\n';

function registry(w: WindowsState): string {
  const tls = w.schannelServer['TLS 1.2'] ?? {};
  w.schannelServer['TLS 1.2'] = { ...tls, Enabled: 1, DisabledByDefault: 0 };
  w.rdpTcp.UserAuthentication = 1;
  if (w.rdpTcp.SecurityLayer === 0) w.rdpTcp.SecurityLayer = 1;
  if (w.terminalServer && typeof w.terminalServer.fDenyTSConnections === 'number' && w.terminalServer.fDenyTSConnections !== 0) w.terminalServer.fDenyTSConnections = 0;
  const pv = w.policyValues ?? {};
  for (const k of Object.keys(pv)) if (k.toLowerCase() === POLICY_DENY.toLowerCase() && pv[k] !== 0) pv[k] = 0;
  return `Windows boots from ControlSet001${CRLF}Registry fixes applied.${CRLF}`;
}

/** icacls /remove:d for the SIDs the RDP key needs, then /grant (an existing Allow of the SID is merged into one entry). */
function grant(acl: string[], grants: string[]): string[] {
  const denied = ['S-1-5-18', 'S-1-5-32-544', 'S-1-5-20', 'S-1-1-0', 'S-1-5-11'];
  let out = acl.filter((e) => !(e.endsWith(':deny') && denied.includes(e.split(':')[0])));
  for (const g of grants) {
    const sid = g.split(':')[0];
    out = out.filter((e) => e.endsWith(':deny') || e.split(':')[0] !== sid);
    out.push(g);
  }
  return out;
}

function machineKeys(w: WindowsState): string {
  w.machineKeysAcl = grant(w.machineKeysAcl, ['S-1-5-18:F', 'S-1-5-32-544:F']);
  if (w.rdpKeyFileAcl) w.rdpKeyFileAcl = grant(w.rdpKeyFileAcl, ['S-1-5-18:F', 'S-1-5-32-544:F', 'S-1-5-20:R']);
  return `MachineKeys ACLs reset; items that still failed: 0${CRLF}`;
}

function bcd(w: WindowsState, run: OfflineRun): string {
  w.boot = { ...(w.boot ?? {}), displayBootMenu: true, timeout: 5, bootEms: true, ems: true };
  return `BCD store: ${run.hyperVGeneration === 'V2' ? 'E:\\EFI\\Microsoft\\Boot\\BCD' : 'G:\\boot\\bcd'}${CRLF}`;
}

export function emulateOffline(run: OfflineRun): OfflineResult {
  const w = clone(run.windows);
  const drive = run.parameters.find((p) => p.name.toLowerCase() === 'drive')?.value ?? run.drive;
  if (!/^[A-BD-Za-bd-z]$/.test(drive)) return { stdout: '', stderr: `${run.scriptId}.ps1 : Drive must be one letter, not C${CRLF}`, windows: run.windows, engine: 'emulate' };
  switch (run.scriptId) {
    case 'offline-registry':
      return { stdout: registry(w), stderr: '', windows: w, engine: 'emulate' };
    case 'offline-machinekeys':
      return { stdout: machineKeys(w), stderr: '', windows: w, engine: 'emulate' };
    case 'offline-bcd':
      return { stdout: bcd(w, run), stderr: '', windows: w, engine: 'emulate' };
    default:
      return { stdout: '', stderr: `unknown offline script ${run.scriptId}${CRLF}`, windows: run.windows, engine: 'emulate' };
  }
}

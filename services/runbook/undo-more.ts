import type { ScriptParameter } from '../azure/gateway';
import { encodeParam } from './scripts';
import type { UndoScript } from './undo';

/**
 * The undo of change-rdp-port and of reset-machinekeys-acl, from the status line their fix script
 * printed (docs/undo.md). Standalone so that each can move into its cause module as `undo(status)`.
 * null when the status does not hold before-values that validate: no undo rather than a guess.
 */

/** Ports Windows management uses (WinRM): RDP is never put there, not even back. */
const WINRM_PORTS = [5985, 5986, 47001];

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** A firewall rule's ports as the fix printed them (`localPort`: strings), dot-separated; null when they do not validate. */
function portList(v: unknown): string | null {
  if (!Array.isArray(v) || v.length === 0 || v.length > 10) return null;
  const out: string[] = [];
  for (const p of v) {
    const s = String(p);
    if (s !== 'Any' && !/^[0-9]{1,5}(-[0-9]{1,5})?$/.test(s)) return null;
    if (s !== 'Any' && s.split('-').some((n) => Number(n) < 1 || Number(n) > 65535)) return null;
    out.push(s);
  }
  return out.join('.');
}

/**
 * fix-change-rdp-port prints `oldPort`, `firewall` (`created`: the built-in TCP rule did not exist;
 * `moved`: it was moved to the new port; null: it already allowed the new port) and `before`
 * `{ port, rule: { enabled, localPort } | null, udp: { enabled, localPort } | null }`. The undo puts
 * back exactly the recorded port (1-65535, WinRM ports refused), the rules the fix changed, and
 * restarts TermService; the NSG rules of the fix's plan are reversed by the planner.
 */
export function undoChangeRdpPort(status: Record<string, unknown>): UndoScript | null {
  if (status.status !== 'done' || !isObject(status.before)) return null;
  const b = status.before;
  const port = b.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535 || WINRM_PORTS.includes(port) || status.oldPort !== port) return null;
  // a status line from before the fix recorded the UDP rule: its old ports are unknown
  if (!('udp' in b)) return null;
  const parameters: ScriptParameter[] = [{ name: 'Port', value: String(port) }];
  if (status.firewall === 'created') parameters.push({ name: 'RuleExists', value: '0' });
  else if (status.firewall === 'moved') {
    const rule = b.rule;
    const ports = isObject(rule) ? portList(rule.localPort) : null;
    if (!isObject(rule) || typeof rule.enabled !== 'boolean' || ports === null) return null;
    parameters.push({ name: 'RuleExists', value: '1' }, { name: 'RuleEnabled', value: rule.enabled ? 'True' : 'False' }, { name: 'RuleLocalPort', value: ports });
  } else if (status.firewall !== null) return null;
  if (b.udp !== null) {
    const ports = isObject(b.udp) ? portList(b.udp.localPort) : null;
    if (ports === null) return null;
    parameters.push({ name: 'UdpLocalPort', value: ports });
  }
  return { id: 'undo-change-rdp-port', parameters, needsRestart: false };
}

const BACKUP = /^C:\\ProgramData\\RDP Doctor\\backups\\machinekeys-acl-([0-9]{14})\.txt$/;
const KEY_FILE = /^C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys\\([0-9a-fA-F]{32}_[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;
const SID = /^S-1-[0-9]{1,13}(-[0-9]{1,10}){1,15}$/;

/**
 * fix-reset-machinekeys-acl prints `backup` (its icacls /save file in its own folder), `backupHash`
 * (SHA-256 of the file's text), `after` (a fingerprint of the ACLs and owners it left), `owners`
 * (before) and `keyFile`. The undo restores the backup only if it is still there, unchanged, and
 * nothing changed the ACLs since (the script checks both on the VM), then the owners. A key file
 * outside MachineKeys (a CNG key) is not in the backup: no undo.
 */
export function undoResetMachineKeysAcl(status: Record<string, unknown>): UndoScript | null {
  // done, partial, or key-file-not-found after the folder was repaired: whenever a backup was taken
  const stamp = typeof status.backup === 'string' ? BACKUP.exec(status.backup)?.[1] : undefined;
  if (!stamp || typeof status.backupHash !== 'string' || !/^[0-9a-f]{64}$/.test(status.backupHash)) return null;
  if (typeof status.after !== 'string' || !/^[0-9a-f]{16}$/.test(status.after) || !isObject(status.owners)) return null;
  const owners = status.owners;
  const folderOwner = owners.folder;
  if (typeof folderOwner !== 'string' || !SID.test(folderOwner)) return null;
  const parameters: ScriptParameter[] = [
    { name: 'Stamp', value: stamp },
    { name: 'BackupHash', value: status.backupHash },
    { name: 'After', value: status.after },
    { name: 'FolderOwner', value: folderOwner },
  ];
  if (status.keyFile !== null && status.keyFile !== undefined) {
    const key = typeof status.keyFile === 'string' ? KEY_FILE.exec(status.keyFile)?.[1] : undefined;
    if (!key || typeof owners.key !== 'string' || !SID.test(owners.key)) return null;
    parameters.push({ name: 'KeyOwner', value: owners.key }, { name: 'KeyFile', value: encodeParam(key) });
  }
  return { id: 'undo-reset-machinekeys-acl', parameters, needsRestart: false };
}

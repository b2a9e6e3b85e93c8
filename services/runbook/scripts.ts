import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ScriptParameter } from '../azure/gateway';
import { SCRIPT_ID_PATTERN } from './script-id';

/**
 * The PowerShell scripts the project ships (services/runbook/scripts/*.ps1), read once at module
 * load. Each starts with `# rdp-doctor-script: <id>`, which names it in Run Command logs and
 * lets the simulator recognise it.
 */
export interface ShippedScript {
  id: string;
  source: string;
}

export const FIX_SCRIPT_IDS = [
  'fix-free-rdp-port',
  'fix-change-rdp-port',
  'fix-start-termservice',
  'fix-fix-firewall-rule',
  'fix-renew-rdp-cert',
  'fix-reset-machinekeys-acl',
  'fix-enable-tls',
  'fix-enable-nla',
  'fix-allow-rdp-through-firewall', // §1b (famhost)
  // --- §1b: remote desktop switched off, TermService config ---
  'fix-allow-rdp-connections',
  'fix-reset-rdp-listener',
  'fix-reset-termservice-config',
] as const;
/** Undo scripts: put back the before-values a fix script printed. */
export const UNDO_SCRIPT_IDS = [
  'undo-enable-tls',
  'undo-enable-nla',
  'undo-fix-firewall-rule',
  'undo-change-rdp-port',
  'undo-reset-machinekeys-acl',
  'undo-allow-rdp-through-firewall',
  // --- §1b: remote desktop switched off, TermService config ---
  'undo-allow-rdp-connections',
  'undo-reset-rdp-listener',
  'undo-reset-termservice-config',
] as const;
export const SCRIPT_IDS = ['diagnose', ...FIX_SCRIPT_IDS, ...UNDO_SCRIPT_IDS] as const;
export type ScriptId = (typeof SCRIPT_IDS)[number];

/** The folder holding the .ps1 files, from source (ts-jest) or from dist/ (tsc does not copy them). */
export function scriptsDir(): string {
  const candidates = [join(__dirname, 'scripts'), join(__dirname, '..', '..', '..', 'services', 'runbook', 'scripts')];
  for (const c of candidates) {
    try {
      if (readdirSync(c).includes('diagnose.ps1')) return c;
    } catch {
      /* try the next */
    }
  }
  throw new Error(`runbook scripts not found near ${__dirname}`);
}

function load(id: ScriptId): ShippedScript {
  const source = readFileSync(join(scriptsDir(), `${id}.ps1`), 'utf8').replace(/\r\n/g, '\n');
  const header = SCRIPT_ID_PATTERN.exec(source)?.[1];
  if (header !== id) throw new Error(`script ${id}.ps1 has header id ${String(header)}`);
  return { id, source };
}

const SCRIPTS = new Map<ScriptId, ShippedScript>(SCRIPT_IDS.map((id) => [id, load(id)]));

export function getScript(id: ScriptId): ShippedScript {
  const s = SCRIPTS.get(id);
  if (!s) throw new Error(`unknown script ${id}`);
  return s;
}

export const DIAGNOSE_SCRIPT: ShippedScript = getScript('diagnose');

const SAFE = /^[A-Za-z0-9.-]*$/;

/**
 * Run Command passes parameters through a cmd.exe command line, which mangles & ^ % < > | ",
 * spaces and newlines. A value made of [A-Za-z0-9.-] goes as is; anything else goes as
 * `b64.` + Base64(UTF-8), which the scripts decode (Base64's + / = are safe in cmd).
 */
export function encodeParam(value: string): string {
  if (SAFE.test(value) && !value.startsWith('b64.')) return value;
  return `b64.${Buffer.from(value, 'utf8').toString('base64')}`;
}

export function decodeParam(value: string): string {
  return value.startsWith('b64.') ? Buffer.from(value.slice(4), 'base64').toString('utf8') : value;
}

/** Parameters of the diagnosis; `since` narrows the event window (e.g. to after a fix), never beyond 24 h. */
export function diagnoseParameters(since?: Date): ScriptParameter[] {
  if (!since) return [];
  const stamp = since.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return [{ name: 'Since', value: stamp }];
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DomainError } from '../errors';
import { t } from '../i18n';
import { scriptsDir } from './scripts';

/**
 * The offline repair path (RUNBOOK.md "Offline repair"), for when Run Command cannot reach the
 * VM: scripts to run by hand on a rescue VM that has a copy of the OS disk attached. They are
 * shipped as .ps1 files (so the grammar check parses them) with `__DRIVE__` where the letter goes.
 */
export const OFFLINE_SCRIPT_IDS = ['offline-registry', 'offline-machinekeys', 'offline-bcd'] as const;
export type OfflineScriptId = (typeof OFFLINE_SCRIPT_IDS)[number];

export interface OfflineStep {
  id: OfflineScriptId | 'swap-back';
  /** i18n key of the step's one-line description */
  titleKey: string;
  /** PowerShell for the rescue VM, or null for a step done with the Azure CLI */
  script: string | null;
}

export interface OfflineRepairGuide {
  drive: string;
  titleKey: string;
  introKey: string;
  steps: OfflineStep[];
}

const TEMPLATES = new Map<OfflineScriptId, string>(
  OFFLINE_SCRIPT_IDS.map((id) => [id, readFileSync(join(scriptsDir(), `${id}.ps1`), 'utf8').replace(/\r\n/g, '\n')]),
);

/** The script as shipped, `__DRIVE__` only as its parameter's default: Run Command passes the letter as the `Drive` parameter (offline-repair), nothing is spliced. */
export function offlineScriptTemplate(id: string): { id: OfflineScriptId; source: string } {
  const known = OFFLINE_SCRIPT_IDS.find((x) => x === id);
  const source = known ? TEMPLATES.get(known) : undefined;
  if (!known || !source) throw new Error(`unknown offline script ${id.slice(0, 40)}`);
  return { id: known, source };
}

/** One letter A-Z (a trailing colon is accepted), never C: the rescue VM's own system disk. */
export function validateDriveLetter(input: string): string {
  const m = /^\s*([A-Za-z]):?\s*$/.exec(input);
  const letter = m?.[1].toUpperCase();
  if (!letter || letter === 'C') {
    const detailKey = 'runbook.param.driveLetter';
    const params = { value: input.slice(0, 10) };
    throw new DomainError('bad-input', t('en', detailKey, params), { params: { ...params, detailKey, detail: t('en', detailKey, params) } });
  }
  return letter;
}

export function offlineRepairScripts(driveLetter: string): OfflineRepairGuide {
  const drive = validateDriveLetter(driveLetter);
  const render = (id: OfflineScriptId): string => (TEMPLATES.get(id) ?? '').split('__DRIVE__').join(drive);
  return {
    drive,
    titleKey: 'runbook.offline.title',
    introKey: 'runbook.offline.intro',
    steps: [
      { id: 'offline-registry', titleKey: 'runbook.offline.step1', script: render('offline-registry') },
      { id: 'offline-machinekeys', titleKey: 'runbook.offline.step2', script: render('offline-machinekeys') },
      { id: 'offline-bcd', titleKey: 'runbook.offline.step3', script: render('offline-bcd') },
      { id: 'swap-back', titleKey: 'runbook.offline.step4', script: null },
    ],
  };
}

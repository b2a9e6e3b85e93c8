import { z } from 'zod';
import type { ScriptParameter } from '../../azure/gateway';
import { DomainError } from '../../errors';
import { t } from '../../i18n';
import type { Evidence, Finding } from '../findings';
import type { ScriptFixRun } from '../fixes';
import { getScript, type ScriptId } from '../scripts';
import type { DiagnosticFacts } from '../diagnostic-output';
import type { CauseFinding } from './types';

/**
 * What a cause module needs to state findings and build fix runs. A leaf module (no import of
 * findings.ts or fixes.ts at run time), so cause modules and the lists derived from them load in
 * any order.
 */

/** One checkable fact: a key under `runbook.evidence.` (locales/{en,ru}) and its values. */
export const ev = (key: string, params: Record<string, string | number> = {}): Evidence => ({ key: `runbook.evidence.${key}`, params });

export function findingOf(def: CauseFinding, evidence: Evidence[], severity = def.severity): Finding {
  return { id: def.id, severity, evidence } as Finding;
}

export function badInput(detailKey: string, params: Record<string, string | number> = {}): DomainError {
  return new DomainError('bad-input', t('en', detailKey, params), {
    params: { ...params, detailKey, detail: t('en', detailKey, params) },
  });
}

export function parseParams<T extends z.ZodType>(schema: T, params: unknown, fixId: string): z.infer<T> {
  const r = schema.safeParse(params ?? {});
  if (!r.success) {
    const issue = r.error.issues[0];
    throw badInput('runbook.param.invalid', { fix: fixId, field: issue?.path.join('.') || '-' });
  }
  return r.data;
}

/** A boolean card value: true/false, or the strings a card's Input.Toggle sends. */
export const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
export const noParams = z.strictObject({});

export function scriptRun(fixId: string, scriptId: ScriptId, needsRestart: boolean, parameters: ScriptParameter[]): ScriptFixRun {
  const s = getScript(scriptId);
  return { kind: 'script', fixId, scriptId, script: s.source, parameters, needsRestart } as ScriptFixRun;
}

/** The diagnosis's facts a fix's parameters are checked against; without them the fix cannot be planned. */
export function requireFacts(facts: DiagnosticFacts | null, fixId: string): DiagnosticFacts {
  if (!facts) throw badInput('runbook.param.needsDiagnosis', { fix: fixId });
  return facts;
}

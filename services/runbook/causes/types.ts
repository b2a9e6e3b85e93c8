import type { z } from 'zod';
import type { VmDetails } from '../../azure/gateway';
import type { DiagnosticFacts } from '../diagnostic-output';
import type { EvaluateInput, Finding, Severity } from '../findings';
import type { FixContext, FixRun, Risk } from '../fixes';
import type { ScriptId } from '../scripts';
import type { UndoScript } from '../undo';

/**
 * One cause of an RDP failure, in one module (ARCHITECTURE.md "Where the truth lives"): the
 * findings it reports, the check over the diagnostic facts and the ARM view, its fixes and the
 * guidance when no safe fix exists. Every list (finding ids, severities, fix ids, what a fix
 * addresses, snapshot and undo rules) is derived from the registry in `./index.ts`. The diagnostic
 * script and the locale files still hold their part of each cause; nothing else should need to.
 */
export interface CauseFinding<Id extends string = string> {
  readonly id: Id;
  readonly severity: Severity;
}

export interface CauseFix<Id extends string = string> {
  readonly id: Id;
  /** the finding ids (of any cause) this fix addresses */
  readonly addresses: readonly string[];
  readonly risk: Risk;
  /** the VM must be restarted (through ARM, by the runner) before the change takes effect */
  readonly needsRestart: boolean;
  /** the fix changes what is on the OS disk: the runner takes an OS disk snapshot first */
  readonly changesDisk: boolean;
  readonly kind: 'script' | 'arm';
  readonly scriptId?: ScriptId;
  /** strict schema of the parameters the user (or the card) supplies */
  readonly params: z.ZodType;
  /** validates the parameters against the schema and the diagnosis; throws DomainError('bad-input') */
  build(params: unknown, facts: DiagnosticFacts | null, ctx: FixContext): FixRun;
  /** the undo from the fix script's status line (its `before` values); absent: the fix has no undo */
  undo?(status: Record<string, unknown>): UndoScript | null;
  /** why the fix never has an undo: a key under `plans.undo.none.` (docs/undo.md) */
  readonly noUndoReason?: string;
  /** the no-undo text with what the fix printed (a key under `plans.undo.none.` and its values), when its status line holds it in the expected shape */
  noUndoDetail?(status: Record<string, unknown> | undefined): { key: string; params: Record<string, string> } | null;
  /** its undo puts back the NSG rules the fix changed (plan.ts, planner.ts), not a script */
  readonly undoesNsgRules?: boolean;
  /** its plan depends on the NSGs as they are now: the planner reads them fresh for each plan */
  readonly readsNsgs?: boolean;
  /** its plan needs the VM's compute model (offline-repair): the planner reads it (RepairGateway.getVmModel) for each plan */
  readonly readsVmModel?: boolean;
  /** what the requester fills in on the findings card, in this order within one input type (text, number, choice, toggle) */
  readonly inputs?: readonly CauseInput[];
}

/**
 * One input of a fix's request form on the findings card (cards/templates/findings.json renders
 * every type generically). `id` is the parameter name in the fix's `params` schema; the card's
 * checks are a convenience, `build` validates again. Keys are catalogue keys (en and ru);
 * a placeholder is an example value, the same in every language.
 */
export type CauseInput =
  | { readonly id: string; readonly type: 'text'; readonly labelKey: string; readonly errorKey: string; readonly placeholder?: string; readonly regex: string; readonly maxLength: number }
  | { readonly id: string; readonly type: 'number'; readonly labelKey: string; readonly errorKey: string; readonly placeholder?: string; readonly min: number; readonly max: number }
  | { readonly id: string; readonly type: 'toggle'; readonly labelKey: string; readonly default?: boolean }
  | {
      readonly id: string;
      readonly type: 'choice';
      readonly labelKey: string;
      /** a required choice names its error text */
      readonly errorKey?: string;
      /** fixed choices, or `choicesFrom` (the diagnosis's values, each its own title) */
      readonly choices?: readonly { readonly value: string; readonly labelKey: string }[];
      /** the choices this diagnosis allows; none: the fix is not offered on the card */
      choicesFrom?(facts: DiagnosticFacts | null): string[];
      /** the value chosen at first; absent: the first choice */
      readonly default?: string;
    };

/** A finding without a safe fix: what to do, by whom, and the Microsoft article that says so. */
export interface CauseGuidance {
  readonly findingId: string;
  readonly who: 'helpdesk' | 'user' | 'domain-admin' | 'client-pc';
  /** catalogue key (en and ru) of the steps */
  readonly textKey: string;
  /** the exact Microsoft Learn article (https://learn.microsoft.com/...) */
  readonly article: string;
}

export interface Cause {
  /** the module's name, for tests and messages */
  readonly name: string;
  /** in the order a report lists them within one severity */
  readonly findings: readonly CauseFinding[];
  /** findings of this cause for one diagnosis (blockers are not repeated; missing facts = no finding) */
  check(input: EvaluateInput): Finding[];
  readonly fixes?: readonly CauseFix[];
  readonly guidance?: readonly CauseGuidance[];
  /**
   * What stops the runbook before any Run Command (ARM view only): the most fundamental finding
   * of this cause, or none. findings.ts `blockers()` takes the first cause that reports one.
   */
  blockers?(vm: VmDetails): Finding[];
}

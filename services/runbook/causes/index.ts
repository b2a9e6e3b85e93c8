import type { Cause, CauseFix } from './types';
import { rdpOff } from './rdp-off';
import { termserviceConfig } from './termservice-config';

export type { Cause, CauseFinding, CauseFix, CauseGuidance } from './types';

/**
 * The registry of causes (ARCHITECTURE.md "Where the truth lives"). Each entry is one module in
 * this folder, declared `as const satisfies Cause` so its ids stay literal types; the order here is
 * the order a report lists findings within one severity, after the causes still defined in
 * findings.ts/fixes.ts. To add a cause: write its module, add it here, add its script lines,
 * locale lines, fleet field (docs/fleet-format.md) and a demo VM.
 */
export const CAUSES = [rdpOff, termserviceConfig] as const satisfies readonly Cause[];

type FindingIdsOf<C> = C extends { findings: readonly (infer F)[] } ? (F extends { id: infer I extends string } ? I : never) : never;
type FixIdsOf<C> = C extends { fixes: readonly (infer X)[] } ? (X extends { id: infer I extends string } ? I : never) : never;
export type RegistryFindingId = FindingIdsOf<(typeof CAUSES)[number]>;
export type RegistryFixId = FixIdsOf<(typeof CAUSES)[number]>;

/** The registry as plain values (the tuple type above keeps the literal ids). */
export const REGISTRY: readonly Cause[] = CAUSES;
export const registryFixes = (): CauseFix[] => REGISTRY.flatMap((c) => c.fixes ?? []);
export const registryFix = (id: string): CauseFix | undefined => registryFixes().find((f) => f.id === id);

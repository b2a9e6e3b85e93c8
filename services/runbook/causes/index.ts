import { bruteForce } from './brute-force';
import { certificate } from './certificate';
import { firewall } from './firewall';
import { listener } from './listener';
import { machinekeys } from './machinekeys';
import { nla } from './nla';
import { nsgBlocked } from './nsg-blocked';
import { rdpExposed } from './rdp-exposed';
import { snapshot } from './snapshot';
import { tls } from './tls';
import type { Cause, CauseFix } from './types';
import { vmState } from './vm-state';
// --- §1b causes (famhost) ---
import { guestFirewall } from './guest-firewall';
import { secureChannel } from './secure-channel';
import { credSsp } from './credssp';
import { rdshLicensing } from './rdsh-licensing';
import { systemDisk } from './system-disk';
import { publicIp } from './public-ip';
// --- end §1b causes (famhost) ---
// --- §1b causes (famsvc) ---
import { rdpOff } from './rdp-off';
import { termserviceConfig } from './termservice-config';
// --- end §1b causes (famsvc) ---

export type { Cause, CauseFinding, CauseFix, CauseGuidance, CauseInput } from './types';

/**
 * The registry of causes (ARCHITECTURE.md "Where the truth lives"). Each entry is one module in
 * this folder, declared `as const satisfies Cause` so its ids stay literal types. The order here is
 * the order a report lists findings within one severity (FINDING_IDS sorts them by severity,
 * keeping this order) and the order of the fix catalogue (FIX_IDS), which breaks ties between
 * fixes for the same finding. To add a cause: write its module, add it here, add its script
 * lines, locale lines, fleet field (docs/fleet-format.md) and a demo VM (docs/causes.md).
 */
export const CAUSES = [
  rdpExposed,
  bruteForce,
  listener,
  nsgBlocked,
  firewall,
  certificate,
  machinekeys,
  tls,
  nla,
  // --- §1b causes (famsvc) ---
  rdpOff,
  termserviceConfig,
  // --- end §1b causes (famsvc) ---
  // --- §1b causes (famhost) ---
  guestFirewall,
  secureChannel,
  credSsp,
  rdshLicensing,
  systemDisk,
  publicIp,
  // --- end §1b causes (famhost) ---
  vmState,
  snapshot,
] as const satisfies readonly Cause[];

type FindingIdsOf<C> = C extends { findings: readonly (infer F)[] } ? (F extends { id: infer I extends string } ? I : never) : never;
type FixIdsOf<C> = C extends { fixes: readonly (infer X)[] } ? (X extends { id: infer I extends string } ? I : never) : never;
export type RegistryFindingId = FindingIdsOf<(typeof CAUSES)[number]>;
export type RegistryFixId = FixIdsOf<(typeof CAUSES)[number]>;
type NoUndoReasonsOf<C> = C extends { fixes: readonly (infer X)[] } ? (X extends { noUndoReason: infer R extends string } ? R : never) : never;
/** the reasons (keys under `plans.undo.none.`) the registry's fixes name for having no undo */
export type RegistryNoUndoReason = NoUndoReasonsOf<(typeof CAUSES)[number]>;

/** The registry as plain values (the tuple type above keeps the literal ids). */
export const REGISTRY: readonly Cause[] = CAUSES;
export const registryFixes = (): CauseFix[] => REGISTRY.flatMap((c) => c.fixes ?? []);
export const registryFix = (id: string): CauseFix | undefined => registryFixes().find((f) => f.id === id);

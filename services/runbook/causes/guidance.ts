import type { CauseGuidance } from './types';
import { REGISTRY } from './index';

/** §1b (famhost): the guidance a finding without a safe fix carries (what to do, by whom, the Microsoft article), from the registry. */
export function guidanceFor(findingId: string): CauseGuidance | undefined {
  for (const c of REGISTRY) for (const g of c.guidance ?? []) if (g.findingId === findingId) return g;
  return undefined;
}

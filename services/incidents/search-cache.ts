import type { VmSummary } from '../azure/gateway';
import { GRAPH_PAGE_SIZE } from '../azure/graph-query';

/** How long a person's last Resource Graph answer may answer narrower texts. */
export const SEARCH_REUSE_IN_MS = 60_000;
/** People whose last answer is kept, at most (the oldest is dropped first). */
export const SEARCH_REUSE_PEOPLE = 500;

interface Entry {
  query: string;
  found: VmSummary[];
  at: number;
}

/**
 * The last Resource Graph answer per person, for the message extension's search, which Teams sends
 * as the person types ("we", "web", "web0", "web01"). A text that contains the text of an answer
 * that was complete (fewer VMs than one Resource Graph page, so nothing was cut) is answered by
 * filtering that answer: no Azure read and no search of the person's hourly limit. Kept in memory,
 * for `SEARCH_REUSE_IN_MS` from the read and for at most `SEARCH_REUSE_PEOPLE` people; each
 * instance keeps its own (another instance reads Azure and charges the search as before).
 */
export class SearchReuse {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly now: () => number,
    private readonly ttlInMs = SEARCH_REUSE_IN_MS,
    private readonly maxPeople = SEARCH_REUSE_PEOPLE,
  ) {}

  /** The VMs of the person's last answer whose name contains `query`, or undefined when it cannot tell. */
  narrow(person: string, query: string): VmSummary[] | undefined {
    const e = this.entries.get(person);
    if (!e) return undefined;
    if (this.now() - e.at >= this.ttlInMs) {
      this.entries.delete(person);
      return undefined;
    }
    const q = query.toLowerCase();
    if (!q.includes(e.query)) return undefined;
    return e.found.filter((v) => v.name.toLowerCase().includes(q));
  }

  /** Keeps `found`, Azure's answer to `query`, when it is complete. */
  remember(person: string, query: string, found: VmSummary[]): void {
    this.entries.delete(person);
    if (found.length >= GRAPH_PAGE_SIZE) return;
    this.entries.set(person, { query: query.toLowerCase(), found, at: this.now() });
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.maxPeople) break;
      this.entries.delete(key);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

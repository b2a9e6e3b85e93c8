import type { VmSummary } from '../../services/azure/gateway';
import { GRAPH_PAGE_SIZE } from '../../services/azure/graph-query';
import { SearchReuse } from '../../services/incidents/search-cache';

const vm = (name: string): VmSummary => ({ id: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/${name}`, name, resourceGroup: 'rg', subscriptionId: 's', location: 'westeurope' });
const names = (found: VmSummary[] | undefined) => found?.map((v) => v.name);

/** The message extension's search reuse (docs/teams-surfaces.md): bounded in time and in people. */
describe('a person\'s last search answer', () => {
  let t = 0;
  const clock = () => t;
  beforeEach(() => {
    t = 1_000_000;
  });

  it('answers a text that narrows it (any case), and nothing else', () => {
    const r = new SearchReuse(clock);
    r.remember('alex', 'We', [vm('web01'), vm('web02'), vm('dwell-1')]);
    expect(names(r.narrow('alex', 'web'))).toEqual(['web01', 'web02']);
    expect(names(r.narrow('alex', 'WEB01'))).toEqual(['web01']);
    expect(names(r.narrow('alex', 'we'))).toEqual(['web01', 'web02', 'dwell-1']);
    expect(names(r.narrow('alex', 'web9'))).toEqual([]);
    expect(r.narrow('alex', 'w')).toBeUndefined();
    expect(r.narrow('alex', 'db')).toBeUndefined();
    expect(r.narrow('bea', 'web')).toBeUndefined();
  });

  it('keeps no answer that may have been cut at a page', () => {
    const r = new SearchReuse(clock);
    r.remember('alex', 'vm', Array.from({ length: GRAPH_PAGE_SIZE }, (_, i) => vm(`vm-${i}`)));
    expect(r.narrow('alex', 'vm-1')).toBeUndefined();
    r.remember('alex', 'vm', Array.from({ length: GRAPH_PAGE_SIZE - 1 }, (_, i) => vm(`vm-${i}`)));
    expect(r.narrow('alex', 'vm-1')).toBeDefined();
    // a newer, cut answer replaces the older one: it no longer answers
    r.remember('alex', 'vm', Array.from({ length: GRAPH_PAGE_SIZE }, (_, i) => vm(`vm-${i}`)));
    expect(r.narrow('alex', 'vm-1')).toBeUndefined();
  });

  it('expires, and forgets the oldest person past its cap', () => {
    const r = new SearchReuse(clock, 60_000, 3);
    r.remember('alex', 'web', [vm('web01')]);
    t += 59_999;
    expect(names(r.narrow('alex', 'web0'))).toEqual(['web01']);
    t += 1;
    expect(r.narrow('alex', 'web0')).toBeUndefined();
    expect(r.size).toBe(0);
    for (const p of ['a', 'b', 'c', 'd']) r.remember(p, 'web', [vm('web01')]);
    expect(r.size).toBe(3);
    expect(r.narrow('a', 'web')).toBeUndefined();
    expect(names(r.narrow('d', 'web'))).toEqual(['web01']);
  });
});

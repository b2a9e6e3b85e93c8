import { CAPS } from '../diagnostic-output';
import type { Evidence } from '../findings';
import { BRUTE_FORCE_THRESHOLD, countText, eventCount } from './checks';
import { ev, findingOf } from './kit';
import type { Cause } from './types';

const BRUTE_FORCE = { id: 'brute-force-suspected', severity: 'critical' } as const;

/** Many failed logons (4625) or incomplete connections (1006) since the window began; restrict-rdp-source (rdp-exposed) addresses it. */
export const bruteForce = {
  name: 'brute-force',
  findings: [BRUTE_FORCE],
  check({ facts: f }) {
    if (!f) return [];
    const failed = eventCount(f, '4625');
    const incomplete = eventCount(f, '1006');
    if (failed < BRUTE_FORCE_THRESHOLD && incomplete === 0) return [];
    const e: Evidence[] = [];
    if (failed > 0) e.push(ev('failedLogons', { count: countText(failed, CAPS.events4625), since: f.since }));
    if (incomplete > 0) e.push(ev('incompleteConnections', { count: countText(incomplete, CAPS.events), since: f.since }));
    for (const s of (f.logons ?? []).slice(0, 3)) e.push(ev('failedLogonSource', { ip: s.ip, count: s.count }));
    if (f.host?.aud === false) e.push(ev('failedLogonsNotAudited')); // §1b: no 4625 is written, the count says nothing
    return [findingOf(BRUTE_FORCE, e)];
  },
} as const satisfies Cause;

import { evaluateNsgs, nsgName, ruleShortName } from '../nsg';
import { DEFAULT_RDP_PORT } from './checks';
import { ev, findingOf } from './kit';
import type { Cause } from './types';

const BLOCKED = { id: 'rdp-blocked-by-nsg', severity: 'warning' } as const;

/** No source can reach the RDP port through every NSG on the path (nsg.ts decides); no fix: opening a port is a choice for people. */
export const nsgBlocked = {
  name: 'nsg-blocked',
  findings: [BLOCKED],
  check({ nsgs, facts }) {
    if (!nsgs) return [];
    const port = facts?.port ?? DEFAULT_RDP_PORT;
    const v = evaluateNsgs(nsgs, port);
    if (v.noNsg || !v.blocked) return [];
    const evidence = v.noCommonSource
      ? [ev('nsgNoCommonSource', { port })]
      : v.blockingNsgs.map(({ nsg, deny }) =>
          deny
            ? ev('nsgDenied', { nsg: nsgName(nsg), rule: ruleShortName(deny), priority: deny.priority, port })
            : ev('nsgNoAllow', { nsg: nsgName(nsg), port }),
        );
    return [findingOf(BLOCKED, evidence)];
  },
} as const satisfies Cause;

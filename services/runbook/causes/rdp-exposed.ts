import { z } from 'zod';
import { evaluateNsgs, nsgName, ruleShortName, sourceText } from '../nsg';
import { DEFAULT_RDP_PORT } from './checks';
import { ev, findingOf, parseParams } from './kit';
import { restrictChanges, validateSourceCidr } from './nsg-changes';
import type { FixRun } from '../fixes';
import type { Cause } from './types';

const EXPOSED = { id: 'rdp-exposed-to-internet', severity: 'critical' } as const;
const restrictParams = z.strictObject({ source: z.string().max(18) });

/** The RDP port open to the whole Internet in the effective NSG rules (or no NSG at all); fixed by narrowing the source. */
export const rdpExposed = {
  name: 'rdp-exposed',
  findings: [EXPOSED],
  check({ nsgs, facts }) {
    if (!nsgs) return [];
    const port = facts?.port ?? DEFAULT_RDP_PORT;
    const v = evaluateNsgs(nsgs, port);
    if (v.noNsg) return [findingOf(EXPOSED, [ev('nsgNone', { port })])];
    if (!v.exposed) return [];
    return [
      findingOf(
        EXPOSED,
        v.exposingRules.map(({ nsg, rule }) =>
          ev('nsgExposed', { nsg: nsgName(nsg), rule: ruleShortName(rule), priority: rule.priority, source: sourceText(rule), port }),
        ),
      ),
    ];
  },
  fixes: [
    {
      id: 'restrict-rdp-source',
      addresses: ['rdp-exposed-to-internet', 'brute-force-suspected'],
      risk: 'medium',
      changesDisk: true,
      needsRestart: false,
      kind: 'arm',
      params: restrictParams,
      readsNsgs: true,
      undoesNsgRules: true,
      inputs: [
        {
          id: 'source',
          type: 'text',
          labelKey: 'fixes.input.source',
          errorKey: 'fixes.input.sourceError',
          placeholder: '203.0.113.0/24',
          regex: '^\\d{1,3}(\\.\\d{1,3}){3}(/\\d{1,2})?$',
          maxLength: 18,
        },
      ],
      build(params, facts, ctx): FixRun {
        const p = parseParams(restrictParams, params, 'restrict-rdp-source');
        const source = validateSourceCidr(p.source);
        return { kind: 'arm', fixId: 'restrict-rdp-source', arm: { op: 'nsgRules', rules: restrictChanges(ctx.nsgs, facts?.port ?? DEFAULT_RDP_PORT, source, ctx.nsgDetails ?? null) }, needsRestart: false };
      },
    },
  ],
} as const satisfies Cause;

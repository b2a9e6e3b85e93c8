import { z } from 'zod';
import { CAPS, stepFailed } from '../diagnostic-output';
import type { Evidence, Finding } from '../findings';
import { countText, eventCount, grantsFull, grantsRead, isDeny, KEY_READER_SIDS, READ_RIGHTS, rightOf, sidOf } from './checks';
import { ev, findingOf, parseParams, scriptRun } from './kit';
import type { FixRun } from '../fixes';
import type { Cause } from './types';
import { undoResetMachineKeysAcl } from '../undo-more';

const ACL = { id: 'machinekeys-acl-broken', severity: 'critical' } as const;
const LOGGED = { id: 'cert-key-errors-logged', severity: 'critical' } as const;
const resetParams = z.strictObject({ scope: z.enum(['rdpkey', 'all']).optional() });

/** TermService cannot read the certificate's key: the key file's or the MachineKeys folder's ACL, or the errors Schannel logged for it. */
export const machinekeys = {
  name: 'machinekeys',
  findings: [ACL, LOGGED],
  check({ facts: f }) {
    const out: Finding[] = [];
    if (!f || stepFailed(f, 'cert')) return out;
    const c = f.cert;
    const acl: Evidence[] = [];
    if (c?.keyFile === true && f.keyAcl && !stepFailed(f, 'keyacl')) {
      const denied = f.keyAcl.find((e) => isDeny(e) && KEY_READER_SIDS.some((s) => sidOf(e) === s) && READ_RIGHTS.has(rightOf(e)));
      if (denied) acl.push(ev('keyFileDenied', { ace: denied }));
      else if (!grantsRead(f.keyAcl)) acl.push(ev('keyFileNoRead', { acl: f.keyAcl.join(', ') || '-' }));
    }
    if (f.mkAcl && !stepFailed(f, 'mkacl') && !grantsFull(f.mkAcl)) acl.push(ev('machineKeysNoFull', { acl: f.mkAcl.join(', ') || '-' }));
    if (acl.length > 0) out.push(findingOf(ACL, acl));

    const logged: Evidence[] = [];
    for (const id of ['1057', '1058', '36870', '36872'] as const) {
      const n = eventCount(f, id);
      if (n > 0) logged.push(ev(`event${id}`, { count: countText(n, CAPS.events), since: f.since }));
    }
    if (logged.length > 0) out.push(findingOf(LOGGED, logged));
    return out;
  },
  fixes: [
    {
      id: 'reset-machinekeys-acl',
      addresses: ['machinekeys-acl-broken', 'cert-key-errors-logged'],
      risk: 'high',
      changesDisk: true,
      needsRestart: true,
      kind: 'script',
      scriptId: 'fix-reset-machinekeys-acl',
      params: resetParams,
      undo: undoResetMachineKeysAcl,
      inputs: [
        {
          id: 'scope',
          type: 'choice',
          labelKey: 'fixes.input.scope',
          choices: [
            { value: 'rdpkey', labelKey: 'fixes.input.scopeRdpKey' },
            { value: 'all', labelKey: 'fixes.input.scopeAll' },
          ],
          default: 'rdpkey',
        },
      ],
      build(params): FixRun {
        const p = parseParams(resetParams, params, 'reset-machinekeys-acl');
        return scriptRun('reset-machinekeys-acl', 'fix-reset-machinekeys-acl', true, [{ name: 'Scope', value: p.scope ?? 'rdpkey' }]);
      },
    },
  ],
} as const satisfies Cause;

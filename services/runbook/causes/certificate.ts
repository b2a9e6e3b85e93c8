import { stepFailed } from '../diagnostic-output';
import type { Finding } from '../findings';
import { EXPIRY_WARNING_DAYS } from './checks';
import { ev, findingOf, noParams, parseParams, scriptRun } from './kit';
import type { FixRun } from '../fixes';
import type { Cause } from './types';

const MISSING = { id: 'rdp-cert-missing', severity: 'critical' } as const;
const BINDING = { id: 'rdp-cert-binding-broken', severity: 'critical' } as const;
const EXPIRED = { id: 'rdp-cert-expired', severity: 'critical' } as const;
const NO_KEY = { id: 'rdp-cert-no-private-key', severity: 'critical' } as const;
const EXPIRING = { id: 'rdp-cert-expiring', severity: 'warning' } as const;

/** The RDP listener's certificate: none, bound to a thumbprint that is gone, expired or expiring, or without its private key. */
export const certificate = {
  name: 'certificate',
  findings: [MISSING, BINDING, EXPIRED, NO_KEY, EXPIRING],
  check({ facts: f, now }) {
    const out: Finding[] = [];
    if (!f || stepFailed(f, 'cert')) return out;
    const c = f.cert;
    if (!c && !f.sslHash) out.push(findingOf(MISSING, [ev('certNone')]));
    if (f.sslHash && c?.thumb !== f.sslHash) out.push(findingOf(BINDING, [ev('certBindingMissing', { hash: f.sslHash })]));
    if (c) {
      const notAfter = Date.parse(c.notAfter);
      const days = Math.floor((notAfter - now.getTime()) / 86_400_000);
      if (notAfter < now.getTime()) {
        out.push(findingOf(EXPIRED, [ev('certExpired', { thumb: c.thumb, notAfter: c.notAfter })]));
      } else if (notAfter - now.getTime() <= EXPIRY_WARNING_DAYS * 86_400_000) {
        out.push(findingOf(EXPIRING, [ev('certExpiring', { thumb: c.thumb, notAfter: c.notAfter, days })]));
      }
      if (!c.hasKey) out.push(findingOf(NO_KEY, [ev('certNoKey', { thumb: c.thumb })]));
      else if (c.keyFile === false) out.push(findingOf(NO_KEY, [ev('certKeyFileMissing', { thumb: c.thumb })]));
    }
    return out;
  },
  fixes: [
    {
      id: 'renew-rdp-cert',
      addresses: ['rdp-cert-missing', 'rdp-cert-binding-broken', 'rdp-cert-expired', 'rdp-cert-expiring', 'rdp-cert-no-private-key', 'cert-key-errors-logged'],
      risk: 'low',
      changesDisk: true,
      needsRestart: false,
      kind: 'script',
      scriptId: 'fix-renew-rdp-cert',
      params: noParams,
      noUndoReason: 'renew-rdp-cert',
      build(params): FixRun {
        parseParams(noParams, params, 'renew-rdp-cert');
        return scriptRun('renew-rdp-cert', 'fix-renew-rdp-cert', false, []);
      },
    },
  ],
} as const satisfies Cause;

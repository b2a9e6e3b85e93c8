import type { EvaluateInput, Finding } from '../findings';
import { ev, findingOf } from './kit';
import type { Cause } from './types';

/** credssp-oracle-strict (CONTRACTS §1b, info): AllowEncryptionOracle = 0 (Force Updated Clients). The fix is on the client: update it; never lower the server. */
const FINDING = { id: 'credssp-oracle-strict', severity: 'info' } as const;

export const credSsp = {
  name: 'credssp',
  findings: [FINDING],
  check(input: EvaluateInput): Finding[] {
    return input.facts?.host?.ao === 0 ? [findingOf(FINDING, [ev('hostCredSsp', { value: 0 })])] : [];
  },
  guidance: [
    {
      findingId: FINDING.id,
      who: 'client-pc',
      textKey: 'guidance.credssp-oracle-strict.steps',
      article: 'https://learn.microsoft.com/en-us/troubleshoot/azure/virtual-machines/windows/credssp-encryption-oracle-remediation',
    },
  ],
} as const satisfies Cause;

import type { EvaluateInput, Finding } from '../findings';
import { ev, findingOf } from './kit';
import type { Cause } from './types';

/** secure-channel-broken (CONTRACTS §1b): domain-joined and Test-ComputerSecureChannel is false. No safe script: the machine account is reset by a domain admin. */
const FINDING = { id: 'secure-channel-broken', severity: 'critical' } as const;

export const secureChannel = {
  name: 'secure-channel',
  findings: [FINDING],
  check(input: EvaluateInput): Finding[] {
    return input.facts?.host?.sc === false ? [findingOf(FINDING, [ev('hostSecureChannel')])] : [];
  },
  guidance: [
    {
      findingId: FINDING.id,
      who: 'domain-admin',
      textKey: 'guidance.secure-channel-broken.steps',
      article: 'https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.management/test-computersecurechannel?view=powershell-5.1',
    },
  ],
} as const satisfies Cause;

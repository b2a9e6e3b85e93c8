import type { EvaluateInput, Finding } from '../findings';
import { ev, findingOf } from './kit';
import type { Cause } from './types';

/** rdsh-licensing-expired (CONTRACTS §1b): the RD Session Host role is installed, no license server is configured, the grace period is over. */
const FINDING = { id: 'rdsh-licensing-expired', severity: 'critical' } as const;

export const rdshLicensing = {
  name: 'rdsh-licensing',
  findings: [FINDING],
  check(input: EvaluateInput): Finding[] {
    const r = input.facts?.host?.rdsh;
    return r && r.ls === 0 && r.gd === 0 ? [findingOf(FINDING, [ev('hostRdshExpired')])] : [];
  },
  guidance: [
    {
      findingId: FINDING.id,
      who: 'helpdesk',
      textKey: 'guidance.rdsh-licensing-expired.steps',
      article: 'https://learn.microsoft.com/en-us/troubleshoot/windows-server/remote/cannot-connect-rds-no-license-server',
    },
  ],
} as const satisfies Cause;

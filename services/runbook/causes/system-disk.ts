import type { EvaluateInput, Finding } from '../findings';
import { ev, findingOf } from './kit';
import type { Cause } from './types';

/** system-disk-full (CONTRACTS §1b): under 200 MB free on the system drive is critical, under 1 GB the same id as a warning. */
const FINDING = { id: 'system-disk-full', severity: 'critical' } as const;
export const DISK_CRITICAL_MB = 200;
export const DISK_WARNING_MB = 1024;

export const systemDisk = {
  name: 'system-disk',
  findings: [FINDING],
  check(input: EvaluateInput): Finding[] {
    const mb = input.facts?.host?.mb;
    if (mb === null || mb === undefined || mb >= DISK_WARNING_MB) return [];
    return [findingOf(FINDING, [ev('hostDiskFree', { mb })], mb < DISK_CRITICAL_MB ? 'critical' : 'warning')];
  },
  guidance: [
    {
      findingId: FINDING.id,
      who: 'helpdesk',
      textKey: 'guidance.system-disk-full.steps',
      article: 'https://learn.microsoft.com/en-us/azure/virtual-machines/windows/expand-os-disk',
    },
  ],
} as const satisfies Cause;

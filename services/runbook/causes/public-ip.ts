import type { EvaluateInput, Finding } from '../findings';
import { ev, findingOf } from './kit';
import type { Cause } from './types';

/** rdp-no-public-ip (CONTRACTS §1b, info, ARM only): the VM's NIC has no public IP; only VPN, peering or Bastion reach it. Needs no Run Command (a stopped VM gets it too). */
const FINDING = { id: 'rdp-no-public-ip', severity: 'info' } as const;

export const publicIp = {
  name: 'public-ip',
  findings: [FINDING],
  check(input: EvaluateInput): Finding[] {
    return input.vm.publicIp === false ? [findingOf(FINDING, [ev('noPublicIp')])] : [];
  },
  guidance: [
    {
      findingId: FINDING.id,
      who: 'user',
      textKey: 'guidance.rdp-no-public-ip.steps',
      article: 'https://learn.microsoft.com/en-us/azure/bastion/bastion-overview',
    },
  ],
} as const satisfies Cause;

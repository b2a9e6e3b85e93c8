import { ev, findingOf, noParams, parseParams } from './kit';
import type { FixRun } from '../fixes';
import type { Cause } from './types';

const NOT_WINDOWS = { id: 'vm-not-windows', severity: 'blocker' } as const;
const NOT_RUNNING = { id: 'vm-not-running', severity: 'blocker' } as const;
const AGENT = { id: 'vm-agent-not-ready', severity: 'blocker' } as const;

/**
 * What stops the runbook before any Run Command, from the ARM view only (`blockers`, the most
 * fundamental one); never part of `check`. Blockers sort before every other finding whatever
 * the position of this module in CAUSES.
 */
export const vmState = {
  name: 'vm-state',
  findings: [NOT_WINDOWS, NOT_RUNNING, AGENT],
  check: () => [],
  blockers(vm) {
    if (vm.osType !== 'Windows') return [findingOf(NOT_WINDOWS, [ev('osType', { os: vm.osType })])];
    if (vm.powerState !== 'running') return [findingOf(NOT_RUNNING, [ev('powerState', { state: vm.powerState })])];
    if (vm.agentStatus !== 'Ready') return [findingOf(AGENT, [ev('agentStatus', { status: vm.agentStatus, version: vm.agentVersion ?? '-' })])];
    return [];
  },
  fixes: [
    {
      id: 'start-vm',
      addresses: ['vm-not-running'],
      risk: 'low',
      changesDisk: false,
      needsRestart: false,
      kind: 'arm',
      params: noParams,
      noUndoReason: 'start-vm',
      build(params): FixRun {
        parseParams(noParams, params, 'start-vm');
        return { kind: 'arm', fixId: 'start-vm', arm: { op: 'startVm' }, needsRestart: false };
      },
    },
    {
      id: 'restart-vm',
      addresses: ['vm-agent-not-ready'],
      risk: 'medium',
      changesDisk: false,
      needsRestart: false,
      kind: 'arm',
      params: noParams,
      noUndoReason: 'restart-vm',
      build(params): FixRun {
        parseParams(noParams, params, 'restart-vm');
        return { kind: 'arm', fixId: 'restart-vm', arm: { op: 'restartVm' }, needsRestart: false };
      },
    },
  ],
} as const satisfies Cause;

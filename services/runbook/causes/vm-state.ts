import { badInput, ev, findingOf, noParams, parseParams } from './kit';
import type { FixRun } from '../fixes';
import { planRepair } from '../repair-plan';
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
    // --- issue #15: offline repair through a rescue VM (services/incidents/repair-runner.ts) ---
    {
      id: 'offline-repair',
      addresses: ['vm-agent-not-ready'],
      // the VM is deallocated and its OS disk swapped: the two-approver rule (restart) applies when configured
      risk: 'high',
      // the repair works on a copy it makes itself (snapshot -> disk); the original OS disk is kept
      changesDisk: false,
      needsRestart: false,
      kind: 'arm',
      params: noParams,
      readsVmModel: true,
      noUndoReason: 'offline-repair',
      build(params, _facts, ctx): FixRun {
        parseParams(noParams, params, 'offline-repair');
        const model = ctx.vmModel;
        if (!model || !ctx.incidentId) throw badInput('runbook.param.repairNeedsModel');
        // Azure cannot copy a confidential VM's OS disk into a rescue VM (its disk is encrypted to the VM's own vTPM)
        if (model.securityType === 'ConfidentialVM') throw badInput('runbook.param.repairConfidential', { vm: model.name });
        if (!model.osDiskId || !/\/providers\/Microsoft\.Compute\/disks\//i.test(model.osDiskId)) throw badInput('runbook.param.repairUnmanagedDisk', { vm: model.name });
        return { kind: 'arm', fixId: 'offline-repair', arm: { op: 'offlineRepair', plan: planRepair(ctx.incidentId, model) }, needsRestart: false };
      },
    },
    // --- end issue #15 ---
  ],
} as const satisfies Cause;

import type { ScriptParameter } from '../azure/gateway';
import { canonicalService, type FleetVm, type WindowsState } from './fleet';
import type { InteriorResult, SyncVmInterior } from './interior';
import { RDP_SERVICES } from '../runbook/diagnostic-output';
import { diagnoseLine } from './vm-interior-diagnose';
import { runFixInside } from './vm-interior-fixes';
import { emulateOffline } from './offline-emulation';

/**
 * What the project's scripts observe and change inside a simulated VM. `diagnose` prints exactly
 * the line diagnose.ps1 would print for the VM's fleet `windows` state; fix scripts change that
 * state the way the real script would (some effects wait for `onRestart`).
 */
const bootAt = new WeakMap<FleetVm, Date>();

/** When the VM last booted: its last simulated restart, else a week before `now`. */
export function bootTimeOf(vm: FleetVm, now: Date): Date {
  return bootAt.get(vm) ?? new Date(now.getTime() - 7 * 24 * 3600 * 1000);
}

/** The world's side of a restart (both engines): the boot time, then the changes waiting for it. */
export function restartVm(vm: FleetVm): void {
  bootAt.set(vm, new Date());
  if (vm.windows) applyRestart(vm);
}

export function createVmInterior(): SyncVmInterior {
  return {
    engine: 'emulate',
    run(vm: FleetVm, scriptId: string, parameters: ScriptParameter[], now: Date): InteriorResult {
      if (!vm.windows) {
        return { stdout: '', stderr: `script ${scriptId}: the VM has no Windows interior`, changed: false, engine: 'emulate' };
      }
      if (scriptId === 'diagnose') {
        return { stdout: `${diagnoseLine(vm.windows, now, bootTimeOf(vm, now), { parameters })}\r\n`, stderr: '', changed: false, engine: 'emulate' };
      }
      return { ...runFixInside(vm, vm.windows, scriptId, parameters, now), engine: 'emulate' };
    },
    onRestart: restartVm,
    // issue #15: the offline scripts on a rescue VM (offline-emulation.ts)
    runOffline: emulateOffline,
  };
}

const pendingOnRestart = new WeakMap<FleetVm, Array<(w: WindowsState) => void>>();

/** Registers a change that takes effect when the VM restarts (e.g. SCHANNEL). */
export function onNextRestart(vm: FleetVm, change: (w: WindowsState) => void): void {
  const list = pendingOnRestart.get(vm) ?? [];
  list.push(change);
  pendingOnRestart.set(vm, list);
}

export function hasPendingRestart(vm: FleetVm): boolean {
  return (pendingOnRestart.get(vm)?.length ?? 0) > 0;
}

function applyRestart(vm: FleetVm): void {
  const w = vm.windows;
  if (!w) return;
  for (const change of pendingOnRestart.get(vm) ?? []) change(w);
  pendingOnRestart.delete(vm);
  // RDP services come up at boot; TermService takes the port unless something else holds it.
  for (const s of RDP_SERVICES) {
    const cur = w.services[s];
    if (cur === undefined) continue;
    const c = canonicalService(s, cur);
    if (c.startMode === 'Disabled') continue;
    w.services[s] = typeof cur === 'string' ? 'Running' : { ...cur, state: 'Running' };
  }
  const term = w.services.TermService;
  if (term !== undefined && canonicalService('TermService', term).state === 'Running' && !w.listeners.some((l) => l.port === w.rdpPort)) {
    w.listeners.push({ port: w.rdpPort, pid: 1104, process: 'svchost', services: ['TermService'] });
  }
}

export { factsFromWindows, diagnoseLine } from './vm-interior-diagnose';

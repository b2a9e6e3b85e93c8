import type { ScriptParameter } from '../azure/gateway';
import type { FleetVm, WindowsState } from './fleet';

/**
 * What happens inside a simulated VM when Run Command carries one of the project's scripts.
 * The ARM simulator finds the script id in the script's header line
 * (`# rdp-doctor-script: <id>`), then asks the interior for the output the real script
 * would print for this VM's state; a fix script also changes the state.
 */
/** Which ran a script: the real script under PowerShell with the modelled Windows, or the TypeScript emulation. */
export type ScriptEngine = 'pwsh' | 'emulate';

export interface InteriorResult {
  stdout: string;
  stderr: string;
  /** which engine produced this result (the operation log and the CLI report it) */
  engine?: ScriptEngine;
  /** the script waited on something that never completes (a service stuck in a pending state): Run Command would time out */
  hung?: boolean;
  /**
   * Applies the script's change to the VM. An engine that runs the script ahead of time (pwsh,
   * started when Run Command is accepted) hands the change back here so that it lands when the
   * operation completes, as on a real VM; the emulation changes the state in `run` itself.
   */
  commit?: () => void;
  /** true when the VM state was changed (a fix ran) */
  changed: boolean;
  /** the script needs the VM restarted before its change takes effect (informational) */
  restartPending?: boolean;
}

export interface VmInterior {
  /** the engine this interior runs scripts with */
  readonly engine: ScriptEngine;
  /**
   * Runs the script inside the VM. `script` is the exact text Run Command received (the pwsh
   * engine executes it; the emulation only needs the id).
   */
  run(vm: FleetVm, scriptId: string, parameters: ScriptParameter[], now: Date, script?: string): InteriorResult | Promise<InteriorResult>;
  /** Ends what the interior keeps running (the pwsh worker); called when the simulator closes. */
  close?(): void;
  /** Called when the VM restarts: pending changes (e.g. SCHANNEL) take effect, services start. */
  onRestart?(vm: FleetVm): void;
  /**
   * Issue #15: runs an offline script (offline-*.ps1) on a rescue VM whose data disk holds
   * `windows` (a copy of a broken VM's OS disk) as drive `drive`; returns what it printed and the
   * disk's state afterwards. Nothing else is touched.
   */
  runOffline?(run: OfflineRun): OfflineResult | Promise<OfflineResult>;
}

/** Issue #15: one offline script run against an attached disk (routes-repair.ts). */
export interface OfflineRun {
  windows: WindowsState;
  drive: string;
  hyperVGeneration: 'V1' | 'V2';
  scriptId: string;
  parameters: ScriptParameter[];
  /** the exact script text Run Command received */
  script: string;
  now: Date;
}

export interface OfflineResult {
  stdout: string;
  stderr: string;
  windows: WindowsState;
  hung?: boolean;
  engine: ScriptEngine;
}

/** The script id is the runbook's header format (services/runbook/script-id.ts). */
export { scriptIdOf } from '../runbook/script-id';

/** An interior that answers at once (the emulation, test doubles). */
export interface SyncVmInterior extends VmInterior {
  run(vm: FleetVm, scriptId: string, parameters: ScriptParameter[], now: Date, script?: string): InteriorResult;
}

import type { ScriptParameter } from '../azure/gateway';
import type { FleetVm } from './fleet';

/**
 * What happens inside a simulated VM when Run Command carries one of the project's scripts.
 * The ARM simulator finds the script id in the script's header line
 * (`# rdp-doctor-script: <id>`), then asks the interior for the output the real script
 * would print for this VM's state; a fix script also changes the state.
 */
export interface InteriorResult {
  stdout: string;
  stderr: string;
  /** true when the VM state was changed (a fix ran) */
  changed: boolean;
  /** the script needs the VM restarted before its change takes effect (informational) */
  restartPending?: boolean;
}

export interface VmInterior {
  run(vm: FleetVm, scriptId: string, parameters: ScriptParameter[], now: Date): InteriorResult;
  /** Called when the VM restarts: pending changes (e.g. SCHANNEL) take effect, services start. */
  onRestart?(vm: FleetVm): void;
}

export const SCRIPT_ID_PATTERN = /^#\s*rdp-doctor-script:\s*([a-z0-9-]+)\s*$/m;

export function scriptIdOf(script: string): string | null {
  const m = SCRIPT_ID_PATTERN.exec(script);
  return m ? m[1] : null;
}

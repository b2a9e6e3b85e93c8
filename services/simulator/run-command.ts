import type { ScriptParameter } from '../azure/gateway';
import type { Json } from './arm-shapes';
import type { FleetVm } from './fleet';
import { scriptIdOf, type VmInterior } from './interior';

/** Azure keeps only the last 4,096 bytes of each output stream. */
export const RUN_COMMAND_OUTPUT_LIMIT = 4096;

export const AGENT_ERROR = {
  code: 'VMAgentStatusCommunicationError',
  message:
    "VM has not reported status for VM agent or extensions. Verify that the OS is up and healthy, the VM has a running VM agent, and that it can establish outbound connections to Azure storage. Please refer to https://aka.ms/vmextensionwindowstroubleshoot for additional VM agent troubleshooting information.",
};

export const CONFLICT_ERROR = {
  code: 'Conflict',
  message: 'Run command extension execution is in progress. Please wait for completion before invoking a run command.',
};

export function lastBytes(text: string, limit = RUN_COMMAND_OUTPUT_LIMIT): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= limit) return text;
  let start = buf.length - limit;
  // do not start in the middle of a UTF-8 sequence
  while (start < buf.length && (buf[start] & 0xc0) === 0x80) start++;
  return buf.subarray(start).toString('utf8');
}

export interface RunCommandInput {
  commandId: string;
  script: string[];
  parameters: ScriptParameter[];
}

export function parseRunCommandInput(body: unknown): RunCommandInput | string {
  if (!body || typeof body !== 'object') return 'The request content was invalid and could not be deserialized.';
  const b = body as Record<string, unknown>;
  if (typeof b.commandId !== 'string' || b.commandId.length === 0) return "Required parameter 'commandId' is missing (null).";
  const script = Array.isArray(b.script) ? b.script.filter((l): l is string => typeof l === 'string') : [];
  const parameters: ScriptParameter[] = [];
  if (Array.isArray(b.parameters)) {
    for (const p of b.parameters) {
      if (p && typeof p === 'object' && typeof (p as ScriptParameter).name === 'string') {
        parameters.push({ name: (p as ScriptParameter).name, value: String((p as ScriptParameter).value ?? '') });
      }
    }
  }
  return { commandId: b.commandId, script, parameters };
}

/** Runs the project script found in the source (if any) against the VM's interior. */
export function executeRunCommand(vm: FleetVm, input: RunCommandInput, interior: VmInterior, now: Date): { value: Json[]; scriptId: string | null } {
  const scriptId = input.commandId === 'RunPowerShellScript' ? scriptIdOf(input.script.join('\n')) : null;
  let stdout = '';
  let stderr = '';
  if (scriptId) {
    try {
      const r = interior.run(vm, scriptId, input.parameters, now);
      stdout = r.stdout;
      stderr = r.stderr;
    } catch (e) {
      // a script that throws on a real VM ends with its error on stderr, the call itself succeeds
      stderr = `${(e as Error).message}`;
    }
  }
  return {
    scriptId,
    value: [
      { code: 'ComponentStatus/StdOut/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded', message: lastBytes(stdout) },
      { code: 'ComponentStatus/StdErr/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded', message: lastBytes(stderr) },
    ],
  };
}

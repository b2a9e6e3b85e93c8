import type { ScriptParameter } from '../azure/gateway';
import type { Json } from './arm-shapes';
import type { FleetVm } from './fleet';
import { scriptIdOf, type InteriorResult, type VmInterior } from './interior';

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

/** The project script a Run Command carries (its header id), or null for anything else. */
export function projectScriptId(input: RunCommandInput): string | null {
  return input.commandId === 'RunPowerShellScript' ? scriptIdOf(input.script.join('\n')) : null;
}

/** The instance-view statuses Run Command answers with: stdout and stderr, each cut to its last 4,096 bytes. */
export function runCommandStatuses(stdout: string, stderr: string): Json[] {
  return [
    { code: 'ComponentStatus/StdOut/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded', message: lastBytes(stdout) },
    { code: 'ComponentStatus/StdErr/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded', message: lastBytes(stderr) },
  ];
}

/** Run Command's limit: a script still running after 90 minutes is ended and the operation fails. */
export const SCRIPT_TIMEOUT_ERROR = {
  code: 'VMExtensionProvisioningTimeout',
  message: 'The Run Command script did not finish within 90 minutes (it waited on something that never completed) and was stopped.',
};

export type ScriptOutcome = { value: Json[] } | { error: { code: string; message: string } };

function toOutcome(r: InteriorResult): ScriptOutcome {
  r.commit?.();
  if (r.hung) return { error: SCRIPT_TIMEOUT_ERROR };
  return { value: runCommandStatuses(r.stdout, r.stderr) };
}

/**
 * Runs the project script found in the source (if any) inside the VM. The result may come later
 * (the pwsh engine runs a real process); the VM's state changes when the result is taken.
 */
export function executeRunCommand(vm: FleetVm, input: RunCommandInput, interior: VmInterior, now: Date): ScriptOutcome | Promise<ScriptOutcome> {
  const source = input.script.join('\n');
  const scriptId = projectScriptId(input);
  if (!scriptId) return { value: runCommandStatuses('', '') };
  const failed = (e: unknown): ScriptOutcome => ({ value: runCommandStatuses('', `${(e as Error).message}`) });
  try {
    const r = interior.run(vm, scriptId, input.parameters, now, source);
    // a script that throws on a real VM ends with its error on stderr, the call itself succeeds
    return r instanceof Promise ? r.then(toOutcome, failed) : toOutcome(r);
  } catch (e) {
    return failed(e);
  }
}

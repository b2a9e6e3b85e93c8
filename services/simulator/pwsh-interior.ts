import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import type { ScriptParameter } from '../azure/gateway';
import { windowsStateSchema, type FleetVm, type WindowsState } from './fleet';
import type { InteriorResult, OfflineResult, OfflineRun, ScriptEngine, SyncVmInterior, VmInterior } from './interior';
import { bootTimeOf, restartVm } from './vm-interior';
import { runFixInside } from './vm-interior-fixes';

/**
 * The real scripts inside a simulated VM: PowerShell 7 runs the exact script text Run Command
 * received, with the modelled Windows (`windows-model/WindowsModel.psm1`) standing in for the
 * registry, certificate stores, CIM, services, listeners, ACLs, firewall and event logs, fed by
 * the fleet VM's `windows` state. The runner hands back what the script printed and the state it
 * left, which becomes the VM's state when the Run Command completes.
 */

/** The repository root (this file runs from services/simulator or dist/services/simulator). */
export function repoRoot(): string {
  for (const up of [join(__dirname, '..', '..'), join(__dirname, '..', '..', '..')]) {
    if (existsSync(join(up, 'services', 'simulator', 'windows-model'))) return up;
  }
  return join(__dirname, '..', '..');
}

export function modelRunnerPath(): string {
  return join(repoRoot(), 'services', 'simulator', 'windows-model', 'Invoke-ModelScript.ps1');
}

/**
 * The pwsh binary: `PWSH` when set, else the project's own (`npm run setup:pwsh` installs it in
 * .tools/pwsh), else `pwsh` on PATH. null when none is there.
 */
export function findPwsh(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.PWSH) return existsSync(env.PWSH) ? env.PWSH : null;
  const local = join(repoRoot(), '.tools', 'pwsh', 'pwsh');
  if (existsSync(local)) return local;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'pwsh'))) return join(dir, 'pwsh');
  }
  return null;
}

const working = new Map<string, boolean>();

/** True when the binary starts and reports a version (a broken install must not pass for pwsh); asked once per process. */
export function pwshWorks(pwsh: string): boolean {
  const known = working.get(pwsh);
  if (known !== undefined) return known;
  const r = spawnSync(pwsh, ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', '$PSVersionTable.PSVersion.Major'], { encoding: 'utf8', timeout: 30_000 });
  const ok = r.status === 0 && /^\d+\s*$/.test(r.stdout);
  working.set(pwsh, ok);
  return ok;
}

export interface ModelRun {
  id: string;
  windows: WindowsState;
  /** the exact script text, as Run Command writes it to the VM */
  script: string;
  parameters: ScriptParameter[];
  now: Date;
  boot: Date;
  /** issue #15: the state is a disk attached to a rescue VM as this drive (Model.Offline.ps1) */
  offline?: { drive: string; hyperVGeneration: 'V1' | 'V2' };
}

export interface ModelRunResult {
  id: string;
  stdout: string;
  stderr: string;
  windows: WindowsState;
  hung: boolean;
  virtualSeconds: number;
}

export interface ModelBatchOptions {
  pwsh: string;
  /** the whole batch is killed after this long (default 120 s + 2 s per run) */
  timeoutMs?: number;
}

/** Writes the runner's request (and one file per script) into `dir`; returns the request and result paths. */
function writeRequest(dir: string, runs: ModelRun[]): { requestFile: string; resultFile: string } {
  const request = {
    runs: runs.map((r, i) => {
      const scriptPath = join(dir, `script${i}.ps1`);
      writeFileSync(scriptPath, r.script, 'utf8');
      return { id: r.id, windows: r.windows, scriptPath, parameters: r.parameters, now: r.now.toISOString(), boot: r.boot.toISOString(), ...(r.offline ? { offline: r.offline } : {}) };
    }),
  };
  const requestFile = join(dir, 'request.json');
  writeFileSync(requestFile, JSON.stringify(request), 'utf8');
  return { requestFile, resultFile: join(dir, 'result.json') };
}

function readResults(runs: ModelRun[], resultFile: string, diagnostics: string): ModelRunResult[] {
  if (!existsSync(resultFile)) throw new Error(`the modelled Windows runner wrote no result: ${diagnostics.slice(-2000)}`);
  const raw = JSON.parse(readFileSync(resultFile, 'utf8').replace(/^\uFEFF/, '')) as { runs?: unknown };
  const list = Array.isArray(raw.runs) ? raw.runs : [];
  return runs.map((r) => {
    const got = list.find((x): x is Record<string, unknown> => typeof x === 'object' && x !== null && (x as { id?: unknown }).id === r.id);
    if (!got) throw new Error(`the modelled Windows runner returned no result for run ${r.id}: ${diagnostics.slice(-2000)}`);
    const state = windowsStateSchema.safeParse(got.windows);
    if (!state.success) {
      const first = state.error.issues[0];
      throw new Error(`run ${r.id}: the state the model returned is not a valid fleet windows state at ${first?.path.join('.')}: ${first?.message}`);
    }
    return {
      id: r.id,
      stdout: typeof got.stdout === 'string' ? got.stdout : '',
      stderr: typeof got.stderr === 'string' ? got.stderr : '',
      windows: state.data,
      hung: got.hung === true,
      virtualSeconds: typeof got.virtualSeconds === 'number' ? got.virtualSeconds : 0,
    };
  });
}

const PWSH_ARGS = ['-NoLogo', '-NoProfile', '-NonInteractive'];
/** What every pwsh the simulator starts gets: no telemetry, no update check (the machine is offline). */
const pwshEnv = (): NodeJS.ProcessEnv => ({ ...process.env, POWERSHELL_TELEMETRY_OPTOUT: '1', POWERSHELL_UPDATECHECK: 'Off' });

/** Runs scripts under the modelled Windows, in order, in one new pwsh process (it takes ~1.5 s to start). */
export async function runModelBatch(runs: ModelRun[], options: ModelBatchOptions): Promise<ModelRunResult[]> {
  if (runs.length === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), 'rdp-doctor-model-'));
  try {
    const { requestFile, resultFile } = writeRequest(dir, runs);
    const timeoutMs = options.timeoutMs ?? 120_000 + 2_000 * runs.length;
    const { code, stderr } = await runProcess(options.pwsh, [...PWSH_ARGS, '-File', modelRunnerPath(), '-RequestFile', requestFile, '-ResultFile', resultFile], timeoutMs);
    return readResults(runs, resultFile, `exit ${code}: ${stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One long-lived pwsh that runs the runner for each request it reads on stdin, so a simulated
 * Run Command costs the script, not PowerShell's start-up. Requests are served one at a time in
 * arrival order; a worker that dies or overruns a request's time is killed and replaced.
 */
export class PwshWorker {
  private child: ChildProcessWithoutNullStreams | null = null;
  private buffer = '';
  private stderr = '';
  private readonly waiting = new Map<string, (line: string) => void>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly pwsh: string, private readonly timeoutMs = 60_000) {}

  /** Runs the batch on the worker (queued behind the runs before it). */
  run(runs: ModelRun[]): Promise<ModelRunResult[]> {
    const next = this.queue.then(() => this.runNow(runs));
    this.queue = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.child?.kill('SIGKILL');
    this.child = null;
  }

  private start(): ChildProcessWithoutNullStreams {
    const loop = [
      '$ErrorActionPreference = "Continue"',
      `$runner = '${modelRunnerPath().replace(/'/g, "''")}'`,
      'while ($null -ne ($line = [Console]::In.ReadLine())) {',
      '  $parts = $line -split "`t"',
      '  try { & $runner -RequestFile $parts[1] -ResultFile $parts[2] *> $null } catch { [Console]::Error.WriteLine([string]$_) }',
      '  [Console]::Out.WriteLine("rdp-doctor-done`t" + $parts[0])',
      '}',
    ].join('\n');
    const loopFile = join(mkdtempSync(join(tmpdir(), 'rdp-doctor-worker-')), 'worker.ps1');
    writeFileSync(loopFile, loop, 'utf8');
    const child = spawn(this.pwsh, [...PWSH_ARGS, '-File', loopFile], { stdio: ['pipe', 'pipe', 'pipe'], env: pwshEnv() });
    // pwsh reads the file after its start-up: remove it when the worker ends
    child.once('exit', () => rmSync(dirname(loopFile), { recursive: true, force: true }));
    child.stdout.on('data', (d: Buffer) => {
      this.buffer += d.toString('utf8');
      let i: number;
      while ((i = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, i).replace(/\r$/, '');
        this.buffer = this.buffer.slice(i + 1);
        const m = /^rdp-doctor-done\t(\S+)$/.exec(line);
        if (m) this.waiting.get(m[1])?.(line);
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString('utf8')).slice(-8000);
    });
    child.on('exit', () => {
      if (this.child === child) this.child = null;
      for (const done of this.waiting.values()) done('exit');
    });
    child.on('error', () => undefined);
    this.child = child;
    return child;
  }

  private async runNow(runs: ModelRun[]): Promise<ModelRunResult[]> {
    if (runs.length === 0) return [];
    const dir = mkdtempSync(join(tmpdir(), 'rdp-doctor-model-'));
    const key = dir.slice(-12).replace(/[^A-Za-z0-9]/g, '');
    try {
      const { requestFile, resultFile } = writeRequest(dir, runs);
      const child = this.child ?? this.start();
      const ended = await new Promise<string>((resolve) => {
        const timer = setTimeout(() => resolve('timeout'), this.timeoutMs + 2_000 * runs.length);
        this.waiting.set(key, (line) => {
          clearTimeout(timer);
          resolve(line);
        });
        child.stdin.write(`${key}\t${requestFile}\t${resultFile}\n`);
      });
      this.waiting.delete(key);
      if (ended === 'timeout') {
        this.close();
        throw new Error(`the modelled Windows runner did not finish within ${this.timeoutMs} ms`);
      }
      if (ended === 'exit') throw new Error(`the pwsh worker exited: ${this.stderr.slice(-2000)}`);
      return readResults(runs, resultFile, this.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

function runProcess(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: pwshEnv() });
    let stderr = '';
    child.stdout.on('data', () => undefined);
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 64_000) stderr += d.toString('utf8');
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the modelled Windows runner did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/**
 * The interior that runs the real scripts. Changes that wait for a restart (Group Policy writing
 * its values back, errors that stop once the cause is gone) are the world's, not the script's:
 * they are registered by running the emulation on a copy of the state, whose own output and
 * state are thrown away.
 */
const shared = new Map<string, { worker: PwshWorker; users: number }>();

/** One worker per pwsh binary and process, shared by every simulator in it (tests start many). */
function acquireWorker(pwsh: string): { worker: PwshWorker; release: () => void } {
  let entry = shared.get(pwsh);
  if (!entry) {
    entry = { worker: new PwshWorker(pwsh), users: 0 };
    shared.set(pwsh, entry);
  }
  entry.users++;
  const e = entry;
  let released = false;
  return {
    worker: e.worker,
    release: () => {
      if (released) return;
      released = true;
      if (--e.users === 0) {
        e.worker.close();
        shared.delete(pwsh);
      }
    },
  };
}

export function createPwshInterior(pwsh: string): VmInterior & { close(): void } {
  const { worker, release } = acquireWorker(pwsh);
  return {
    engine: 'pwsh',
    close: release,
    async run(vm: FleetVm, scriptId: string, parameters: ScriptParameter[], now: Date, script?: string): Promise<InteriorResult> {
      if (!vm.windows) return { stdout: '', stderr: `script ${scriptId}: the VM has no Windows interior`, changed: false, engine: 'pwsh' };
      if (script === undefined) throw new Error('the pwsh engine needs the script text');
      const [r] = await worker.run([{ id: 'run', windows: clone(vm.windows), script, parameters, now, boot: bootTimeOf(vm, now) }]);
      const before = JSON.stringify(vm.windows);
      const changed = before !== JSON.stringify(r.windows);
      return {
        stdout: r.stdout,
        stderr: r.stderr,
        changed,
        hung: r.hung,
        engine: 'pwsh',
        commit: () => {
          const next = r.windows;
          if (scriptId !== 'diagnose' && vm.windows) {
            // the world's side of the change, the same for both engines: what waits for a restart is
            // registered, and the error events whose cause the fix removed are cleared as the
            // emulation clears them (a simplification: on Windows they stay in the log and only
            // leave its 24-hour window). The emulation's output and state on the copy are discarded.
            const probe = clone(vm.windows);
            runFixInside(vm, probe, scriptId, parameters, now);
            for (const [id, count] of Object.entries(vm.windows.events24h)) {
              if (count > 0 && (probe.events24h[id] ?? 0) === 0) next.events24h[id] = 0;
            }
          }
          vm.windows = next;
        },
      };
    },
    onRestart: restartVm,
    // issue #15: an offline script on a rescue VM, against the attached copy's state
    async runOffline(run: OfflineRun): Promise<OfflineResult> {
      const offline = { drive: run.drive, hyperVGeneration: run.hyperVGeneration };
      const [r] = await worker.run([{ id: 'run', windows: clone(run.windows), script: run.script, parameters: run.parameters, now: run.now, boot: new Date(run.now.getTime() - 3600_000), offline }]);
      return { stdout: r.stdout, stderr: r.stderr, windows: r.windows, hung: r.hung, engine: 'pwsh' };
    },
  };
}

export type ScriptsSetting = 'pwsh' | 'emulate' | 'auto';

/**
 * SIM_SCRIPTS: `pwsh` runs the real scripts (an error when PowerShell is missing), `emulate` the
 * TypeScript emulation, `auto` (default) pwsh when it is found and works.
 */
export function createInterior(setting: ScriptsSetting, emulation: SyncVmInterior, env: NodeJS.ProcessEnv = process.env): { interior: VmInterior; engine: ScriptEngine; pwsh: string | null } {
  if (setting === 'emulate') return { interior: emulation, engine: 'emulate', pwsh: null };
  const pwsh = findPwsh(env);
  // asked for by name, a broken pwsh shows itself at the first run; auto must not pick a broken one
  const usable = pwsh !== null && existsSync(modelRunnerPath()) && (setting === 'pwsh' || pwshWorks(pwsh));
  if (!usable) {
    if (setting === 'pwsh') {
      throw new Error(
        pwsh === null
          ? 'SIM_SCRIPTS=pwsh, but no PowerShell was found: run `npm run setup:pwsh`, or set PWSH to a pwsh binary'
          : `SIM_SCRIPTS=pwsh, but ${existsSync(modelRunnerPath()) ? `${pwsh} does not start` : 'the modelled Windows is missing'}`,
      );
    }
    return { interior: emulation, engine: 'emulate', pwsh: null };
  }
  return { interior: createPwshInterior(pwsh), engine: 'pwsh', pwsh };
}

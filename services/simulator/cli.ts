import { join } from 'node:path';
import { loadFleetFile } from './fleet';
import { startSimulator } from './server';
import { createInterior, type ScriptsSetting } from './pwsh-interior';
import { createVmInterior } from './vm-interior';

/**
 * `node dist/services/simulator/cli.js --fleet FILE --port N [--latency-ms N] [--cert-dir DIR] [--scripts pwsh|emulate|auto]`
 * Serves the fleet as Azure Resource Manager until SIGINT/SIGTERM. `--scripts` (default
 * SIM_SCRIPTS, else auto) chooses what runs the project's scripts inside the VMs.
 */
interface CliArgs {
  fleet: string;
  port: number;
  latencyMs: number;
  certDir?: string;
  scripts: ScriptsSetting;
}

function defaultFleetPath(): string {
  // dist/services/simulator -> ../../../services/simulator/fleets ; ts source -> ./fleets
  return __dirname.includes(`${join('dist', 'services')}`)
    ? join(__dirname, '..', '..', '..', 'services', 'simulator', 'fleets', 'demo-fleet.json')
    : join(__dirname, 'fleets', 'demo-fleet.json');
}

function parseArgs(argv: string[]): CliArgs {
  const env = process.env.SIM_SCRIPTS;
  const out: CliArgs = { fleet: defaultFleetPath(), port: 0, latencyMs: 0, scripts: env === 'pwsh' || env === 'emulate' ? env : 'auto' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = (name: string, v: string, max: number): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`${name} must be an integer from 0 to ${max}`);
      return n;
    };
    if (a === '--fleet') out.fleet = value();
    else if (a === '--port') out.port = int('--port', value(), 65535);
    else if (a === '--latency-ms') out.latencyMs = int('--latency-ms', value(), 600_000);
    else if (a === '--cert-dir') out.certDir = value();
    else if (a === '--scripts') {
      const v = value();
      if (v !== 'pwsh' && v !== 'emulate' && v !== 'auto') throw new Error('--scripts must be pwsh, emulate or auto');
      out.scripts = v;
    }
    else throw new Error(`unknown argument: ${a}`);
  }
  return out;
}

async function main(): Promise<void> {
  let args: CliArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\nusage: simulator [--fleet FILE] [--port N] [--latency-ms N] [--cert-dir DIR] [--scripts pwsh|emulate|auto]\n`);
    process.exitCode = 2;
    return;
  }
  const fleet = loadFleetFile(args.fleet);
  const { interior, engine } = createInterior(args.scripts, createVmInterior());
  const sim = await startSimulator({
    fleet,
    interior,
    port: args.port,
    runCommandLatencyMs: args.latencyMs,
    certDir: args.certDir,
  });
  process.stdout.write(`ARM endpoint: ${sim.endpoint} CA: ${sim.caFile}\nScripts: ${engine === 'pwsh' ? 'the real scripts under PowerShell (modelled Windows)' : 'the TypeScript emulation'}\n`);
  const stop = (): void => {
    // keep-alive clients must not hold the process open
    setTimeout(() => process.exit(0), 1000).unref();
    sim.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`simulator failed: ${(e as Error).message}\n`);
  process.exitCode = 1;
});

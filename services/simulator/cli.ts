import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fleetSubscriptions, loadFleetFile, type Fleet } from './fleet';
import { generateFleet } from './fleet-generator';
import { DEMO_TEAMS_APP_ID, SimGraph } from './routes-graph';
import { startSimulator } from './server';
import { createInterior, type ScriptsSetting } from './pwsh-interior';
import { createVmInterior } from './vm-interior';

/**
 * `node dist/services/simulator/cli.js --fleet FILE --port N [--latency-ms N] [--cert-dir DIR] [--scripts pwsh|emulate|auto]`
 * Serves the fleet as Azure Resource Manager until SIGINT/SIGTERM. `--scripts` (default
 * SIM_SCRIPTS, else auto) chooses what runs the project's scripts inside the VMs.
 * `--generate N [--seed S] [--subscriptions K] [--resource-groups R] [--write-fleet FILE]` serves
 * a generated fleet instead (docs/simulator.md); `--throttle` / `--no-throttle` switch Azure's
 * ARM and Resource Graph throttling on or off (default: on for a generated fleet, off otherwise).
 * `--retention-minutes N` (default 60) keeps an ended long-running operation pollable that long;
 * `--log-limit N` (default 1,000,000) is how many operation-log entries are kept, the newest.
 * `--graph-users ID[,ID]` (repeatable) puts these Entra object ids in the simulated Graph's
 * directory and the Teams app `--graph-app ID` (default the demo app id) in its catalog, so the
 * bot's GRAPH_REACH can install the app for them (docs/graph.md).
 */
interface CliArgs {
  fleet: string;
  port: number;
  latencyMs: number;
  certDir?: string;
  scripts: ScriptsSetting;
  // --- sweep-sim ---
  generate?: number;
  seed: number;
  subscriptions: number;
  resourceGroups: number;
  writeFleet?: string;
  throttle?: boolean;
  fleetGiven: boolean;
  // --- end sweep-sim ---
  /** minutes an ended long-running operation stays pollable */
  retentionMinutes?: number;
  /** entries the operation log keeps */
  logLimit?: number;
  /** the simulated Graph's directory (Entra object ids) and the Teams app in its catalog */
  graphUsers: string[];
  graphApp?: string;
}

const USAGE = 'usage: simulator [--fleet FILE | --generate N [--seed S] [--subscriptions K] [--resource-groups R] [--write-fleet FILE]] [--throttle|--no-throttle] [--port N] [--latency-ms N] [--cert-dir DIR] [--scripts pwsh|emulate|auto] [--retention-minutes N] [--log-limit N] [--graph-users ID[,ID] [--graph-app ID]]';

function defaultFleetPath(): string {
  // dist/services/simulator -> ../../../services/simulator/fleets ; ts source -> ./fleets
  return __dirname.includes(`${join('dist', 'services')}`)
    ? join(__dirname, '..', '..', '..', 'services', 'simulator', 'fleets', 'demo-fleet.json')
    : join(__dirname, 'fleets', 'demo-fleet.json');
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A comma-separated list of GUIDs (Entra object ids, a Teams app id), each checked. */
function guids(name: string, v: string, max = 1000): string[] {
  const list = v.split(',').map((x) => x.trim()).filter(Boolean);
  if (list.length === 0 || list.length > max || !list.every((x) => GUID.test(x))) throw new Error(`${name} must be ${max === 1 ? 'a GUID' : `up to ${max} comma-separated GUIDs`} (Entra object ids / the Teams app id)`);
  return list;
}

function parseArgs(argv: string[]): CliArgs {
  const env = process.env.SIM_SCRIPTS;
  const out: CliArgs = { fleet: defaultFleetPath(), port: 0, latencyMs: 0, scripts: env === 'pwsh' || env === 'emulate' ? env : 'auto', seed: 1, subscriptions: 4, resourceGroups: 5, fleetGiven: false, graphUsers: [] };
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
    if (a === '--fleet') {
      out.fleet = value();
      out.fleetGiven = true;
    }
    else if (a === '--generate') out.generate = int('--generate', value(), 50_000);
    else if (a === '--seed') out.seed = int('--seed', value(), 2 ** 32 - 1);
    else if (a === '--subscriptions') out.subscriptions = int('--subscriptions', value(), 16);
    else if (a === '--resource-groups') out.resourceGroups = int('--resource-groups', value(), 50);
    else if (a === '--write-fleet') out.writeFleet = value();
    else if (a === '--throttle') out.throttle = true;
    else if (a === '--no-throttle') out.throttle = false;
    else if (a === '--port') out.port = int('--port', value(), 65535);
    else if (a === '--latency-ms') out.latencyMs = int('--latency-ms', value(), 600_000);
    else if (a === '--cert-dir') out.certDir = value();
    else if (a === '--retention-minutes') out.retentionMinutes = int('--retention-minutes', value(), 7 * 24 * 60);
    else if (a === '--log-limit') out.logLimit = int('--log-limit', value(), 100_000_000);
    else if (a === '--graph-users') out.graphUsers.push(...guids('--graph-users', value()));
    else if (a === '--graph-app') [out.graphApp] = guids('--graph-app', value(), 1);
    else if (a === '--scripts') {
      const v = value();
      if (v !== 'pwsh' && v !== 'emulate' && v !== 'auto') throw new Error('--scripts must be pwsh, emulate or auto');
      out.scripts = v;
    }
    else throw new Error(`unknown argument: ${a}`);
  }
  if (out.generate !== undefined && out.fleetGiven) throw new Error('--fleet and --generate exclude each other');
  if (out.generate === 0) throw new Error('--generate must be an integer from 1 to 50000');
  if (out.subscriptions === 0 || out.resourceGroups === 0) throw new Error('--subscriptions and --resource-groups must be at least 1');
  if (out.generate === undefined && out.writeFleet) throw new Error('--write-fleet needs --generate');
  if (out.graphApp && out.graphUsers.length === 0) throw new Error('--graph-app needs --graph-users');
  if (out.logLimit === 0) throw new Error('--log-limit must be an integer from 1 to 100000000');
  return out;
}

async function main(): Promise<void> {
  let args: CliArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  let fleet: Fleet;
  if (args.generate !== undefined) {
    fleet = generateFleet({ vms: args.generate, seed: args.seed, subscriptions: args.subscriptions, resourceGroups: args.resourceGroups });
    if (args.writeFleet) writeFileSync(args.writeFleet, `${JSON.stringify(fleet)}\n`);
  } else fleet = loadFleetFile(args.fleet);
  const throttling = args.throttle ?? args.generate !== undefined;
  const { interior, engine } = createInterior(args.scripts, createVmInterior());
  const graph = new SimGraph();
  for (const user of args.graphUsers) graph.addUser(user);
  const graphApp = args.graphUsers.length ? (args.graphApp ?? DEMO_TEAMS_APP_ID) : undefined;
  if (graphApp) graph.addApp(graphApp);
  const sim = await startSimulator({
    fleet,
    interior,
    port: args.port,
    runCommandLatencyMs: args.latencyMs,
    certDir: args.certDir,
    throttling,
    operationRetention: args.retentionMinutes === undefined ? undefined : { retentionMs: args.retentionMinutes * 60_000 },
    operationLogLimit: args.logLimit,
    graph,
  });
  process.stdout.write(`ARM endpoint: ${sim.endpoint} CA: ${sim.caFile}\nScripts: ${engine === 'pwsh' ? 'the real scripts under PowerShell (modelled Windows)' : 'the TypeScript emulation'}\n`);
  if (graphApp) process.stdout.write(`Graph: ${args.graphUsers.length} users; Teams app ${graphApp} in the catalog (the bot: GRAPH_ENDPOINT=${sim.endpoint} GRAPH_CA_FILE=${sim.caFile} TEAMS_APP_ID=${graphApp})\n`);
  process.stdout.write(`Fleet: ${fleet.vms.length} VMs; subscriptions: ${fleetSubscriptions(fleet).join(',')}; throttling: ${throttling ? 'on (Azure\'s limits)' : 'off'}\n`);
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

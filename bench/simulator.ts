import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { OperationLogEntry } from '../services/simulator/operation-log';
import { freePort, sleep, spawnNode, type Child } from './procs';

export interface SimulatorChild {
  child: Child;
  endpoint: string;
  caFile: string;
  latencyMs: number;
  /** CONTRACTS.md §7: GET /_simulator/operations */
  operations(): Promise<OperationLogEntry[]>;
}

/**
 * The ARM simulator in its own process (`npm run simulator`'s entry point): the bot's Azure
 * is outside the bot's process as real Azure is, so the bot's CPU and memory are its own, and
 * the operation log is read over HTTPS as any outside check would.
 */
export async function startSimulatorChild(repo: string, certDir: string, latencyMs: number): Promise<SimulatorChild> {
  const port = await freePort();
  const child = spawnNode({
    name: `simulator(L=${latencyMs})`,
    script: join(repo, 'dist', 'services', 'simulator', 'cli.js'),
    port,
    env: {},
    // the bench measures the bot: the VMs' insides are emulated (one pwsh worker running the real
    // scripts would be the bottleneck under hundreds of concurrent Run Commands, not the bot)
    args: ['--port', String(port), '--latency-ms', String(latencyMs), '--cert-dir', certDir, '--scripts', 'emulate'],
  });
  const caFile = join(certDir, 'arm-simulator-ca.pem');
  const endpoint = `https://127.0.0.1:${port}`;
  const operations = (): Promise<OperationLogEntry[]> => simulatorOperations(port, readFileSync(caFile, 'utf8'));
  const deadline = Date.now() + 30000;
  for (;;) {
    if (child.proc.exitCode !== null) throw new Error(`simulator exited: ${child.stderr()}`);
    if (existsSync(caFile)) {
      try {
        await operations();
        break;
      } catch {
        /* not listening yet */
      }
    }
    if (Date.now() > deadline) throw new Error(`simulator did not start: ${child.stderr()}`);
    await sleep(20);
  }
  return { child, endpoint, caFile, latencyMs, operations };
}

/** The simulator's operation log (GET /_simulator/operations); the generated 10,000-VM fleet's log wants a longer timeout. */
export function simulatorOperations(port: number, ca: string, timeoutMs = 5000): Promise<OperationLogEntry[]> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/_simulator/operations', method: 'GET', ca, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`operations: HTTP ${res.statusCode}`));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OperationLogEntry[]);
        } catch (e) {
          reject(e as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

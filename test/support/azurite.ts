import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { azuriteConnectionString } from '../../services/store/azure/connection';

/**
 * Azurite for tests: the one CI gives (`AZURITE_CONNECTION_STRING`), else a fresh in-memory
 * one on loopback ports it binds itself (port 0; read back from its "successfully listening at"
 * lines, so no other process can take them in between). When it cannot start this throws: the
 * tests fail, never skip.
 */
export interface Azurite {
  connectionString: string;
  stop(): Promise<void>;
}

const bin = join(__dirname, '..', '..', 'node_modules', '.bin', 'azurite');

export async function startAzurite(): Promise<Azurite> {
  const given = process.env.AZURITE_CONNECTION_STRING;
  if (given) return { connectionString: given, stop: async () => undefined };
  const child = spawn(
    bin,
    ['--silent', '--inMemoryPersistence', '--disableTelemetry', '--blobHost', '127.0.0.1', '--queueHost', '127.0.0.1', '--tableHost', '127.0.0.1',
      '--blobPort', '0', '--queuePort', '0', '--tablePort', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const ports = await new Promise<{ blob: number; queue: number; table: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`Azurite did not start in 30 s: ${output}`));
    }, 30000);
    const check = (d: Buffer) => {
      output += d.toString();
      const bound = (service: string): number | undefined => {
        const m = new RegExp(`Azurite ${service} service is successfully listening at http://127\\.0\\.0\\.1:(\\d+)`).exec(output);
        return m ? Number(m[1]) : undefined;
      };
      const [blob, queue, table] = [bound('Blob'), bound('Queue'), bound('Table')];
      if (blob && queue && table) {
        clearTimeout(timer);
        resolve({ blob, queue, table });
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`Azurite could not be started (${bin}): ${e.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited ${code}: ${output}`));
    });
  });
  return { connectionString: azuriteConnectionString('127.0.0.1', ports), stop: () => stop(child) };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

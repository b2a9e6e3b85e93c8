import { join } from 'node:path';
import Database from 'better-sqlite3';
import { odata, TableClient } from '@azure/data-tables';
import { QueueClient } from '@azure/storage-queue';
import type { App } from '../../bot/app';
import { scaled } from './wait-scale';

/**
 * "Nothing ran" can only be read once nothing can still run. Fixes are jobs: approved in the
 * turn, queued, claimed and run later from the queue. These helpers wait for that real state
 * (no job queued or running, no background work in flight), never for a fixed time.
 */

/** Polls `probe` until it returns something truthy (bounded; the bound is a failure, not a pass). */
export async function until<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 30000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + scaled(timeoutMs);
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * An in-process bot is drained when no job is queued or running in its store and its job runner
 * holds no background work (diagnoses, fix runs, the notices after a decision). Read twice around
 * the store read, so a job handed from the queue to the runner in between is not missed.
 */
export async function appDrained(app: App, timeoutMs = 30000): Promise<void> {
  await until(
    async () => {
      if (app.jobs.count() > 0) return false;
      const open = await app.store.jobs.listByState(['queued', 'running']);
      return open.length === 0 && app.jobs.count() === 0;
    },
    'the job queue to drain',
    timeoutMs,
  );
}

/** The jobs and audit trail of a bot process's SQLite store, read-only beside the running bot. */
export function sqliteRecords(dataDir: string) {
  const open = () => new Database(join(dataDir, 'rdp-doctor.sqlite'), { readonly: true, fileMustExist: true });
  const read = <T>(sql: string, ...args: unknown[]): T[] => {
    const db = open();
    try {
      return db.prepare(sql).all(...args) as T[];
    } finally {
      db.close();
    }
  };
  return {
    jobStates: () => read<{ id: string; state: string }>('SELECT id, state FROM jobs'),
    audit: (action: string) => read<{ details: string | null }>('SELECT details FROM audit_log WHERE action = ? ORDER BY seq', action).map((r) => (r.details ? (JSON.parse(r.details) as Record<string, unknown>) : {})),
    /** resolves when every job of the store is terminal (no queued, no running) */
    settled: (timeoutMs = 30000) => until(() => read<{ n: number }>("SELECT COUNT(*) AS n FROM jobs WHERE state IN ('queued','running')")[0].n === 0, 'every job to end', timeoutMs),
  };
}

/**
 * Several instances on Azure Storage: settled when no job entity is queued or running and the
 * jobs queue holds no message (visible or not): nothing is left that any instance could run.
 */
export async function azureJobsSettled(connectionString: string, prefix: string, timeoutMs = 30000): Promise<void> {
  const fixes = TableClient.fromConnectionString(connectionString, `${prefix}fixes`, { allowInsecureConnection: true });
  const queue = new QueueClient(connectionString, `${prefix}-jobs`);
  await until(
    async () => {
      for await (const e of fixes.listEntities<{ state: string }>({ queryOptions: { filter: odata`kind eq 'job'` } })) if (e.state === 'queued' || e.state === 'running') return false;
      const props = await queue.getProperties();
      return (props.approximateMessagesCount ?? 0) === 0;
    },
    'the shared job queue to settle',
    timeoutMs,
    200,
  );
}

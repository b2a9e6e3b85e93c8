import { hostname } from 'node:os';
import { TableClient } from '@azure/data-tables';
import { QueueClient } from '@azure/storage-queue';
import { BlobsStorage } from 'botbuilder-azure-blobs';
import type { Logger } from '../../log';
import type { AppStore } from '../store';
import { AzureAuditLog } from './audit';
import { resourceNames, serviceEndpoints, type AzureStorageTarget, type ResourceNames } from './connection';
import { AzureSettingsRepo, AzureUserRepo } from './directory';
import { AzureApprovalRepo, AzureJobRepo } from './fixes';
import { AzureIncidentRepo } from './incidents';
import { AzureJobQueue, type AzureJobQueueOptions } from './job-queue';
import { AzureLimitWindows } from './limits';
import { getOrNull } from './tables';
import { AzureSweepRepo } from './sweeps';
import { AzureSweepSpread } from './sweep-spread';

export interface AzureStoreOptions {
  target: AzureStorageTarget;
  /** prefix of every table, queue and container name (default `rdpdoctor`) */
  prefix?: string;
  queue?: Omit<AzureJobQueueOptions, 'logger'>;
  logger?: Logger;
  /** names this process in the jobs it claims (default host/pid) */
  instanceId?: string;
}

/**
 * The scale-out backend: bot state in Blob storage (ETag-guarded by botbuilder-azure-blobs),
 * incidents, approvals, jobs, users, settings and the audit log in Table storage (every state
 * change an ETag-conditional write), fix jobs on a Storage queue. Nothing an instance needs
 * lives in another instance's memory.
 */
export class AzureStore implements AppStore {
  readonly kind = 'azure' as const;
  readonly botStorage: BlobsStorage;
  readonly incidents: AzureIncidentRepo;
  readonly approvals: AzureApprovalRepo;
  readonly jobs: AzureJobRepo;
  readonly users: AzureUserRepo;
  readonly settings: AzureSettingsRepo;
  readonly audit: AzureAuditLog;
  readonly jobQueue: AzureJobQueue;
  readonly limits: AzureLimitWindows;
  readonly sweeps: AzureSweepRepo;
  /** a deep sweep's VMs spread over the instances (sweep-spread) */
  readonly sweepSpread: AzureSweepSpread;
  private closed = false;

  private constructor(
    readonly names: ResourceNames,
    private readonly tables: TableClient[],
    private readonly queue: QueueClient,
    parts: { incidents: TableClient; fixes: TableClient; audit: TableClient; users: TableClient; settings: TableClient; sweeps: TableClient; sweepQueue: QueueClient; botStorage: BlobsStorage },
    opts: AzureStoreOptions,
  ) {
    this.botStorage = parts.botStorage;
    this.incidents = new AzureIncidentRepo(parts.incidents);
    this.jobs = new AzureJobRepo(parts.fixes, opts.instanceId ?? `${hostname()}/${process.pid}`);
    this.approvals = new AzureApprovalRepo(parts.fixes, this.jobs);
    this.users = new AzureUserRepo(parts.users);
    this.settings = new AzureSettingsRepo(parts.settings);
    // the limit windows share the settings table (own partitions: `limit-<scope>`)
    this.limits = new AzureLimitWindows(parts.settings);
    this.audit = new AzureAuditLog(parts.audit);
    this.sweeps = new AzureSweepRepo(parts.sweeps);
    this.sweepSpread = new AzureSweepSpread(parts.sweeps, parts.sweepQueue);
    this.jobQueue = new AzureJobQueue(queue, { ...opts.queue, logger: opts.logger });
  }

  /** Connects and creates the tables, the queue and the container when they are missing. */
  static async open(opts: AzureStoreOptions): Promise<AzureStore> {
    const names = resourceNames(opts.prefix ?? 'rdpdoctor');
    const t = opts.target;
    const table = (name: string) =>
      'connectionString' in t
        ? TableClient.fromConnectionString(t.connectionString, name, { allowInsecureConnection: /^UseDevelopmentStorage=true|DefaultEndpointsProtocol=http;|=http:\/\//i.test(t.connectionString) })
        : new TableClient(serviceEndpoints(t.accountUrl).table, name, t.credential);
    const queueNamed = (name: string) => ('connectionString' in t ? new QueueClient(t.connectionString, name) : new QueueClient(`${serviceEndpoints(t.accountUrl).queue}/${name}`, t.credential));
    const queue = queueNamed(names.queue);
    const sweepQueue = queueNamed(names.sweepQueue);
    const botStorage =
      'connectionString' in t
        ? new BlobsStorage(t.connectionString, names.container)
        : new BlobsStorage('', names.container, undefined, `${serviceEndpoints(t.accountUrl).blob}/${names.container}`, t.credential);
    const parts = {
      incidents: table(names.incidents),
      fixes: table(names.fixes),
      audit: table(names.audit),
      users: table(names.users),
      settings: table(names.settings),
      sweeps: table(names.sweeps),
      sweepQueue,
      botStorage,
    };
    const tables = [parts.incidents, parts.fixes, parts.audit, parts.users, parts.settings, parts.sweeps];
    // createTable ignores "already exists"; reading nothing makes BlobsStorage create its container
    await Promise.all([...tables.map((c) => c.createTable()), queue.createIfNotExists(), sweepQueue.createIfNotExists(), botStorage.read(['rdp-doctor-open-probe'])]);
    return new AzureStore(names, tables, queue, parts, opts);
  }

  async ping(): Promise<void> {
    if (this.closed) throw new Error('store is closed');
    await getOrNull(this.tables[0], 'ping', 'ping');
  }

  async close(): Promise<void> {
    // the SDK clients hold no connections that need closing; the queue consumer is stopped by its owner
    this.closed = true;
  }

  /** Test and tooling helper: deletes every table, the queue and the container of this prefix. */
  async destroy(): Promise<void> {
    await Promise.all([...this.tables.map((c) => c.deleteTable()), this.queue.deleteIfExists(), this.sweepSpread.queue.deleteQueue()]);
  }
}

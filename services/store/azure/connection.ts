import type { StorageCredential } from '../../azure/storage-credential';

/**
 * Where the storage account is: a connection string (Azurite: `UseDevelopmentStorage=true`,
 * or a full one with its endpoints) or an account URL reached with a token credential
 * (managed identity through DefaultAzureCredential). Names share one prefix so that several
 * deployments, or tests, can share an account.
 */
export type AzureStorageTarget =
  | { connectionString: string }
  | { accountUrl: string; credential: StorageCredential };

export interface ResourceNames {
  incidents: string;
  fixes: string;
  audit: string;
  users: string;
  settings: string;
  /** fleet sweeps (issue #16): digests, per-VM results, Run Command slots */
  sweeps: string;
  queue: string;
  /** a deep sweep's chunks of VMs, for the instances' sweep workers (issue #16, sweep-spread) */
  sweepQueue: string;
  container: string;
}

/** Table names: letters and digits; queue and container: lower case with hyphens. */
export function resourceNames(prefix: string): ResourceNames {
  if (!/^[a-z][a-z0-9]{0,39}$/.test(prefix)) throw new Error(`storage prefix must be lower-case letters and digits, starting with a letter (got "${prefix}")`);
  return {
    incidents: `${prefix}incidents`,
    fixes: `${prefix}fixes`,
    audit: `${prefix}audit`,
    users: `${prefix}users`,
    settings: `${prefix}settings`,
    sweeps: `${prefix}sweeps`,
    queue: `${prefix}-jobs`,
    sweepQueue: `${prefix}-sweeps`,
    container: `${prefix}-botstate`,
  };
}

/** `https://acct.blob.core.windows.net` (or .table/.queue, or with a path) -> the three service endpoints. */
export function serviceEndpoints(accountUrl: string): { blob: string; table: string; queue: string } {
  const u = new URL(accountUrl);
  const m = /^([^.]+)\.(?:blob|table|queue|file|dfs)\.(.+)$/.exec(u.hostname);
  if (!m) throw new Error(`AZURE_STORAGE_ACCOUNT_URL: expected https://<account>.blob.core.windows.net (got "${accountUrl}")`);
  const at = (service: string) => `${u.protocol}//${m[1]}.${service}.${m[2]}${u.port ? `:${u.port}` : ''}`;
  return { blob: at('blob'), table: at('table'), queue: at('queue') };
}

/** Azurite's well-known development account, for a connection string on chosen ports. */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export function azuriteConnectionString(host: string, ports: { blob: number; queue: number; table: number }): string {
  const at = (port: number) => `http://${host}:${port}/${AZURITE_ACCOUNT}`;
  return `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${at(ports.blob)};QueueEndpoint=${at(ports.queue)};TableEndpoint=${at(ports.table)};`;
}

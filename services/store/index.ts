import { storageCredential } from '../azure/storage-credential';
import type { Logger } from '../log';
import { SqliteStore } from './sqlite';
import type { AppStore } from './store';

export interface StoreConfig {
  STORAGE: 'sqlite' | 'azure';
  DATA_DIR: string;
  AZURE_STORAGE_CONNECTION_STRING?: string;
  AZURE_STORAGE_ACCOUNT_URL?: string;
  AZURE_STORAGE_PREFIX: string;
}

/** The store the configuration names: SQLite in DATA_DIR (one instance) or Azure Storage (several). */
export async function openStore(config: StoreConfig, logger?: Logger): Promise<AppStore> {
  if (config.STORAGE === 'sqlite') return SqliteStore.open(config.DATA_DIR);
  const target = config.AZURE_STORAGE_CONNECTION_STRING
    ? { connectionString: config.AZURE_STORAGE_CONNECTION_STRING }
    : config.AZURE_STORAGE_ACCOUNT_URL
      ? { accountUrl: config.AZURE_STORAGE_ACCOUNT_URL, credential: storageCredential() }
      : null;
  if (!target) throw new Error('STORAGE=azure needs AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT_URL');
  // loaded only here: the Storage SDKs (tables, queues, blobs) cost every SQLite process and CLI run ~1 s of start-up CPU
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { AzureStore } = require('./azure/store') as typeof import('./azure/store');
  return AzureStore.open({ target, prefix: config.AZURE_STORAGE_PREFIX, logger });
}

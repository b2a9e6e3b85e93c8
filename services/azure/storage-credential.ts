import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';

/** The credential of Azure Storage reached by account URL (STORAGE=azure without a connection string): the managed identity on Azure. */
export type StorageCredential = TokenCredential;

export function storageCredential(): StorageCredential {
  return new DefaultAzureCredential();
}

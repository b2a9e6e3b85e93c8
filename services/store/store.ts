import type { Storage } from 'botbuilder';
import type { AuditEntry, Incident, IncidentState } from '../incidents/model';

/**
 * Persistence behind one interface. `botStorage` keeps conversation and user state in the shape
 * botbuilder expects (ETag-guarded: a stale write is refused). The incident records of the fix
 * workflow are added here as repositories; SQLite is the default backend, Azure Storage the
 * scale-out one.
 */
export interface AppStore {
  readonly kind: 'sqlite' | 'azure';
  readonly botStorage: Storage;
  readonly incidents: IncidentRepo;
  readonly audit: AuditLog;
  /** Resolves when the backend answers; rejects otherwise (`/readyz`). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class StaleETagError extends Error {
  constructor(key: string) {
    super(`Storage: error writing "${key}" due to eTag conflict.`);
    this.name = 'StaleETagError';
  }
}

export interface IncidentRepo {
  create(incident: Incident): Promise<void>;
  get(id: string): Promise<Incident | null>;
  /**
   * Atomic state change: applies `patch` only if the incident is in one of `from`; returns the
   * new incident, or null when it was not (someone else moved it first: a double click).
   */
  transition(id: string, from: IncidentState[], patch: Partial<Incident>): Promise<Incident | null>;
  /** Unconditional update of fields that are not the state (card id, progress). */
  patch(id: string, patch: Partial<Omit<Incident, 'state' | 'id'>>): Promise<Incident | null>;
  listOpen(limit?: number): Promise<Incident[]>;
  listByVm(vmId: string, limit?: number): Promise<Incident[]>;
}

export interface AuditLog {
  append(entry: AuditEntry): Promise<void>;
  list(filter: { vmId?: string; incidentId?: string; limit?: number }): Promise<AuditEntry[]>;
}

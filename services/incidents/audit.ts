import type { AuditPage } from '../store/audit-chain';
import type { AppStore } from '../store/store';
import type { Person } from './model';

/** The bot itself, as the actor of what no person did (a job's steps, an expiry, a crash recovery). */
export const SYSTEM_ACTOR: Person = { id: 'rdp-doctor' };

/** Who did it, as the audit log names people: their Entra object id when known, else the channel account id. */
export function actorId(p: Person): string {
  return p.aadObjectId ?? p.id;
}

/** The incident and VM an entry is about (absent for entries about neither, e.g. a setting). */
export interface AuditSubject {
  incidentId?: string;
  vmId?: string;
}

/**
 * The one way entries reach the append-only audit log: the services call it, the helpdesk
 * commands through AuditTrail. The entry's shape is that of every entry so far: `at`, `actor`,
 * `action`, then the subject's ids and the details.
 */
export async function recordAudit(
  store: Pick<AppStore, 'audit'>,
  at: Date,
  actor: Person,
  action: string,
  subject: AuditSubject | null,
  details: Record<string, unknown>,
): Promise<void> {
  await store.audit.append({
    at: at.toISOString(),
    actor: actorId(actor),
    action,
    ...(subject ? { incidentId: subject.incidentId, vmId: subject.vmId } : {}),
    details,
  });
}

/** The audit log as the chat layer uses it: record what a helpdesk command did, read a VM's history. */
export class AuditTrail {
  constructor(private readonly store: Pick<AppStore, 'audit'>, private readonly now: () => Date = () => new Date()) {}

  record(actor: Person, action: string, subject: AuditSubject | null, details: Record<string, unknown>): Promise<void> {
    return recordAudit(this.store, this.now(), actor, action, subject, details);
  }

  /** One page of a VM's records, the newest first (history <vm>). */
  vmPage(vmId: string, limit: number, beforeSeq?: number): Promise<AuditPage> {
    return this.store.audit.page({ vmId, limit, beforeSeq });
  }
}

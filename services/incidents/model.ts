import type { ConversationReference } from 'botbuilder';
import type { Lang } from '../i18n';

export type Symptom = 'internal-error' | 'configuring-session' | 'cannot-connect' | 'other';

export type IncidentState =
  | 'picking' // several VMs matched: waiting for the requester to choose
  | 'awaiting-consent' // VM known: waiting for consent to the read-only diagnosis
  | 'diagnosing'
  | 'diagnosed'
  | 'blocked' // a blocker (not Windows, not running, agent not Ready) stopped the diagnosis
  | 'failed'
  | 'cancelled';

export const OPEN_STATES: IncidentState[] = ['picking', 'awaiting-consent', 'diagnosing', 'diagnosed', 'blocked'];

export interface Person {
  /** channel account id (Teams: 29:...) */
  id: string;
  name?: string;
  /** Entra object id, when the channel gives it */
  aadObjectId?: string;
}

export interface FindingRecord {
  id: string;
  severity: string;
  evidence: Array<{ key: string; params: Record<string, string | number> }>;
}

export interface DiagnosisRecord {
  at: string;
  findings: FindingRecord[];
  fixes: Array<{ id: string; addresses: string[] }>;
  runCommandCalls: number;
  armCalls: number;
  elapsedMs: number;
  vm: { id: string; name: string; powerState: string; agentStatus: string; osType: string };
}

export interface Incident {
  id: string;
  createdAt: string;
  updatedAt: string;
  state: IncidentState;
  lang: Lang;
  symptom: Symptom;
  requester: Person;
  conversation: Partial<ConversationReference>;
  vmId?: string;
  vmName?: string;
  /** resource ids offered on the pick card: a pick must be one of them */
  candidates: string[];
  /** the message holding the incident's live card, updated in place */
  cardActivityId?: string;
  diagnosis?: DiagnosisRecord;
  error?: { code: string; params: Record<string, string | number> };
}

export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  incidentId?: string;
  vmId?: string;
  details?: Record<string, unknown>;
}

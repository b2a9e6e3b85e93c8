import type { EffectiveNsg } from '../azure/gateway';
import type { Lang } from '../i18n';
import type { DiagnosticFacts } from '../runbook/diagnostic-output';
import type { FixPlan } from '../runbook/plan';
import type { RepairStepId } from '../runbook/repair-plan';
import type { Symptom } from '../runbook/symptoms';

/** What the user sees (the classification and what each points at: services/runbook/symptoms.ts). */
export type { Symptom };

/**
 * Where the chat layer can reach a conversation again (proactive messages, card updates): a
 * JSON-serialisable record the domain stores and hands back as it got it, never reading inside.
 * Only bot/ and dialogs/ know its shape (today botbuilder's ConversationReference, converted in
 * dialogs/chat-address.ts), so the stores keep the same JSON and a move to another chat SDK
 * stays out of the domain.
 */
export type ChatAddress = { readonly [field: string]: unknown };

export type IncidentState =
  | 'picking' // several VMs matched: waiting for the requester to choose
  | 'awaiting-consent' // VM known: waiting for consent to the read-only diagnosis
  | 'diagnosing'
  | 'diagnosed'
  | 'blocked' // a blocker (not Windows, not running, agent not Ready) stopped the diagnosis
  | 'failed'
  | 'fixing' // an approved fix runs
  | 'resolved' // the verification diagnosis found no problem left
  | 'closed' // nothing to do: the VM was healthy, or a newer diagnosis of it by the same person took over (`closedReason`)
  | 'cancelled';

/** Why an incident closed without a fix: what `closed` means to the person who reported it. */
export type ClosedReason = 'healthy' | 'superseded';

export const OPEN_STATES: IncidentState[] = ['picking', 'awaiting-consent', 'diagnosing', 'diagnosed', 'blocked', 'fixing', 'failed'];

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
  /** what the script saw (validated, < 4 KB) and the NIC's effective rules: fix parameters are checked against them */
  facts?: DiagnosticFacts | null;
  nsgs?: EffectiveNsg[] | null;
}

export interface Incident {
  id: string;
  createdAt: string;
  updatedAt: string;
  state: IncidentState;
  lang: Lang;
  /** the requester's time zone (IANA) as their client sent it; absent in older rows: UTC */
  tz?: string;
  symptom: Symptom;
  requester: Person;
  conversation: ChatAddress;
  vmId?: string;
  vmName?: string;
  /** resource ids offered on the pick card: a pick must be one of them */
  candidates: string[];
  /** the message holding the incident's live card, updated in place */
  cardActivityId?: string;
  diagnosis?: DiagnosisRecord;
  /** findings before the first fix, for the verification card */
  firstDiagnosis?: DiagnosisRecord;
  /** the OS disk snapshot taken before the incident's first change */
  snapshotId?: string;
  /** while `diagnosing`: the running instance renews this; a diagnosis past it was abandoned (a crash) */
  diagnosisLeaseUntil?: string;
  /** set, atomically while `diagnosing`, just before the diagnostic Run Command is sent: after it a cancel cannot recall it */
  runCommandSentAt?: string;
  /** with `closed`: why (older rows have no such state) */
  closedReason?: ClosedReason;
  /** with `closed` as superseded: the newer incident of the same VM and person */
  supersededBy?: string;
  error?: { code: string; params: Record<string, string | number> };
  /** offline-repair (issue #15): the original OS disk, kept after the swap until a person deletes it */
  keptOsDisk?: { id: string; name: string; jobId: string };
}

/** `withdrawn`: its incident was cancelled before anyone decided (nothing ran) */
export type ApprovalState = 'pending' | 'approved' | 'rejected' | 'expired' | 'withdrawn';

/** Where a copy of an approval card was posted, so every copy can be updated. */
export interface CardPlacement {
  conversation: ChatAddress;
  activityId: string;
  audience: 'requester' | 'approvers';
  /** posted by an `approvals` listing: the next listing in that conversation replaces it */
  listing?: boolean;
}

/**
 * A request to run one fix on one VM with exact parameters. The card carries only its id;
 * everything that matters is bound here, and `paramsHash` seals it.
 */
export interface Approval {
  id: string;
  incidentId: string;
  vmId: string;
  vmName: string;
  fixId: string;
  params: Record<string, unknown>;
  paramsHash: string;
  requester: Person;
  lang: Lang;
  /** the requester's time zone, for the copies the requester sees; absent in older rows: UTC */
  tz?: string;
  state: ApprovalState;
  createdAt: string;
  expiresAt: string;
  decidedBy?: Person;
  decidedAt?: string;
  /** the approver's optional reason for a rejection, told to the requester */
  reason?: string;
  jobId?: string;
  cards: CardPlacement[];
  /** what exactly will run (script and parameters, NSG rules before -> after, restart), sealed in `paramsHash` */
  plan?: FixPlan;
  /** how many different approvers must approve (2: the two-person rule); sealed in `paramsHash` */
  approvalsRequired?: number;
  /** the approvals given so far while more are required (each approver once) */
  votes?: ApprovalVote[];
  /** the findings the fix addresses, with their evidence, as the diagnosis saw them at request time (shown on the card; not sealed) */
  findings?: FindingRecord[];
}

export interface ApprovalVote {
  by: Person;
  at: string;
}

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'interrupted';
/** offline-repair (issue #15): the steps of REPAIR_STEPS in order, then `rollback` when a step failed */
export type JobStepName = 'precheck' | 'snapshot' | 'fix' | 'nsg' | 'restart' | 'verify' | RepairStepId | 'rollback';
export type JobStepState = 'pending' | 'running' | 'done' | 'skipped' | 'failed';

export interface JobStep {
  name: JobStepName;
  state: JobStepState;
  at?: string;
  /** what the step produced (snapshot id, the script's status JSON, the error code) */
  detail?: Record<string, unknown>;
}

export interface Job {
  id: string;
  approvalId: string;
  incidentId: string;
  vmId: string;
  vmName: string;
  fixId: string;
  params: Record<string, unknown>;
  paramsHash: string;
  lang: Lang;
  state: JobState;
  steps: JobStep[];
  createdAt: string;
  updatedAt: string;
  /** the running instance renews this while it works; a running job past it was abandoned */
  leaseUntil?: string;
  /** the approval's plan and number of approvers (copied: the job's hash must match the approval's) */
  plan?: FixPlan;
  approvalsRequired?: number;
  /** `already-fixed`: the precheck found nothing left to fix and nothing was changed */
  result?: { gone: string[]; remaining: string[]; appeared: string[]; outcome?: 'already-fixed'; keptOsDisk?: { id: string; name: string } };
  error?: { code: string; params: Record<string, string | number>; step?: JobStepName };
}

/** Someone the bot has talked to: how to reach them proactively, and their Teams id for refresh.userIds. */
export interface KnownUser {
  id: string;
  aadObjectId?: string;
  name?: string;
  personal?: ChatAddress;
  /** the language of their client, for messages that are not answers (e.g. the approvals channel is gone) */
  lang?: Lang;
  /** their client's time zone (IANA), for the cards posted to them */
  tz?: string;
  updatedAt: string;
}

export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  incidentId?: string;
  vmId?: string;
  details?: Record<string, unknown>;
}

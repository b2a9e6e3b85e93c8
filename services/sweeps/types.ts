import type { SweepScopeFilter } from '../azure/gateway';

/**
 * Fleet sweeps (issue #16): the digest one sweep produces, shared by the sweep service
 * (services/sweeps), the digest card (cards/) and the CLI (`rdp-doctor sweep --json`).
 */
export type SweepKind = 'fast' | 'deep';
export type SweepState = 'running' | 'done' | 'failed' | 'cancelled';

export interface SweepVmResult {
  vmId: string;
  vmName: string;
  resourceGroup: string;
  subscriptionId: string;
  /** finding ids (CONTRACTS.md §1 / §1b) found on this VM, worst first */
  findings: string[];
  /** the worst severity among them (findings.ts Severity: 'blocker' | 'critical' | 'warning' | 'info'), or null when clean */
  worst: string | null;
  /** why the VM was not checked (deep sweep): 'not-running', 'agent-not-ready', 'busy', 'checked-recently', 'error:<code>' */
  skipped?: string;
}

export interface SweepDigest {
  id: string;
  kind: SweepKind;
  state: SweepState;
  scope: SweepScopeFilter;
  startedAt: string;
  endedAt?: string;
  /** who started it ('schedule' for the scheduler) */
  startedBy: string;
  total: number;
  done: number;
  /** count of VMs per finding id */
  counts: Record<string, number>;
  /** the worst VMs first (bounded: the card shows a few, the JSON all) */
  vms: SweepVmResult[];
  /** VMs with at least one finding (the card's "and N more" when `vms` is bounded); absent: counted from `vms` */
  affected?: number;
  /** ARM calls made, Run Commands made (for the bench and the card's footer) */
  armCalls: number;
  runCommands: number;
  // --- sweep-core (additive) ---
  /** VMs not checked by the deep sweep, per reason ('not-running', 'agent-not-ready', 'busy', 'checked-recently', 'error'); their fast findings are counted all the same */
  skipped?: Record<string, number>;
  /** progress: the expected end (ISO time) from the rate so far, while running */
  eta?: string;
  /** why the sweep failed (state 'failed'): a domain error code */
  error?: string;
  // --- end sweep-core ---
}

export interface SweepRequest {
  kind: SweepKind;
  scope: SweepScopeFilter;
  /** the approver's user id, or 'schedule' */
  startedBy: string;
  /** where the digest card goes (the approvals channel by default); opaque to the service */
  replyTo?: string;
}

/** Told about a sweep's progress (the digest card is updated from this) and its end. */
export interface SweepObserver {
  progress(digest: SweepDigest): Promise<void>;
  finished(digest: SweepDigest): Promise<void>;
}

/** What the chat, the scheduler and the CLI use (services/sweeps implements it). */
export interface Sweeps {
  /** Validates the scope (within the configured one), stores the sweep and starts it; returns the first digest (done = 0). */
  start(request: SweepRequest): Promise<SweepDigest>;
  get(sweepId: string): Promise<SweepDigest | null>;
  /** the newest sweeps first */
  list(limit: number): Promise<SweepDigest[]>;
}

/**
 * The fast sweep reads in bulk (ARM reads only, no Run Command): the VM pages, the NIC and NSG
 * pages (Resource Graph) and each subscription's status pages (listAll statusOnly=true); then
 * evaluates each VM with the same NSG evaluation and blockers as a diagnosis. The deep sweep
 * runs the read-only diagnosis on running VMs with a ready agent.
 */

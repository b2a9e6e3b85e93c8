import { z } from 'zod';
import type { FixContext, FixRun } from '../fixes';
import { parseParams } from './kit';
import type { Cause } from './types';

const snapshotName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,78}[A-Za-z0-9_]$/);
const snapshotParams = z.strictObject({ snapshotName: snapshotName.optional() });

export function defaultSnapshotName(ctx: FixContext, unique?: string): string {
  const stamp = (ctx.now ?? new Date()).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  // the runner's snapshot before a fix carries its job's id: two jobs on one VM within the same
  // second would otherwise name the same snapshot, and Azure answers a PUT of an existing snapshot
  // as an update (no new copy of the disk)
  const tag = unique ? `-${unique.replace(/[^A-Za-z0-9]/g, '').slice(0, 8)}` : '';
  const vm = (ctx.vm?.name ?? 'vm').replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, tag ? 39 : 50);
  return `${vm}-osdisk-rdpdoctor-${stamp}${tag}`.replace(/^[^A-Za-z0-9]+/, 'x').slice(0, 80);
}

/** A fix without a finding: an OS disk snapshot on request (the runner also takes one before a fix that changes the disk). */
export const snapshot = {
  name: 'snapshot',
  findings: [],
  check: () => [],
  fixes: [
    {
      id: 'snapshot-os-disk',
      addresses: [],
      risk: 'low',
      changesDisk: false,
      needsRestart: false,
      kind: 'arm',
      params: snapshotParams,
      noUndoReason: 'snapshot-os-disk',
      build(params, _facts, ctx): FixRun {
        const p = parseParams(snapshotParams, params, 'snapshot-os-disk');
        return { kind: 'arm', fixId: 'snapshot-os-disk', arm: { op: 'snapshotOsDisk', snapshotName: p.snapshotName ?? defaultSnapshotName(ctx) }, needsRestart: false };
      },
    },
  ],
} as const satisfies Cause;

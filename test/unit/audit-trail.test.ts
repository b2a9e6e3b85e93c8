import { AuditTrail, recordAudit, SYSTEM_ACTOR } from '../../services/incidents/audit';
import type { AuditEntry } from '../../services/incidents/model';

/** The one audit helper writes entries of the shape every entry has had: who (Entra id first), what, about which incident and VM. */
function log() {
  const entries: AuditEntry[] = [];
  return { entries, store: { audit: { append: async (e: AuditEntry) => void entries.push(e) } } as never };
}
const at = new Date('2026-11-30T12:00:00Z');

test('a person is named by their Entra object id, else their channel id; the bot by its own name', async () => {
  const { entries, store } = log();
  await recordAudit(store, at, { id: '29:abc', aadObjectId: 'aad-1', name: 'Alex' }, 'incident.opened', { incidentId: 'i1', vmId: '/vm' }, { symptom: 'internal-error' });
  await recordAudit(store, at, { id: '29:def' }, 'incident.rateLimited', null, {});
  await recordAudit(store, at, SYSTEM_ACTOR, 'job.started', { incidentId: 'i1', vmId: '/vm' }, { jobId: 'j1' });
  expect(entries).toEqual([
    { at: '2026-11-30T12:00:00.000Z', actor: 'aad-1', action: 'incident.opened', incidentId: 'i1', vmId: '/vm', details: { symptom: 'internal-error' } },
    { at: '2026-11-30T12:00:00.000Z', actor: '29:def', action: 'incident.rateLimited', details: {} },
    { at: '2026-11-30T12:00:00.000Z', actor: 'rdp-doctor', action: 'job.started', incidentId: 'i1', vmId: '/vm', details: { jobId: 'j1' } },
  ]);
  // an entry about no incident has no incidentId or vmId keys at all (as before the helper)
  expect(Object.keys(entries[1])).toEqual(['at', 'actor', 'action', 'details']);
});

test('the chat layer records through AuditTrail with the same shape', async () => {
  const { entries, store } = log();
  await new AuditTrail(store, () => at).record({ id: '29:abc', aadObjectId: 'aad-1' }, 'approvals.channel.set', null, { conversationId: '19:c' });
  expect(entries).toEqual([{ at: '2026-11-30T12:00:00.000Z', actor: 'aad-1', action: 'approvals.channel.set', details: { conversationId: '19:c' } }]);
});

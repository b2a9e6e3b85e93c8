import { startHarness, type Harness } from '../support/bot-harness';
import { cardText } from '../support/connector';
import { actionData, activity, cardOf, diagnoseAs, invoke, type User } from '../support/journey';
import type { FleetVm } from '../../services/simulator/fleet';

/**
 * Every fault the simulator can inject, during a diagnosis and during a fix: the user hears a
 * clear sentence, nothing waits past its bound, and the records say what happened.
 */
const user: User = { userId: '29:end-user', aadObjectId: '00000000-0000-0000-0000-0000000000a1', name: 'Alex User', conversationId: 'a:faults' };
const approver: User = { userId: '29:approver', aadObjectId: '00000000-0000-0000-0000-0000000000a2', name: 'Helpdesk Hana', conversationId: 'a:faults-approver' };

let h: Harness;
beforeAll(async () => {
  h = await startHarness(
    // Azure's faults with the gateway's timings cut to fractions of a second (a Run Command times out
    // after 1.5 s): the scripts are emulated here, so what is measured is the gateway, not PowerShell
    { APPROVER_IDS: approver.aadObjectId, RATE_LIMIT_DIAGNOSES_PER_HOUR: '100', SIM_SCRIPTS: 'emulate' },
    {
      gatewayTimings: {
        pollIntervalInMs: 50,
        runCommandTimeoutInMs: 1500,
        conflictRetries: 2,
        conflictRetryDelayInMs: 100,
        retryDelayInMs: 50,
        maxRetryDelayInMs: 200,
        agentPollIntervalInMs: 50,
      },
    },
  );
  await h.post(activity(h, approver, { type: 'message', text: 'help' }));
});
afterAll(async () => {
  await h.close();
});

const vm = (name: string): FleetVm => h.app.azure.simulator!.fleet.vms.find((v) => v.name === name)!;
const ops = (name: string) => h.app.azure.simulator!.operations().filter((o) => o.vm === name && o.kind !== 'read');

async function diagnoseExpectingFailure(name: string, conversationId: string) {
  const u = { ...user, conversationId };
  const mark = h.mark();
  await h.post(activity(h, u, { type: 'message', text: `internal error on ${name}` }));
  const consent = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === conversationId && /diagnose\.start/.test(JSON.stringify(cardOf(c) ?? ''))));
  const { incidentId } = actionData(cardOf(consent), 'diagnose.start');
  const started = Date.now();
  await h.post(activity(h, u, invoke('diagnose.start', { incidentId }, consent.activityId)));
  const failed = await h.connector.waitFor((all) => all.find((c) => c.kind === 'update' && c.activityId === consent.activityId && /failed/.test(cardText(cardOf(c)))), 20000);
  return { incidentId, text: cardText(cardOf(failed)), elapsed: Date.now() - started };
}

describe('faults during a diagnosis', () => {
  it.each([
    ['conflict', 'vm-healthy-01', /Another Run Command is already running on vm-healthy-01/],
    ['agent-error', 'vm-exposed-02', /The VM agent on vm-exposed-02 is not responding/],
    ['timeout', 'vm-portclash-03', /did not finish in time \(\d+ s\)/],
  ] as const)('Run Command %s: a clear message, bounded, recorded', async (fault, name, message) => {
    vm(name).faults.runCommand = fault;
    try {
      const r = await diagnoseExpectingFailure(name, `a:fault-${fault}`);
      expect(r.text).toMatch(/The diagnosis of .* failed/);
      expect(r.text).toMatch(message);
      expect(r.elapsed).toBeLessThan(15000);
      const incident = await h.app.store.incidents.get(r.incidentId);
      expect(incident?.state).toBe('failed');
      const audit = await h.app.store.audit.list({ incidentId: r.incidentId });
      expect(audit.map((a) => a.action)).toEqual(['incident.opened', 'diagnosis.started', 'diagnosis.failed']);
      expect(audit[2].details).toMatchObject({ code: fault === 'agent-error' ? 'agent-not-ready' : fault });
    } finally {
      vm(name).faults.runCommand = 'none';
    }
  });

  it.each(['throttle', 'server-error'] as const)('ARM %s: retried within bounds, and the diagnosis completes', async (fault) => {
    vm('vm-tlsoff-06').faults.arm = fault;
    try {
      const { incidentId } = await diagnoseAs(h, { ...user, conversationId: `a:arm-${fault}` }, 'internal error on vm-tlsoff-06');
      expect((await h.app.store.incidents.get(incidentId))?.diagnosis?.findings.map((f) => f.id)).toEqual(['tls-disabled']);
    } finally {
      vm('vm-tlsoff-06').faults.arm = 'none';
    }
  });
});

it('a failed diagnosis offers "Try again", which runs it once more when the fault is gone', async () => {
  vm('vm-machinekeys-05').faults.runCommand = 'agent-error';
  const r = await diagnoseExpectingFailure('vm-machinekeys-05', 'a:retry');
  expect(r.text).toContain('[Try again]');
  vm('vm-machinekeys-05').faults.runCommand = 'none';
  const again = await h.post(activity(h, { ...user, conversationId: 'a:retry' }, invoke('diagnose.start', { incidentId: r.incidentId })));
  expect(again.status).toBe(200);
  await h.connector.waitFor(async () => ((await h.app.store.incidents.get(r.incidentId))?.state === 'diagnosed' ? true : undefined));
  expect((await h.app.store.incidents.get(r.incidentId))?.diagnosis?.findings.map((f) => f.id)).toEqual(['machinekeys-acl-broken', 'cert-key-errors-logged']);
});

describe('faults during a fix', () => {
  it.each([
    ['agent-error', /The VM agent on vm-certexpired-04 is not responding/],
    ['conflict', /Another Run Command is already running on vm-certexpired-04/],
    ['timeout', /did not finish in time/],
  ] as const)('Run Command %s: the plan stops, says what was done, runs nothing after', async (fault, message) => {
    const u = { ...user, conversationId: `a:fixfault-${fault}` };
    const { incidentId } = await diagnoseAs(h, u, 'internal error on vm-certexpired-04');
    const before = ops('vm-certexpired-04').length;
    const mark = h.mark();
    await h.post(activity(h, u, invoke('fix.request', { incidentId, fixId: 'renew-rdp-cert' })));
    const copy = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === approver.conversationId && /approval\.refresh/.test(JSON.stringify(cardOf(c) ?? ''))));
    const { approvalId } = actionData(cardOf(copy), 'approval.refresh');
    vm('vm-certexpired-04').faults.runCommand = fault;
    try {
      await h.post(activity(h, approver, invoke('approval.approve', { approvalId })));
      const notice = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === u.conversationId && /failed:/.test(c.activity.text ?? '')), 20000);
      expect(notice.activity.text).toMatch(message);
      const approval = await h.app.store.approvals.get(approvalId);
      const job = await h.app.store.jobs.get(approval!.jobId!);
      expect(job).toMatchObject({ state: 'failed', error: { step: 'fix' } });
      expect(job!.steps.map((s) => `${s.name}:${s.state}`)).toEqual(['precheck:done', 'snapshot:done', 'fix:failed']); // the run-time check, then a new incident's own snapshot
      expect((await h.app.store.incidents.get(incidentId))?.state).toBe('failed');
      const audit = (await h.app.store.audit.list({ incidentId })).map((a) => a.action);
      expect(audit.slice(-2)).toEqual([expect.stringMatching(/job\.(started|step\.snapshot)/), 'job.failed']);
      // nothing after the failed step: no restart, no verification Run Command
      expect(ops('vm-certexpired-04').slice(before).filter((o) => o.kind === 'restart' || o.scriptId === 'diagnose')).toEqual([]);
      const card = await h.connector.waitFor((all) => all.slice(mark).reverse().find((c) => c.kind === 'update' && c.conversationId === u.conversationId && /stopped at/.test(cardText(cardOf(c)))));
      expect(cardText(cardOf(card))).toMatch(/The fix stopped at: The fix itself/);
    } finally {
      vm('vm-certexpired-04').faults.runCommand = 'none';
    }
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../bot/config';
import type { AzureGateway, VmDetails } from '../../services/azure/gateway';
import { IncidentService, type DiagnosisObserver } from '../../services/incidents/incident-service';
import { JobRunner } from '../../services/incidents/jobs';
import type { Person } from '../../services/incidents/model';
import { silentLogger } from '../../services/log';
import { openStore } from '../../services/store';
import type { AppStore } from '../../services/store/store';
import { conversationIdOf } from '../../dialogs/chat-address';

/**
 * A cancel that comes while the diagnosis is still in its precheck (the ARM reads): the diagnostic
 * Run Command is never sent, the incident says cancelled, and no findings or failure is shown.
 * The gateway is a double whose VM read waits until the test lets it go, so the order is certain.
 */
const VM_ID = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-a';
const vm: VmDetails = {
  id: VM_ID,
  name: 'vm-a',
  resourceGroup: 'rg',
  subscriptionId: '00000000-0000-0000-0000-000000000001',
  location: 'westeurope',
  osType: 'Windows',
  powerState: 'running',
  provisioningState: 'Succeeded',
  agentStatus: 'Ready',
  bootDiagnosticsEnabled: false,
} as VmDetails;
const alex: Person = { id: '29:alex', name: 'Alex', aadObjectId: '00000000-0000-0000-0000-0000000000a1' };

let dir: string;
let store: AppStore;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rdp-doctor-cancel-'));
  store = await openStore(loadConfig({ DATA_DIR: dir }), silentLogger);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function setup() {
  let release!: () => void;
  const vmRead = new Promise<void>((r) => (release = r));
  let readStarted!: () => void;
  const reading = new Promise<void>((r) => (readStarted = r));
  const runScripts: string[] = [];
  const gateway = {
    async getVm() {
      readStarted();
      await vmRead;
      return vm;
    },
    async getEffectiveNsgRules() {
      return [];
    },
    async runScript(_id: string, o: { scriptId: string }) {
      runScripts.push(o.scriptId);
      return { stdout: '{}', stderr: '' };
    },
  } as unknown as AzureGateway;
  const jobs = new JobRunner(silentLogger);
  const incidents = new IncidentService({ store, gateway, jobs, logger: silentLogger });
  const seen: string[] = [];
  const observer: DiagnosisObserver = {
    phase: async (_i, p) => void seen.push(`phase:${p}`),
    done: async () => void seen.push('done'),
    failed: async () => void seen.push('failed'),
    cancelled: async (_i, sent) => void seen.push(`cancelled:${sent}`),
  };
  incidents.useObserver(observer);
  return { incidents, jobs, observer, seen, runScripts, release, reading };
}

it('a diagnosis cancelled before its Run Command never sends it, and shows no result', async () => {
  const { incidents, jobs, observer, seen, runScripts, release, reading } = setup();
  const opened = await incidents.open({ requester: alex, conversation: { conversation: { id: 'a:1' } } as never, lang: 'en', symptom: 'internal-error', candidates: [vm] });
  expect(await incidents.startDiagnosis(opened.id, alex, observer)).not.toBeNull();
  await reading; // the precheck's VM read is under way
  const stopped = await incidents.cancelActive(alex, (a) => conversationIdOf(a) === 'a:1');
  expect(stopped.map((s) => [s.incident.id, s.runCommandSent])).toEqual([[opened.id, false]]);
  release();
  expect(await jobs.drain(10000)).toBe(true);

  expect(runScripts).toEqual([]);
  expect((await store.incidents.get(opened.id))?.state).toBe('cancelled');
  expect(seen).toEqual(['phase:precheck', 'cancelled:false']);
  const actions = (await store.audit.list({ incidentId: opened.id })).map((a) => a.action);
  expect(actions).toEqual(['incident.opened', 'diagnosis.started', 'incident.cancelled', 'diagnosis.stopped']);
  // the old consent card starts nothing: the incident stays cancelled
  expect(await incidents.startDiagnosis(opened.id, alex, observer)).toBeNull();
  expect(await jobs.drain(10000)).toBe(true);
  expect(runScripts).toEqual([]);
});

it('without a cancel the same double sends the one diagnostic Run Command (the test can tell)', async () => {
  const { incidents, jobs, observer, runScripts, release } = setup();
  const opened = await incidents.open({ requester: alex, conversation: { conversation: { id: 'a:1' } } as never, lang: 'en', symptom: 'internal-error', candidates: [vm] });
  await incidents.startDiagnosis(opened.id, alex, observer);
  release();
  await jobs.drain(10000);
  expect(runScripts).toEqual(['diagnose']);
});

it('cancel only stops the person\'s own incidents in that conversation; a newer incident of the same VM supersedes the older', async () => {
  const { incidents, release } = setup();
  release();
  const other: Person = { id: '29:bob', aadObjectId: '00000000-0000-0000-0000-0000000000b2' };
  const vm2 = { ...vm, id: VM_ID.replace('vm-a', 'vm-b'), name: 'vm-b' };
  const older = await incidents.open({ requester: alex, conversation: { conversation: { id: 'a:1' } } as never, lang: 'en', symptom: 'other', candidates: [vm] });
  const mine = await incidents.open({ requester: alex, conversation: { conversation: { id: 'a:1' } } as never, lang: 'en', symptom: 'other', candidates: [vm] });
  const elsewhere = await incidents.open({ requester: alex, conversation: { conversation: { id: 'a:2' } } as never, lang: 'en', symptom: 'other', candidates: [vm2] });
  const bobs = await incidents.open({ requester: other, conversation: { conversation: { id: 'a:1' } } as never, lang: 'en', symptom: 'other', candidates: [vm] });
  expect(await store.incidents.get(older.id)).toMatchObject({ state: 'closed', closedReason: 'superseded', supersededBy: mine.id });
  expect((await incidents.cancelActive(alex, (a) => conversationIdOf(a) === 'a:1')).map((s) => s.incident.id)).toEqual([mine.id]);
  expect((await store.incidents.get(bobs.id))?.state).toBe('awaiting-consent');
  expect((await store.incidents.get(elsewhere.id))?.state).toBe('awaiting-consent');
  expect((await incidents.cancelActive(alex, (a) => conversationIdOf(a) === 'a:1'))).toEqual([]);
});

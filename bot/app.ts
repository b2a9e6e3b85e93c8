import { UserState } from 'botbuilder';
import { DialogScopeState } from './dialog-state';
import type { CloudAdapter } from 'botbuilder';
import { registerDiagnosisVerbs } from '../dialogs/diagnosis-verbs';
import { FixPresenter } from '../dialogs/fix-presenter';
import { registerFixVerbs } from '../dialogs/fix-verbs';
import { createTaskModules } from '../dialogs/task-modules';
import { helpdeskCommands } from '../dialogs/helpdesk-commands';
import { registerHistoryVerbs } from '../dialogs/history';
import { registerSweepVerbs, sweepCommands } from '../dialogs/sweep-commands';
import { SweepPresenter } from '../dialogs/sweep-presenter';
import { recordUser } from '../dialogs/user-directory';
import { ApprovalService } from '../services/incidents/approvals';
import { FixRunner, type FixRunnerDeps } from '../services/incidents/fix-runner';
import { gatewayPlanner } from '../services/incidents/planner';
import { RdpDoctorBot } from './bot';
import { createAdapter } from './adapter';
import { AdapterNotifier } from './notifier';
import { createChannelTransport, type ChannelTransport, type RetrySettings } from './channel-transport';
import { ConversationPacer, type BucketSpec } from './pacing';
import { createHttpServer, type HttpServer } from './server';
import { helpdeskTab } from './tab/routes';
import type { MessageExtensionHandlers, RouteRegistrar, TaskModuleHandlers } from './surfaces';
import { openApproverReach } from './graph-reach'; // issue #17 (graph)
import { assertBotExposure, publicBaseUrl, type Config } from './config';
import { IntakeDialog } from '../dialogs/intake-dialog';
import { ConversationLifecycle } from '../dialogs/lifecycle';
import { MainDialog } from '../dialogs/main-dialog';
import { createMessageExtension } from '../dialogs/message-extension';
import { VerbRouter } from '../dialogs/verbs';
import type { AzureGateway } from '../services/azure/gateway';
import { IncidentService } from '../services/incidents/incident-service';
import { parseSelfServiceScope } from '../services/incidents/self-service';
import { JobRunner } from '../services/incidents/jobs';
import type { Logger } from '../services/log';
import { openStore } from '../services/store';
import type { AppStore } from '../services/store/store';
import { openAzure, type AzureAccess, type GatewayTimings } from '../services/wiring/azure';
import { openSweeps } from '../services/sweeps/wiring';
import type { SweepService } from '../services/sweeps/service';

export interface App {
  config: Config;
  http: HttpServer;
  adapter: CloudAdapter;
  store: AppStore;
  azure: AzureAccess;
  jobs: JobRunner;
  incidents: IncidentService;
  approvals: ApprovalService;
  runner: FixRunner;
  channel: ChannelTransport;
  /** fleet sweeps (issue #16, docs/sweeps.md); null when the gateway has no bulk reads (a test double) */
  sweeps: SweepService | null;
  /** Listens on config.PORT (0 = a free port) and returns the port. */
  start(): Promise<number>;
  /** Graceful: stop accepting, finish running turns and jobs (bounded), close storage and the simulator. */
  stop(timeoutInMs?: number): Promise<void>;
}

export interface AppOverrides {
  gateway?: AzureGateway;
  gatewayTimings?: GatewayTimings;
  fixRunner?: Partial<Pick<FixRunnerDeps, 'vmBusyWaitInMs' | 'leaseInMs' | 'repair'>>;
  expirySweepInMs?: number;
  /** the channel client's back-off (tests make it short) */
  channelRetry?: Partial<RetrySettings>;
  /** the per-conversation buckets (default: Teams' limits; [] paces nothing, for tests that flood one conversation) */
  channelBuckets?: BucketSpec[];
}

async function expireApprovals(approvals: ApprovalService, presenter: FixPresenter): Promise<void> {
  for (const a of await approvals.expireDue()) {
    await presenter.updateCopies(a.id);
    await presenter.tellRequester(a, 'approval.expiredNotice', {});
  }
}

/** ALLOWED_TENANT_IDS, else the bot's own tenant; no check without an app id (local development) or a tenant. */
export function allowedTenants(config: Config): string[] | null {
  if (!config.MicrosoftAppId) return null;
  const ids = config.ALLOWED_TENANT_IDS.length ? config.ALLOWED_TENANT_IDS : config.MicrosoftAppTenantId ? [config.MicrosoftAppTenantId] : [];
  return ids.length ? ids.map((x) => x.toLowerCase()) : null;
}

/** The composition root: builds storage, Azure access, services and dialogs, and injects them. */
export async function createApp(config: Config, logger: Logger, overrides: AppOverrides = {}): Promise<App> {
  assertBotExposure(config);
  const store: AppStore = await openStore(config, logger);
  const azure = await openAzure(config, logger, overrides.gateway, overrides.gatewayTimings);
  let listeningPort = config.PORT;
  const baseUrl = () => publicBaseUrl(config, listeningPort);
  try {
    const conversationState = new DialogScopeState(store.botStorage);
    const userState = new UserState(store.botStorage);
    // the channel client finds a conversation gone before the lifecycle exists: bound late
    let lifecycle: ConversationLifecycle | undefined;
    // the tenants the bot serves: the same list for the chat endpoint and the helpdesk tab's API
    const tenants = allowedTenants(config);
    const channel = createChannelTransport({
      logger,
      retry: overrides.channelRetry,
      pacer: overrides.channelBuckets ? new ConversationPacer(overrides.channelBuckets) : undefined,
      onGone: (conversationId, code) =>
        void lifecycle?.conversationGone(conversationId, 'writes-blocked').catch((e: unknown) => logger.warn({ err: e, conversationId, code }, 'could not forget a gone conversation')),
    });
    const adapter = createAdapter(config, logger, conversationState, channel.httpClient);
    const jobs = new JobRunner(logger);
    const notifier = new AdapterNotifier(adapter, config.MicrosoftAppId, logger);
    const approverSet = new Set(config.APPROVER_IDS.map((x) => x.toLowerCase()));
    const incidents = new IncidentService({
      store,
      gateway: azure.gateway,
      jobs,
      logger,
      diagnosesPerHour: config.RATE_LIMIT_DIAGNOSES_PER_HOUR,
      searchesPerHour: config.RATE_LIMIT_SEARCHES_PER_HOUR,
      incidentsPerHour: config.RATE_LIMIT_INCIDENTS_PER_HOUR,
      leaseInMs: config.JOB_LEASE_SECONDS * 1000,
      selfService: { scope: parseSelfServiceScope(config.SELF_SERVICE_SCOPE), isApprover: (p) => approverSet.has((p.aadObjectId ?? '').toLowerCase()) },
    });
    const approvals = new ApprovalService({
      store,
      logger,
      policy: {
        approverIds: config.APPROVER_IDS,
        allowSelfApproval: config.ALLOW_SELF_APPROVAL,
        ttlMinutes: config.APPROVAL_TTL_MINUTES,
        twoPerson: config.TWO_PERSON_FIXES,
        fixRequestsPerHour: config.RATE_LIMIT_FIX_REQUESTS_PER_HOUR,
      },
      planner: gatewayPlanner(azure.gateway, store),
    });
    lifecycle = new ConversationLifecycle({ store, approvals, notifier, logger, markGone: (id, reason) => channel.markGone(id, reason) });
    const presenter = new FixPresenter({ store, approvals, notifier, logger, allowSelfApproval: config.ALLOW_SELF_APPROVAL, publicBaseUrl: baseUrl });
    const runner = new FixRunner({
      store,
      gateway: azure.gateway,
      jobs,
      logger,
      observer: presenter,
      snapshotBeforeFix: config.SNAPSHOT_BEFORE_FIX,
      leaseInMs: config.JOB_LEASE_SECONDS * 1000,
      ...overrides.fixRunner,
    });

    // --- fleet sweeps, service (issue #16, sweep-core): approvers only; SWEEP_SCHEDULE starts fast sweeps ---
    // sweep-spread: with STORAGE=azure a deep sweep's VMs are shared with the other instances' workers
    const sweepService = openSweeps(config, store, azure, logger, { isApprover: (id) => approverSet.has(id.toLowerCase()), spreadAcrossInstances: true });
    // --- end fleet sweeps, service ---

    const verbs = new VerbRouter(logger);
    const diagnosisObserver = registerDiagnosisVerbs(verbs, {
      incidents,
      notifier,
      logger,
      demoMode: config.demoMode,
      publicBaseUrl: baseUrl,
      isApprover: (p) => approvals.isApprover(p),
    });
    registerFixVerbs(verbs, { jobs, incidents, approvals, runner, presenter });
    registerHistoryVerbs(verbs, { store, approvals });
    // --- fleet sweeps, chat side (issue #16, sweep-ui): the digest card is the sweep service's observer ---
    const sweepPresenter = new SweepPresenter({ store, notifier, logger, approverIds: () => approvals.approverIds() });
    // every sweep's progress and end, scheduled ones included
    sweepService?.sweeps.setObserver(sweepPresenter);
    const sweepChat = { sweeps: () => sweepService?.sweeps ?? undefined, approvals, presenter: sweepPresenter, store };
    registerSweepVerbs(verbs, { ...sweepChat, incidents, diagnosisObserver });
    // --- end of fleet sweeps, chat side ---
    const mainDialog = new MainDialog({
      demoMode: config.demoMode,
      intake: new IntakeDialog(incidents, config.demoMode, baseUrl),
      commands: { ...helpdeskCommands({ store, incidents, approvals, presenter }), ...sweepCommands(sweepChat) },
    });
    // --- Teams surfaces (issue #17): each part fills its own line, the comments keep them apart ---
    // the message extension: search a VM, "Diagnose RDP" on a message (msgext)
    const messageExtension: MessageExtensionHandlers | undefined = createMessageExtension(verbs, { incidents, notifier, store, logger, publicBaseUrl: baseUrl });
    // the dialogs (task modules) opened from the findings and approval cards (dialogs)
    const taskModules: TaskModuleHandlers | undefined = createTaskModules({ incidents, approvals, presenter, verbs, notifier, logger });
    // the helpdesk tab's page and API on this server (tab)
    const routes: RouteRegistrar[] = [
      helpdeskTab({ config, logger, store, incidents, approvals, presenter, jobs, runner, sweepPresenter, publicBaseUrl: baseUrl, allowedTenantIds: tenants }),
    ];
    // reaching approvers who never wrote to the bot: Graph installs the app for them (graph)
    const approverReach = await openApproverReach(config, azure, { store, approvals, presenter, notifier, jobs, logger });
    // --- end Teams surfaces ---
    const bot = new RdpDoctorBot({
      conversationState,
      userState,
      mainDialog,
      verbs,
      logger,
      demoMode: config.demoMode,
      lifecycle,
      messageExtension,
      taskModules,
      beforeTurn: async (context) => {
        // someone writes from a conversation the bot had found gone: it is reachable again
        if (context.activity.conversation?.id) channel.revive(context.activity.conversation.id);
        await recordUser(store, context);
        await approverReach.observe(context); // issue #17 (graph): an install's conversationUpdate, the tenant's service URL
      },
    });
    // approvals that ran out of time: their cards say so and the requester hears it;
    // jobs whose instance died (lease ended): reported interrupted
    const sweeper = setInterval(() => {
      void expireApprovals(approvals, presenter).catch((e: unknown) => logger.warn({ err: e }, 'approval expiry sweep failed'));
      void runner.recover({ all: false, requeue: false }).catch((e: unknown) => logger.warn({ err: e }, 'abandoned job sweep failed'));
      void incidents.recoverDiagnoses(diagnosisObserver, { all: false }).catch((e: unknown) => logger.warn({ err: e }, 'abandoned diagnosis sweep failed'));
    }, overrides.expirySweepInMs ?? config.SWEEP_INTERVAL_SECONDS * 1000);
    sweeper.unref();
    let stopListening: (() => Promise<void>) | undefined;
    const http = createHttpServer({
      adapter,
      bot,
      store,
      logger,
      maxBodyBytes: config.MAX_BODY_BYTES,
      readiness: azure.readiness,
      loopbackServiceUrlsOnly: !config.MicrosoftAppId,
      allowedTenantIds: tenants,
      routes,
    });

    let stopped = false;
    return {
      config,
      http,
      adapter,
      store,
      azure,
      jobs,
      incidents,
      approvals,
      runner,
      channel,
      sweeps: sweepService?.sweeps ?? null,
      async start() {
        // a job that was running when the process stopped is reported, never silently re-run;
        // with one process (SQLite) every running job at start was abandoned
        await runner.recover({ all: store.kind === 'sqlite', requeue: true });
        // diagnoses are jobs too: one that was running when the process stopped is reported interrupted
        await incidents.recoverDiagnoses(diagnosisObserver, { all: store.kind === 'sqlite' });
        stopListening = runner.listen();
        listeningPort = await http.listen(config.PORT, config.HOST);
        return listeningPort;
      },
      async stop(timeoutInMs = 15000) {
        if (stopped) return;
        stopped = true;
        clearInterval(sweeper);
        await stopListening?.();
        await sweepService?.stop(Math.max(0, timeoutInMs / 3));
        const deadline = Date.now() + timeoutInMs;
        await http.close(timeoutInMs);
        const drained = await jobs.drain(Math.max(0, deadline - Date.now()));
        if (!drained) logger.warn({ running: jobs.count() }, 'jobs still running at shutdown');
        // the cards and notices the jobs handed over are still on their way (paced, retried)
        if (!(await notifier.drain(Math.max(0, deadline - Date.now())))) logger.warn('channel messages still pending at shutdown');
        await azure.close();
        await store.close();
      },
    };
  } catch (e) {
    await azure.close();
    await store.close();
    throw e;
  }
}

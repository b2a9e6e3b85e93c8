import { ConversationState, UserState } from 'botbuilder';
import type { CloudAdapter } from 'botbuilder';
import { registerDiagnosisVerbs } from '../dialogs/diagnosis-verbs';
import { RdpDoctorBot } from './bot';
import { createAdapter } from './adapter';
import { AdapterNotifier } from './notifier';
import { createHttpServer, type HttpServer } from './server';
import type { Config } from './config';
import { IntakeDialog } from '../dialogs/intake-dialog';
import { MainDialog } from '../dialogs/main-dialog';
import { VerbRouter } from '../dialogs/verbs';
import type { AzureGateway } from '../services/azure/gateway';
import { IncidentService } from '../services/incidents/incident-service';
import { JobRunner } from '../services/incidents/jobs';
import type { Logger } from '../services/log';
import { SqliteStore } from '../services/store/sqlite';
import type { AppStore } from '../services/store/store';
import { openAzure, type AzureAccess } from './azure';

export interface App {
  config: Config;
  http: HttpServer;
  adapter: CloudAdapter;
  store: AppStore;
  azure: AzureAccess;
  jobs: JobRunner;
  incidents: IncidentService;
  /** Listens on config.PORT (0 = a free port) and returns the port. */
  start(): Promise<number>;
  /** Graceful: stop accepting, finish running turns and jobs (bounded), close storage and the simulator. */
  stop(timeoutInMs?: number): Promise<void>;
}

export interface AppOverrides {
  gateway?: AzureGateway;
}

/** The composition root: builds storage, Azure access, services and dialogs, and injects them. */
export async function createApp(config: Config, logger: Logger, overrides: AppOverrides = {}): Promise<App> {
  const store: AppStore = SqliteStore.open(config.DATA_DIR);
  const azure = await openAzure(config, logger, overrides.gateway);
  try {
    const conversationState = new ConversationState(store.botStorage);
    const userState = new UserState(store.botStorage);
    const adapter = createAdapter(config, logger, conversationState);
    const jobs = new JobRunner(logger);
    const notifier = new AdapterNotifier(adapter, config.MicrosoftAppId);
    const incidents = new IncidentService({ store, gateway: azure.gateway, jobs, logger });

    const verbs = new VerbRouter(logger);
    registerDiagnosisVerbs(verbs, { incidents, notifier, logger, demoMode: config.demoMode });
    const mainDialog = new MainDialog({
      demoMode: config.demoMode,
      intake: new IntakeDialog(incidents, config.demoMode),
      commands: {},
    });
    const bot = new RdpDoctorBot({ conversationState, userState, mainDialog, verbs, logger, demoMode: config.demoMode });
    const http = createHttpServer({ adapter, bot, store, logger, maxBodyBytes: config.MAX_BODY_BYTES, readiness: azure.readiness });

    let stopped = false;
    return {
      config,
      http,
      adapter,
      store,
      azure,
      jobs,
      incidents,
      start: () => http.listen(config.PORT, config.HOST),
      async stop(timeoutInMs = 15000) {
        if (stopped) return;
        stopped = true;
        const deadline = Date.now() + timeoutInMs;
        await http.close(timeoutInMs);
        const drained = await jobs.drain(Math.max(0, deadline - Date.now()));
        if (!drained) logger.warn({ running: jobs.count() }, 'jobs still running at shutdown');
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

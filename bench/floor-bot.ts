import { randomUUID } from 'node:crypto';
import {
  ActivityHandler,
  CardFactory,
  ConversationState,
  MemoryStorage,
  TurnContext,
  type AdaptiveCardInvokeResponse,
  type Attachment,
  type CloudAdapter,
  type ConversationReference,
} from 'botbuilder';
import { createAdapter } from '../bot/adapter';
import { createChannelTransport } from '../bot/channel-transport';
import { loadConfig, publicBaseUrl } from '../bot/config';
import { createHttpServer } from '../bot/server';
import { consentCard, findingsCard, progressCard, type VmLine } from '../cards/diagnosis';
import type { CardJson } from '../cards/render';
import { extractVmQuery } from '../dialogs/intake-text';
import type { AzureGateway } from '../services/azure/gateway';
import { translator } from '../services/i18n';
import { diagnoseVm, toRecord } from '../services/incidents/diagnosis';
import { createLogger, type Logger } from '../services/log';
import { DIAGNOSE_RUN_TEXT } from '../services/runbook/script-pages';
import { SqliteStore } from '../services/store/sqlite';
import { openAzure } from '../services/wiring/azure';

/**
 * The floor (issue #16, turn cost): a bot that does exactly the work a diagnose conversation cannot
 * avoid, and nothing else, measured beside the echo bot and the product in the same rounds
 * (`npm run bench:turn-cost`). Built and started like the echo bot: the product's createAdapter
 * (with the product's channel transport, as bot/app.ts wires it) and createHttpServer, and the
 * product's Azure gateway (openAzure: AZURE_ARM_ENDPOINT / AZURE_ARM_CA_FILE, the simulator child).
 *
 * - message: the VM named in the text (the product's extractVmQuery), the Resource Graph look-up
 *   (`gateway.findVms`), then ONE consent card sent through the connector;
 * - invoke `diagnose.start`: the progress card in the invoke response, and in the background
 *   `diagnoseVm` with the same channel requests as the product's observer (dialogs/diagnosis-verbs.ts):
 *   a progress card update when the Run Command starts, the findings card update, then the
 *   "diagnosis is ready" message, each through its own proactive turn (continueConversationAsync,
 *   as bot/notifier.ts).
 *
 * The cards are the product's own (cards/diagnosis.ts), built once per VM, the first time the VM is
 * named or diagnosed (in the bench's warm-up), and reused: the same bytes on the wire as the
 * product's, none of the per-turn work of building them. No store (the SQLite file is opened only
 * for /readyz, as in the echo bot), no dialogs, no conversation or user state, no templates per
 * turn, no audit, no rate limit, no supersede, no cancel. The only state is one entry per VM.
 */
const SYMPTOM = 'internal-error';

interface VmEntry {
  vm: VmLine;
  /** this VM's consent card carries a fixed incident id: the invoke finds the VM by it */
  incidentId: string;
  consent: Attachment;
  progressPrecheck: CardJson;
  progressRunCommand: Attachment;
  ready: string;
  findings?: Attachment;
}

class FloorBot extends ActivityHandler {
  private readonly byVm = new Map<string, VmEntry>();
  private readonly byIncident = new Map<string, VmEntry>();
  private readonly t = translator('en');

  constructor(
    private readonly adapter: CloudAdapter,
    private readonly appId: string,
    private readonly gateway: AzureGateway,
    private readonly baseUrl: string,
    private readonly logger: Logger,
  ) {
    super();
    this.onMessage(async (context, next) => {
      const name = extractVmQuery(context.activity.text ?? '');
      const found = name ? await this.gateway.findVms(name) : [];
      if (found.length !== 1) {
        await context.sendActivity(name ? `${found.length} VMs match ${name}` : 'Which VM?');
      } else {
        await context.sendActivity({ attachments: [this.entryOf(found[0]).consent] });
      }
      await next();
    });
  }

  private entryOf(vm: VmLine): VmEntry {
    let e = this.byVm.get(vm.id);
    if (!e) {
      const t = this.t;
      const incidentId = randomUUID();
      e = {
        vm,
        incidentId,
        consent: CardFactory.adaptiveCard(consentCard(t, { incidentId, vm, symptom: SYMPTOM, script: DIAGNOSE_RUN_TEXT, publicBaseUrl: this.baseUrl })),
        progressPrecheck: progressCard(t, { vmName: vm.name, current: 'precheck' }),
        progressRunCommand: CardFactory.adaptiveCard(progressCard(t, { vmName: vm.name, current: 'runCommand' })),
        ready: t('findings.ready', { vm: vm.name }),
      };
      this.byVm.set(vm.id, e);
      this.byIncident.set(incidentId, e);
    }
    return e;
  }

  protected override async onAdaptiveCardInvoke(context: TurnContext): Promise<AdaptiveCardInvokeResponse> {
    const value = context.activity.value as { action?: { verb?: string; data?: { incidentId?: unknown } } } | undefined;
    const incidentId = value?.action?.data?.incidentId;
    const entry = value?.action?.verb === 'diagnose.start' && typeof incidentId === 'string' ? this.byIncident.get(incidentId) : undefined;
    const cardId = context.activity.replyToId;
    if (!entry || !cardId) {
      return { statusCode: 400, type: 'application/vnd.microsoft.error', value: { code: 'BadRequest', message: 'unknown incident or card' } as never };
    }
    const ref = TurnContext.getConversationReference(context.activity) as ConversationReference;
    void this.diagnose(ref, cardId, entry).catch((e: unknown) => this.logger.error({ err: e }, 'floor bot: diagnosis failed'));
    return { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: entry.progressPrecheck };
  }

  private async diagnose(ref: ConversationReference, cardId: string, entry: VmEntry): Promise<void> {
    const report = await diagnoseVm(this.gateway, entry.vm.id, {
      onPhase: async (phase) => {
        if (phase === 'runCommand') await this.update(ref, cardId, entry.progressRunCommand);
      },
    });
    entry.findings ??= CardFactory.adaptiveCard(findingsCard(this.t, { incidentId: entry.incidentId, diagnosis: toRecord(report, new Date()), plain: true, symptom: SYMPTOM }));
    await this.update(ref, cardId, entry.findings);
    await this.adapter.continueConversationAsync(this.appId, ref, async (context) => {
      await context.sendActivity({ type: 'message', text: entry.ready });
    });
  }

  private update(ref: ConversationReference, cardId: string, card: Attachment): Promise<void> {
    return this.adapter.continueConversationAsync(this.appId, ref, async (context) => {
      await context.updateActivity({ type: 'message', id: cardId, conversation: ref.conversation, attachments: [card] });
    });
  }
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger(config.LOG_LEVEL);
  const store = SqliteStore.open(config.DATA_DIR); // only for /readyz, as in the product and the echo bot
  const azure = await openAzure(config, logger);
  const channel = createChannelTransport({ logger });
  const adapter = createAdapter(config, logger, new ConversationState(new MemoryStorage()), channel.httpClient);
  const bot = new FloorBot(adapter, config.MicrosoftAppId ?? '', azure.gateway, publicBaseUrl(config, config.PORT), logger);
  const http = createHttpServer({ adapter, bot, store, logger, maxBodyBytes: config.MAX_BODY_BYTES, loopbackServiceUrlsOnly: !config.MicrosoftAppId });
  await http.listen(config.PORT, config.HOST);
  const stop = (): void => {
    http
      .close(2000)
      .then(() => azure.close())
      .then(() => store.close())
      .then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`floor bot failed: ${(e as Error).message}\n`);
  process.exit(1);
});

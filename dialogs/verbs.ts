import type { AdaptiveCardInvokeResponse, AdaptiveCardInvokeValue, TurnContext } from 'botbuilder';
import { CardFactory } from 'botbuilder';
import type { z } from 'zod';
import type { CardJson } from '../cards/render';
import { isDomainError, type DomainError } from '../services/errors';
import type { Logger } from '../services/log';
import { errorText } from './error-text';
import { turnT } from './turn';

/**
 * One handler per card verb (CONTRACTS.md §5). The same handler serves `Action.Execute`
 * (an invoke whose response replaces the card) and its `Action.Submit` fallback (a message
 * with `value.verb`, answered with a new message). Card data is never trusted: each verb
 * validates its fields with a schema before anything else runs. Malformed data is a 400;
 * a refusal of well-formed data (a domain error) is a message the user reads.
 */
export type VerbResult =
  | { kind: 'card'; card: CardJson } // replaces the card the user clicked (Execute) or is sent (Submit)
  | { kind: 'message'; text: string }
  | { kind: 'none' };

export interface VerbHandler<S extends z.ZodType> {
  verb: string;
  schema: S;
  handle(context: TurnContext, data: z.infer<S>, via: 'execute' | 'submit'): Promise<VerbResult>;
}

type AnyVerbHandler = VerbHandler<z.ZodType>;

/** How a verb ended: malformed data (`error`), a refusal the user reads (with its domain error), or the handler's result. */
export type VerbOutcome =
  | { kind: 'error'; message: string }
  | { kind: 'refused'; message: string; error: DomainError }
  | { kind: 'ok'; result: VerbResult };

export class VerbRouter {
  private readonly handlers = new Map<string, AnyVerbHandler>();

  constructor(private readonly logger: Logger) {}

  add<S extends z.ZodType>(handler: VerbHandler<S>): this {
    if (this.handlers.has(handler.verb)) throw new Error(`verb ${handler.verb} registered twice`);
    this.handlers.set(handler.verb, handler as unknown as AnyVerbHandler);
    return this;
  }

  verbs(): string[] {
    return [...this.handlers.keys()];
  }

  async handleExecute(context: TurnContext, value: AdaptiveCardInvokeValue): Promise<AdaptiveCardInvokeResponse> {
    const action = (value as Partial<AdaptiveCardInvokeValue> | undefined)?.action;
    const verb = typeof action?.verb === 'string' ? action.verb : '';
    const outcome = await this.dispatch(context, verb, action?.data, 'execute');
    if (outcome.kind === 'error') {
      // sent with HTTP 200 (bot.ts): the status of an answer is its statusCode
      return { statusCode: 400, type: 'application/vnd.microsoft.error', value: { code: 'BadRequest', message: outcome.message } as never };
    }
    if (outcome.kind === 'refused') {
      // a refusal the user must read (not an approver, expired, invalid input): Teams shows a
      // message answer under the card; an error answer is not shown by every client
      return { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: outcome.message as never };
    }
    const r = outcome.result;
    if (r.kind === 'card') return { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: r.card };
    if (r.kind === 'message') return { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: r.text as never };
    // nothing to show, but a client shows a message answer as a banner: never an empty one
    return { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: turnT(context)('verbs.done') as never };
  }

  async handleSubmit(context: TurnContext, value: Record<string, unknown>): Promise<void> {
    const verb = typeof value.verb === 'string' ? value.verb : '';
    const { verb: _ignored, ...data } = value;
    void _ignored;
    const outcome = await this.dispatch(context, verb, data, 'submit');
    if (outcome.kind === 'error' || outcome.kind === 'refused') {
      await context.sendActivity(outcome.message);
      return;
    }
    const r = outcome.result;
    if (r.kind === 'card') await context.sendActivity({ attachments: [CardFactory.adaptiveCard(r.card)] });
    else if (r.kind === 'message') await context.sendActivity(r.text);
  }

  /**
   * Runs a verb as a card click would, for another surface (the dialogs, dialogs/task-modules.ts):
   * the same schema, the same handler, the same refusals; the refusal keeps its domain error.
   */
  run(context: TurnContext, verb: string, data: Record<string, unknown>, via: 'execute' | 'submit' = 'execute'): Promise<VerbOutcome> {
    return this.dispatch(context, verb, data, via);
  }

  private async dispatch(context: TurnContext, verb: string, data: unknown, via: 'execute' | 'submit'): Promise<VerbOutcome> {
    const t = turnT(context);
    const handler = this.handlers.get(verb);
    if (!handler) {
      this.logger.warn({ verb: verb.slice(0, 64), conversationId: context.activity.conversation?.id }, 'unknown card verb');
      return { kind: 'error', message: t('badInput.unknownVerb') };
    }
    const parsed = handler.schema.safeParse(data ?? {});
    if (!parsed.success) {
      this.logger.warn({ verb, issues: parsed.error.issues.slice(0, 3).map((i) => i.path.join('.')) }, 'card data refused');
      return { kind: 'error', message: t('badInput.unknownVerb') };
    }
    try {
      return { kind: 'ok', result: await handler.handle(context, parsed.data, via) };
    } catch (e) {
      if (isDomainError(e)) return { kind: 'refused', message: errorText(t, e), error: e };
      throw e;
    }
  }
}

import { CardFactory } from 'botbuilder';
import { WaterfallDialog, type Dialog, type DialogTurnResult, type WaterfallStepContext } from 'botbuilder-dialogs';
import { helpCard } from '../cards/help';
import { parseCommand, type Command } from './commands';
import { InterruptibleDialog } from './interruptible-dialog';
import { turnT } from './turn';

export const MAIN_DIALOG = 'main';
const MAIN_WATERFALL = 'main.waterfall';

/** Answers a command that needs no conversation (status, approvals, history, approvals here). */
export type CommandHandler = (step: WaterfallStepContext, command: Command) => Promise<void>;

export interface MainDialogDeps {
  demoMode: boolean;
  /** The intake flow, started for free text and `diagnose <vm>`. */
  intake: Dialog;
  commands: Partial<Record<Command['kind'], CommandHandler>>;
}

/** Routes each new message: a command, or the start of an intake. */
export class MainDialog extends InterruptibleDialog {
  constructor(private readonly deps: MainDialogDeps) {
    super(MAIN_DIALOG, deps.demoMode);
    this.addDialog(deps.intake);
    this.addDialog(new WaterfallDialog(MAIN_WATERFALL, [this.routeStep.bind(this)]));
    this.initialDialogId = MAIN_WATERFALL;
  }

  private async routeStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const text = step.context.activity.text ?? '';
    const cmd = parseCommand(text);
    const t = turnT(step.context);
    if (cmd?.kind === 'help') {
      await step.context.sendActivity({ attachments: [CardFactory.adaptiveCard(helpCard(t, { demoMode: this.demoMode }))] });
      return step.endDialog();
    }
    if (cmd?.kind === 'cancel' && !this.deps.commands.cancel) {
      await step.context.sendActivity(t('cancel.nothing'));
      return step.endDialog();
    }
    if (cmd && cmd.kind !== 'diagnose') {
      const handler = this.deps.commands[cmd.kind];
      if (handler) {
        await handler(step, cmd);
        return step.endDialog();
      }
    }
    return step.beginDialog(this.deps.intake.id, { text, vm: cmd?.kind === 'diagnose' ? cmd.vm : undefined });
  }
}

import { CardFactory } from 'botbuilder';
import { ComponentDialog, DialogTurnStatus, type DialogContext, type DialogTurnResult } from 'botbuilder-dialogs';
import { helpCard } from '../cards/help';
import { parseCommand } from './commands';
import { turnT } from './turn';

/**
 * Base of every conversation flow: `cancel` ends whatever runs, `help` shows the help card and
 * goes on waiting where the user was. Handled once here, so each flow only has its own steps.
 */
export abstract class InterruptibleDialog extends ComponentDialog {
  protected constructor(id: string, protected readonly demoMode: boolean) {
    super(id);
  }

  override async onContinueDialog(inner: DialogContext): Promise<DialogTurnResult> {
    const interrupted = await this.interrupt(inner);
    if (interrupted) return interrupted;
    return super.onContinueDialog(inner);
  }

  private async interrupt(inner: DialogContext): Promise<DialogTurnResult | undefined> {
    const text = inner.context.activity.text;
    if (typeof text !== 'string' || !text) return undefined;
    const cmd = parseCommand(text);
    const t = turnT(inner.context);
    if (cmd?.kind === 'cancel') {
      await inner.context.sendActivity(t('cancel.done'));
      return inner.cancelAllDialogs();
    }
    if (cmd?.kind === 'help') {
      await inner.context.sendActivity({ attachments: [CardFactory.adaptiveCard(helpCard(t, { demoMode: this.demoMode }))] });
      return { status: DialogTurnStatus.waiting };
    }
    return undefined;
  }
}

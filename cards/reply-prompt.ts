import { bind, type CardJson } from './render';
import template from './templates/reply-prompt.json';

/**
 * A question answered with a button or a text box on the card: Action.Submit sends the card's
 * `intakeReply` to the bot (no imBack, which not every client supports). In a channel or group
 * chat a reply without an @mention never reaches the bot, so the hint says to mention the bot
 * when typing; in a personal chat there is no hint. Button labels stay short: what they stand
 * for in full goes in `details`, in the card's body.
 */
export function replyPromptCard(
  p: { question: string; hint?: string; details?: string } & ({ choices: string[] } | { input: { placeholder: string; submit: string; required: string } }),
): CardJson {
  const input = 'input' in p ? p.input : undefined;
  return bind(template, {
    question: p.question,
    hint: p.hint ?? '',
    details: p.details ?? '',
    choices: 'choices' in p ? p.choices.map((title) => ({ title })) : [],
    input: !!input,
    placeholder: input?.placeholder ?? '',
    submit: input?.submit ?? '',
    required: input?.required ?? '',
  });
}

import { bind, type CardJson } from './render';
import template from './templates/reply-prompt.json';

/**
 * A question asked in a channel or group chat, where a reply without an @mention never reaches
 * the bot: the answer is a button or a text box on the card (Action.Submit sends the card's
 * `intakeReply` to the bot, mention or not), and the hint says to mention the bot when typing.
 */
export function replyPromptCard(
  p: { question: string; hint: string } & ({ choices: string[] } | { input: { placeholder: string; submit: string; required: string } }),
): CardJson {
  const input = 'input' in p ? p.input : undefined;
  return bind(template, {
    question: p.question,
    hint: p.hint,
    choices: 'choices' in p ? p.choices.map((title) => ({ title })) : [],
    input: !!input,
    placeholder: input?.placeholder ?? '',
    submit: input?.submit ?? '',
    required: input?.required ?? '',
  });
}

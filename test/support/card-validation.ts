import { join } from 'node:path';

// The package's main entry is ESM without extensions; its UMD bundle loads in Node (STACK.md).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const AC = require(join(__dirname, '..', '..', 'node_modules', 'adaptivecards', 'dist', 'adaptivecards.js')) as {
  AdaptiveCard: new () => {
    parse(json: unknown, ctx: unknown): void;
    validateProperties(): { validationEvents: Array<{ message: string }> };
  };
  SerializationContext: new () => { eventCount: number; getEventAt(i: number): { message: string } };
};

/**
 * Problems a renderer would report for this card: unbound template expressions, a CodeBlock
 * without its fallback, and every parse or validation event of the adaptivecards library.
 * CodeBlock (a Teams extension) is replaced by its fallback before parsing, as a client that
 * does not know it would do.
 */
export function cardProblems(card: unknown): string[] {
  const problems: string[] = [];
  const json = JSON.stringify(card);
  if (json.includes('${')) problems.push(`unbound template expression: ${json.slice(json.indexOf('${'), json.indexOf('${') + 60)}`);
  const withoutCodeBlocks = JSON.parse(json, (_k, v: unknown) => {
    if (v && typeof v === 'object' && (v as { type?: string }).type === 'CodeBlock') {
      const fb = (v as { fallback?: unknown }).fallback;
      if (!fb || typeof fb !== 'object') problems.push('CodeBlock without a fallback');
      return fb;
    }
    return v;
  }) as unknown;
  const c = new AC.AdaptiveCard();
  const ctx = new AC.SerializationContext();
  c.parse(withoutCodeBlocks, ctx);
  for (let i = 0; i < ctx.eventCount; i++) problems.push(`parse: ${ctx.getEventAt(i).message}`);
  for (const e of c.validateProperties().validationEvents) problems.push(`validate: ${e.message}`);
  if ((card as { version?: string }).version !== '1.5') problems.push('card version is not 1.5');
  return problems;
}

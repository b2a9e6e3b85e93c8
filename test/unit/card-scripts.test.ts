import { createHash } from 'node:crypto';
import { approvalCard, fixSource } from '../../cards/approval';
import { NBSP, codeBlock } from '../../cards/render';
import { scriptView } from '../../cards/script-view';
import { translator } from '../../services/i18n';
import type { Approval } from '../../services/incidents/model';
import { offlineRepairScripts } from '../../services/runbook/offline';
import { DIAGNOSE_RUN_TEXT, isServedScript, scriptPage } from '../../services/runbook/script-pages';
import { FIX_SCRIPT_IDS, getScript } from '../../services/runbook/scripts';
import { runCommandText } from '../../services/azure/validation';
import { cardProblems } from '../support/card-validation';

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const t = translator('en');

/**
 * What a client without CodeBlock shows of the fallback: each line is a RichTextBlock whose
 * TextRuns are displayed as they are (a TextRun is never read as markdown), ordinary spaces
 * collapse as in any HTML text, and a non-breaking space is displayed as a space. Anything else in the fallback (a TextBlock would be read as
 * markdown) is a failure.
 */
function renderedFallback(block: Record<string, unknown>): string {
  const fb = block.fallback as { type: string; items: Array<{ type: string; inlines: Array<{ type: string; text: string; fontType?: string }> }> };
  expect(fb.type).toBe('Container');
  return fb.items
    .map((line) => {
      expect(line.type).toBe('RichTextBlock');
      return line.inlines
        .map((run) => {
          expect(run).toMatchObject({ type: 'TextRun', fontType: 'Monospace' });
          // the only transformation the Adaptive Cards renderer applies to a TextRun's text
          expect(run.text).not.toMatch(/\{\{(DATE|TIME)\(/);
          return run.text;
        })
        .join('')
        // HTML collapses runs of ordinary spaces and drops them at a line's ends (white-space: normal)
        .replace(/ +/g, ' ')
        .replace(/^ | $/g, '')
        .split(NBSP)
        .join(' ');
    })
    .join('\n');
}

describe('inline code on cards', () => {
  it.each([
    ['markdown-special characters', '# a comment, not a heading\n$_.Name -and $_\n  **not bold** _not italic_ `tick`\n\n- not a list\n1. not a list either\n[not](a-link) <b>not html</b> \\escaped\n    indented    with   runs'],
    ['the Azure operation of an approval card', fixSource('restrict-rdp-source', { source: '203.0.113.0/24' }).code],
  ])('the fallback of a code block shows %s exactly, character for character', (_name, code) => {
    const block = codeBlock(code);
    expect(block.codeSnippet).toBe(code);
    expect(renderedFallback(block)).toBe(code);
    expect(cardProblems({ type: 'AdaptiveCard', version: '1.5', body: [block] })).toEqual([]);
  });

  it('an approval card for an Azure operation carries it inline, with the exact fallback', () => {
    const approval: Approval = {
      id: '9a0c2f4e-1d7b-4c36-9d8e-0a8f2f5d9b22', incidentId: '3f0c2f4e-1d7b-4c36-9d8e-0a8f2f5d9b11', vmId: '/x', vmName: 'vm', fixId: 'restrict-rdp-source',
      params: { source: '203.0.113.0/24' }, paramsHash: 'h', requester: { id: '29:u' }, lang: 'en', state: 'pending', createdAt: '', expiresAt: '', cards: [],
    };
    const card = approvalCard(t, { approval, view: 'status', refreshUserIds: [], publicBaseUrl: 'http://localhost:3978' });
    const found: Array<Record<string, unknown>> = [];
    JSON.stringify(card, (_k, v: unknown) => {
      if (v && typeof v === 'object' && (v as { type?: string }).type === 'CodeBlock') found.push(v as Record<string, unknown>);
      return v;
    });
    const code = fixSource('restrict-rdp-source', approval.params).code;
    expect(found).toHaveLength(1);
    expect(renderedFallback(found[0])).toBe(code);
    expect(JSON.stringify(card)).not.toContain('/scripts/');
  });
});

describe('scripts leave the cards: a link pinned by the hash', () => {
  it('the diagnostic and every fix script are served as Run Command receives them; the offline scripts for every drive letter', () => {
    expect(scriptPage(sha(DIAGNOSE_RUN_TEXT))).toBe(DIAGNOSE_RUN_TEXT);
    for (const id of FIX_SCRIPT_IDS) {
      const text = runCommandText(id, getScript(id).source);
      expect(scriptPage(sha(text))).toBe(text);
    }
    for (const step of offlineRepairScripts('k').steps) if (step.script) expect(isServedScript(step.script)).toBe(true);
  });

  it('serves nothing else: an unknown hash, a text from nowhere, something that is not a hash', () => {
    expect(scriptPage(sha('Write-Output 1'))).toBeUndefined();
    expect(scriptPage('../../etc/passwd')).toBeUndefined();
    expect(scriptPage(sha(DIAGNOSE_RUN_TEXT).toUpperCase())).toBeUndefined();
    expect(isServedScript(offlineRepairScripts('F').steps[0].script!.replace('F:', 'Q:'))).toBe(false);
  });

  it('a served script is linked with its line count and hash; any other text stays inline', () => {
    const linked = scriptView(t, 'https://bot.example.com/', DIAGNOSE_RUN_TEXT);
    expect(linked).toMatchObject({ url: `https://bot.example.com/scripts/${sha(DIAGNOSE_RUN_TEXT)}`, inline: null, lines: DIAGNOSE_RUN_TEXT.split('\n').length });
    expect(linked.facts).toBe(`${linked.lines} lines, SHA-256 ${sha(DIAGNOSE_RUN_TEXT)}`);
    const inline = scriptView(t, 'https://bot.example.com', 'Write-Output 1');
    expect(inline.url).toBe('');
    expect(inline.inline).toMatchObject({ type: 'CodeBlock', codeSnippet: 'Write-Output 1' });
  });

  it('every card shows the same facts of a served script (kept after the first), and a text shown inline twice stays inline', () => {
    const fix = runCommandText(FIX_SCRIPT_IDS[0], getScript(FIX_SCRIPT_IDS[0]).source);
    for (const text of [DIAGNOSE_RUN_TEXT, fix, DIAGNOSE_RUN_TEXT, fix]) {
      const view = scriptView(t, 'https://bot.example.com', text);
      expect(view).toMatchObject({ url: `https://bot.example.com/scripts/${sha(text)}`, inline: null, lines: text.split('\n').length, sha256: sha(text) });
    }
    for (const text of ['Write-Output 1', 'Write-Output 1', 'Write-Output 1\nWrite-Output 2']) {
      const view = scriptView(t, 'https://bot.example.com', text);
      expect(view).toMatchObject({ url: '', sha256: sha(text), lines: text.split('\n').length, inline: { type: 'CodeBlock', codeSnippet: text } });
    }
  });
});

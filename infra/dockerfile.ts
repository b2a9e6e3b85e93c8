import { readFileSync } from 'node:fs';

/**
 * A small Dockerfile reader, enough for our own Dockerfile: CI runs its RUN steps as plain shell
 * commands (no Docker daemon there), and tests check its shape.
 */

export interface DockerInstruction {
  /** Stage name (`FROM ... AS name`), or its index when unnamed. */
  stage: string;
  /** Upper-case keyword: FROM, RUN, COPY, ... */
  keyword: string;
  /** Everything after the keyword, continuation lines joined with a space. */
  args: string;
  /** 1-based line where the instruction starts. */
  line: number;
}

export interface DockerRunStep {
  stage: string;
  /** A command for `sh -c`. */
  command: string;
  line: number;
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Exec form (`["a", "b"]`) as a shell command; shell form unchanged. */
export function toShellCommand(args: string): string {
  const trimmed = args.trim();
  if (trimmed.startsWith('[')) {
    const words = JSON.parse(trimmed) as unknown;
    if (Array.isArray(words) && words.every((w): w is string => typeof w === 'string')) return words.map(shellQuote).join(' ');
  }
  return trimmed;
}

export function parseDockerfile(text: string): DockerInstruction[] {
  const lines = text.split(/\r?\n/);
  const out: DockerInstruction[] = [];
  let stage = '';
  let stages = 0;
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i]!;
    if (/^\s*(#|$)/.test(first)) continue;
    const start = i;
    let joined = first;
    while (/\\\s*$/.test(joined) && i + 1 < lines.length) {
      joined = joined.replace(/\\\s*$/, '');
      i++;
      // a comment inside a continued instruction is dropped and the instruction goes on
      while (/^\s*#/.test(lines[i]!) && i + 1 < lines.length) i++;
      joined += ` ${lines[i]!.trim()}`;
    }
    const m = /^\s*(\w+)\s*(.*)$/.exec(joined);
    if (!m) continue;
    const keyword = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    if (keyword === 'FROM') {
      const named = /\s+as\s+(\S+)\s*$/i.exec(args);
      stage = named ? named[1]! : String(stages);
      stages++;
    }
    out.push({ stage, keyword, args, line: start + 1 });
  }
  return out;
}

/** The RUN steps in order, optionally of one stage only. */
export function dockerRunSteps(text: string, stage?: string): DockerRunStep[] {
  return parseDockerfile(text)
    .filter((i) => i.keyword === 'RUN' && (stage === undefined || i.stage === stage))
    .map((i) => ({ stage: i.stage, command: toShellCommand(i.args), line: i.line }));
}

export function readDockerRunSteps(path: string, stage?: string): DockerRunStep[] {
  return dockerRunSteps(readFileSync(path, 'utf8'), stage);
}

import { startBot, startEcho, type BenchPaths } from '../bots';
import { row, type Row } from '../report';

export interface StartupFigures {
  rows: Row[];
  raw: { botMs: number[]; echoMs: number[] };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Figure 5: from spawn to the first `/readyz` 200 of `node dist/bot/index.js` in demo mode
 * (fresh DATA_DIR; the simulator starts inside the bot), against the echo bot measured the
 * same way; the two alternate so that a busy moment of the machine hits both.
 */
export async function startupFigures(paths: BenchPaths, runs: number, log: (s: string) => void): Promise<StartupFigures> {
  const botMs: number[] = [];
  const echoMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const e = await startEcho(paths);
    await e.child.stop();
    echoMs.push(e.readyMs);
    const b = await startBot(paths, { name: 'rdp-doctor(demo)' });
    await b.child.stop();
    botMs.push(b.readyMs);
    log(`  run ${i + 1}: bot ${b.readyMs.toFixed(0)} ms, echo ${e.readyMs.toFixed(0)} ms`);
  }
  return {
    rows: [
      row({ figure: '5', metric: `start-up to /readyz 200, demo mode, median of ${runs}`, unit: 'ms', value: median(botMs), baseline: median(echoMs), target: '', pass: null, note: 'baseline: echo bot to /readyz 200' }),
    ],
    raw: { botMs, echoMs },
  };
}

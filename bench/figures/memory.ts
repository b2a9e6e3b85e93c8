import { join } from 'node:path';
import { startBot, type BenchPaths } from '../bots';
import { BotClient } from '../client';
import type { BenchConnector } from '../connector';
import { cancelIncident, DIAGNOSABLE_VMS, openIncident, type OpenedIncident, type Party } from '../conversations';
import type { ProbeReply, ProbeRequest } from '../probe';
import { rssMiB, sleep, type Child } from '../procs';
import { row, type Row } from '../report';
import type { SimulatorChild } from '../simulator';

export interface MemorySample {
  /** VmRSS from /proc/<pid>/status, before any forced GC */
  rssMiB: number;
  /** after a forced full GC, through the probe */
  rssAfterGcMiB: number;
  heapUsedMiB: number;
  heapUsedAfterGcMiB: number;
}

export interface MemoryFigures {
  rows: Row[];
  raw: { incidents: number; idle: MemorySample; open: MemorySample; closed: MemorySample };
}

const MiB = 1024 * 1024;

function probe(child: Child, gc: boolean): Promise<ProbeReply> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('memory probe did not answer')), 10000);
    child.proc.once('message', (m: ProbeReply) => {
      clearTimeout(timer);
      resolve(m);
    });
    const req: ProbeRequest = { type: 'memory', gc };
    child.proc.send(req);
  });
}

async function sample(child: Child): Promise<MemorySample> {
  const rss = rssMiB(child.pid);
  const before = await probe(child, false);
  const after = await probe(child, true);
  return { rssMiB: rss, rssAfterGcMiB: rssMiB(child.pid), heapUsedMiB: before.heapUsed / MiB, heapUsedAfterGcMiB: after.heapUsed / MiB };
}

async function pool<T>(n: number, concurrency: number, work: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await work(i);
      }
    }),
  );
  return out;
}

/**
 * Figure 4: the bot's memory idle, with `count` incidents left open at the consent card, and
 * after all of them were cancelled. RSS from /proc; heap through a bench-only preload (probe.ts)
 * that answers over IPC and can force a GC (--expose-gc).
 */
export async function memoryFigures(paths: BenchPaths, connector: BenchConnector, sim: SimulatorChild, count: number, log: (s: string) => void): Promise<MemoryFigures> {
  const bot = await startBot(paths, {
    sim,
    name: 'rdp-doctor(memory)',
    nodeArgs: ['--expose-gc', '-r', join(paths.repo, 'dist-bench', 'bench', 'probe.js')],
    ipc: true,
  });
  const party: Party = { client: new BotClient(bot.child.port, connector.url), connector };
  try {
    await sleep(1000);
    const idle = await sample(bot.child);
    log(`  idle: ${JSON.stringify(idle)}`);
    const opened: OpenedIncident[] = await pool(count, 50, async (i) => {
      const conv = `a:mem-${i}`;
      try {
        return await openIncident(party, conv, `29:mem-${i}`, DIAGNOSABLE_VMS[i % DIAGNOSABLE_VMS.length]);
      } finally {
        connector.unwatch(conv);
      }
    });
    await sleep(500);
    const open = await sample(bot.child);
    log(`  ${count} open: ${JSON.stringify(open)}`);
    await pool(count, 50, (i) => cancelIncident(party, `a:mem-${i}`, `29:mem-${i}`, opened[i]));
    await sleep(500);
    const closed = await sample(bot.child);
    log(`  ${count} closed: ${JSON.stringify(closed)}`);

    const f = '4';
    const rows: Row[] = [
      row({ figure: f, metric: `RSS with ${count} open incidents`, unit: 'MiB', value: open.rssMiB, baseline: idle.rssMiB, target: '', pass: null, note: 'baseline: same bot idle after start; /proc VmRSS' }),
      row({ figure: f, metric: `heap used with ${count} open incidents, after GC`, unit: 'MiB', value: open.heapUsedAfterGcMiB, baseline: idle.heapUsedAfterGcMiB, target: '', pass: null }),
      row({ figure: f, metric: `RSS after the ${count} were closed, after GC`, unit: 'MiB', value: closed.rssAfterGcMiB, baseline: idle.rssAfterGcMiB, target: '', pass: null }),
      row({ figure: f, metric: `heap used after the ${count} were closed, after GC`, unit: 'MiB', value: closed.heapUsedAfterGcMiB, baseline: idle.heapUsedAfterGcMiB, target: '', pass: null }),
    ];
    return { rows, raw: { incidents: count, idle, open, closed } };
  } finally {
    party.client.close();
    await bot.child.stop();
  }
}

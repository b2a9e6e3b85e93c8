/**
 * Preloaded into the bot's process for the memory figure only (`node --expose-gc -r probe.js
 * dist/bot/index.js`): over the IPC channel the bench asks for a full GC and for
 * process.memoryUsage(). The product is not changed and does not know about it.
 */
export interface ProbeRequest {
  type: 'memory';
  gc: boolean;
}

export interface ProbeReply {
  type: 'memory';
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

process.on('message', (m: ProbeRequest) => {
  if (m?.type !== 'memory' || !process.send) return;
  const gc = (globalThis as { gc?: () => void }).gc;
  if (m.gc && gc) {
    gc();
    gc(); // the second pass collects what the first one's finalizers released
  }
  const u = process.memoryUsage();
  const reply: ProbeReply = { type: 'memory', rss: u.rss, heapUsed: u.heapUsed, heapTotal: u.heapTotal, external: u.external };
  process.send(reply);
});

// the IPC channel must not keep the bot alive when it is told to stop
process.channel?.unref();

import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { createChannelTransport as CreateTransport, ChannelHttpClient } from '../bot/channel-transport';
import { silentLogger } from '../services/log';

/**
 * `node dist-bench/bench/channel-cost.js --against=DIR` (issue #16, turn cost): CPU per request
 * to the channel through this build's transport (bot/channel-transport.ts) and through DIR's
 * (another checkout, built), alternating in one process against a local channel in a child
 * process, 10 requests at a time, card-sized bodies: a change to the transport measured alone,
 * since it is smaller than what moves a bench:turn-cost round on a shared machine.
 */
type Request = Parameters<ChannelHttpClient['sendRequest']>[0];

if (process.argv[2] === 'channel') {
  const server = createServer({ keepAliveTimeout: 30000 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id":"act-1"}');
    });
  });
  server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port));
} else {
  void main();
}

async function main(): Promise<void> {
  const against = process.argv.find((a) => a.startsWith('--against='))?.slice('--against='.length);
  if (!against) {
    process.stderr.write('usage: node dist-bench/bench/channel-cost.js --against=DIR (a built checkout of the base)\n');
    process.exit(2);
  }
  const child = fork(__filename, ['channel']);
  const port = await new Promise<number>((r) => child.once('message', (m) => r(Number(m))));
  const load = (repo: string) => (require(join(repo, 'dist', 'bot', 'channel-transport')) as { createChannelTransport: typeof CreateTransport }).createChannelTransport;
  const transports = {
    this: load(resolve(__dirname, '..', '..'))({ logger: silentLogger }),
    base: load(resolve(against))({ logger: silentLogger }),
  };
  const body = JSON.stringify({
    type: 'message',
    attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { body: Array.from({ length: 30 }, (_, i) => ({ type: 'TextBlock', text: `${'hello world '.repeat(5)}${i}` })) } }],
  });
  const headers = { 'content-type': 'application/json; charset=utf-8', authorization: 'Bearer x' };
  const request = (i: number) => ({ url: `http://127.0.0.1:${port}/v3/conversations/a%3Ac${i % 50}/activities`, method: 'POST', body, headers: { toJson: () => headers } }) as unknown as Request;
  const perRequest: Record<keyof typeof transports, number[]> = { this: [], base: [] };
  const n = 1500;
  for (let round = 0; round < 6; round++) {
    for (const name of round % 2 ? (['this', 'base'] as const) : (['base', 'this'] as const)) {
      const send = transports[name].httpClient;
      for (let i = 0; i < 200; i++) await send.sendRequest(request(i)); // warm
      let next = 0;
      const before = process.cpuUsage();
      await Promise.all(Array.from({ length: 10 }, async () => {
        while (next < n) await send.sendRequest(request(next++));
      }));
      const used = process.cpuUsage(before);
      perRequest[name].push((used.user + used.system) / 1000 / n);
    }
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  for (const [name, v] of Object.entries(perRequest)) {
    process.stdout.write(`${name}: ${v.map((x) => x.toFixed(3)).join(' ')} ms CPU per request, median ${median(v).toFixed(3)}\n`);
  }
  process.stdout.write(`this / base: ${(median(perRequest.this) / median(perRequest.base)).toFixed(2)}\n`);
  child.kill();
  process.exit(0);
}

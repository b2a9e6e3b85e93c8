import pino from 'pino';
import { Writable } from 'node:stream';
import { ApproverReach, type ApproverReachDeps } from '../../dialogs/approver-reach';
import { loadConfig } from '../../bot/config';

/** Issue #17 (graph): the settings of reaching approvers, and the start-up line when Graph is off. */
describe('Graph settings', () => {
  it('default: auto, no endpoint', () => {
    const c = loadConfig({});
    expect(c.GRAPH_REACH).toBe('auto');
    expect(c.GRAPH_ENDPOINT).toBeUndefined();
  });

  it.each([
    [{ GRAPH_REACH: 'sometimes' }, /^GRAPH_REACH: expected auto or off/],
    [{ GRAPH_ENDPOINT: 'http://127.0.0.1:8443' }, /^GRAPH_ENDPOINT: expected an https URL/],
    [{ GRAPH_CA_FILE: '/tmp/ca.pem' }, /^GRAPH_CA_FILE: only meaningful with GRAPH_ENDPOINT/],
    [{ TEAMS_APP_ID: 'rdp-doctor' }, /^TEAMS_APP_ID: expected the Teams app id/],
    [{ TEAMS_SERVICE_URL: 'http://smba.trafficmanager.net/teams/' }, /^TEAMS_SERVICE_URL: expected https:/],
  ])('refuses %p with one line naming it', (env, message) => {
    expect(() => loadConfig(env as NodeJS.ProcessEnv)).toThrow(message);
  });

  it('without Graph, the start says approvers who never wrote cannot be reached (and does not crash)', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }));
    const deps = {
      approvals: { approverIds: () => ['00000000-0000-4000-8000-0000000000c1'] },
      jobs: { run: () => { throw new Error('nothing runs without Graph'); } },
      logger,
      graph: null,
      graphOffReason: 'no app id (local development)',
      botId: '28:rdp-doctor',
    } as unknown as ApproverReachDeps;
    await new ApproverReach(deps).start();
    const line = JSON.parse(lines.join('')) as { msg: string; reason: string };
    expect(line.msg).toMatch(/approvers who never wrote to the bot cannot be reached: Microsoft Graph is not configured/);
    expect(line.reason).toBe('no app id (local development)');
  });
});

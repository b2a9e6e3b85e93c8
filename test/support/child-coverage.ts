/**
 * Coverage of the processes the tests start (the bot, the simulator, the CLI): `npm run coverage`
 * sets RDP_CHILD_COVERAGE to a directory; each child then gets NODE_V8_COVERAGE pointing there,
 * and tools/coverage.mjs merges what they wrote with jest's own coverage. Empty otherwise.
 */
export function childCoverageEnv(): Record<string, string> {
  const dir = process.env.RDP_CHILD_COVERAGE;
  return dir ? { NODE_V8_COVERAGE: dir } : {};
}

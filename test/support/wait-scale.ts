/**
 * The tests' waits are liveness bounds (a failure when reached), never timing assertions. On a
 * loaded machine (CI shares two cores with Chromium, PowerShell and Azurite) the same work takes
 * several times longer, so every bound stretches by TEST_WAIT_SCALE: 2 under CI by default, else 1.
 */
const fromEnv = Number(process.env.TEST_WAIT_SCALE);
export const WAIT_SCALE = Number.isFinite(fromEnv) && fromEnv >= 1 ? fromEnv : process.env.CI ? 2 : 1;

export const scaled = (ms: number): number => Math.round(ms * WAIT_SCALE);

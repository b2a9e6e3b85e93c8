import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { makeSimulatorCertificate } from '../../services/simulator/cert';

/** Issue #12.11: demo mode's CA file does not outlive a crashed process. */
describe('the simulator certificate folder', () => {
  it('a folder left by a process killed with SIGKILL is removed at the next start; a live one is kept', async () => {
    const base = mkdtempSync(join(tmpdir(), 'rdp-cert-sweep-'));
    try {
      const dist = join(__dirname, '..', '..', 'dist', 'services', 'simulator', 'cert.js');
      const child = spawn(process.execPath, ['-e', `require(${JSON.stringify(dist)}).makeSimulatorCertificate().then((c) => { console.log(c.caFile); setInterval(() => {}, 1000); })`], {
        env: { ...process.env, TMPDIR: base },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const caFile = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
      expect(existsSync(caFile)).toBe(true);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      expect(existsSync(caFile)).toBe(true); // nothing ran on the way out

      const mine = await makeSimulatorCertificate(undefined, base);
      expect(existsSync(caFile)).toBe(false);
      expect(mine.caFile.startsWith(join(base, `rdp-doctor-sim-${process.pid}-`))).toBe(true);
      // a second start in this (live) process keeps the first one's folder
      const again = await makeSimulatorCertificate(undefined, base);
      expect(existsSync(mine.caFile)).toBe(true);
      expect(existsSync(again.caFile)).toBe(true);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  }, 60000);
});

import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface SimulatorCertificate {
  certPem: string;
  keyPem: string;
  /** Where the certificate was written; clients pass it as their trusted CA. */
  caFile: string;
  /** the temp dir made for it (removed when the simulator closes); undefined when certDir was given */
  tempDir?: string;
}

/**
 * A self-signed certificate for the loopback names. The Azure SDK refuses to send a bearer
 * token over plain http, so the simulator must speak https; clients trust exactly this
 * certificate (tlsOptions.ca / NODE_EXTRA_CA_CERTS), nothing is installed system-wide.
 */
export async function makeSimulatorCertificate(certDir?: string, tempBase: string = tmpdir()): Promise<SimulatorCertificate> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + 365 * 24 * 3600 * 1000);
  const pems = await generate([{ name: 'commonName', value: 'rdp-doctor-arm-simulator' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  });
  let dir = certDir;
  if (!dir) {
    // a process killed before it could close its simulator left its folder: remove those first
    sweepStaleCertDirs(tempBase);
    const made = mkdtempSync(join(tempBase, `${PREFIX}${process.pid}-`));
    dir = made;
    process.once('exit', () => rmSync(made, { recursive: true, force: true }));
  }
  mkdirSync(dir, { recursive: true });
  const caFile = join(dir, 'arm-simulator-ca.pem');
  writeFileSync(caFile, pems.cert, { mode: 0o644 });
  return { certPem: pems.cert, keyPem: pems.private, caFile, tempDir: certDir ? undefined : dir };
}

const PREFIX = 'rdp-doctor-sim-';

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the certificate folders (`rdp-doctor-sim-<pid>-*`) of processes that no longer run; returns how many. */
export function sweepStaleCertDirs(base: string): number {
  let removed = 0;
  let names: string[] = [];
  try {
    names = readdirSync(base);
  } catch {
    return 0;
  }
  for (const name of names) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (!m || running(Number(m[1]))) continue;
    rmSync(join(base, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

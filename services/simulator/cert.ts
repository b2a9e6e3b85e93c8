import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
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
export async function makeSimulatorCertificate(certDir?: string): Promise<SimulatorCertificate> {
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
  const dir = certDir ?? mkdtempSync(join(tmpdir(), 'rdp-doctor-sim-'));
  mkdirSync(dir, { recursive: true });
  const caFile = join(dir, 'arm-simulator-ca.pem');
  writeFileSync(caFile, pems.cert, { mode: 0o644 });
  return { certPem: pems.cert, keyPem: pems.private, caFile, tempDir: certDir ? undefined : dir };
}

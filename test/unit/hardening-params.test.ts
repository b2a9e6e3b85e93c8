import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { ScriptParameter } from '../../services/azure/gateway';
import { createAzureGateway } from '../../services/azure/factory';
import { isDomainError } from '../../services/errors';
import { buildFixRun, FIX_IDS, FIX_PARAMS, FIXES, type FixRun } from '../../services/runbook/fixes';
import { parseDiagnosticOutput, type DiagnosticFacts } from '../../services/runbook/diagnostic-output';
import { parseFleet, type WindowsState } from '../../services/simulator/fleet';
import type { InteriorResult, VmInterior } from '../../services/simulator/interior';
import { runModelBatch } from '../../services/simulator/pwsh-interior';
import { startSimulator } from '../../services/simulator/server';
import { createVmInterior } from '../../services/simulator/vm-interior';
import { base64Strict } from '../support/base64';
import { pwshForTests } from '../support/pwsh';
import { demoVm, effectiveNsgsOf, NOW, vmDetailsOf } from './runbook-helpers';

/**
 * Fix parameters never reach script source. Hostile values (shell and PowerShell metacharacters)
 * are refused; values that pass validation, up to the edge of each whitelist, travel as cmd-safe
 * text (Base64 when outside [A-Za-z0-9.-]) and arrive in the script byte for byte. Expectations
 * are written here, from the rules (cmd.exe's safe set, RFC 4648 Base64), never from the code
 * under test.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 19_2026);
const META = ['&', '|', ';', '$(', ')', '`', "'", '"', '^', '%', '\n', '\r', '<', '>', ' ', '$env:x', '@(', '#', '\u0000', 'ы'];
const hostile = fc
  .tuple(fc.string({ maxLength: 12 }), fc.array(fc.constantFrom(...META), { minLength: 1, maxLength: 4 }), fc.string({ maxLength: 12 }))
  .map(([a, m, b]) => `${a}${m.join('')}${b}`);
/** What cmd.exe passes through untouched: letters, digits and Base64's + / = with the plain - and . */
const CMD_SAFE = /^[A-Za-z0-9.+/=-]*$/;
/** What may go without encoding: the shipped rule, written out again here. */
const PLAIN = /^[A-Za-z0-9.-]*$/;
const SHIPPED = (scriptId: string): string => readFileSync(join(__dirname, '..', '..', 'services', 'runbook', 'scripts', `${scriptId}.ps1`), 'utf8').replace(/\r\n/g, '\n');
const RDP_SERVICES = ['TermService', 'SessionEnv', 'UmRdpService'];

const portclash = demoVm('vm-portclash-03');
const facts = parseDiagnosticOutput(createVmInterior().run(portclash, 'diagnose', [], NOW).stdout);
const ctx = { vm: vmDetailsOf(portclash), nsgs: effectiveNsgsOf(portclash), now: NOW };
const exposed = demoVm('vm-exposed-02');
const exposedFacts = parseDiagnosticOutput(createVmInterior().run(exposed, 'diagnose', [], NOW).stdout);
const exposedCtx = { vm: vmDetailsOf(exposed), nsgs: effectiveNsgsOf(exposed), now: NOW };

/** What a script gets for a parameter value on the wire: plain text as is, `b64.` + Base64 decoded. */
function received(value: string): string {
  if (value.startsWith('b64.')) return base64Strict(value.slice(4));
  expect(value).toMatch(PLAIN);
  return value;
}

function refused(f: () => FixRun): boolean {
  try {
    f();
  } catch (e) {
    if (isDomainError(e) && e.code === 'bad-input') return true;
    throw e;
  }
  return false;
}

/** The diagnosis of vm-portclash-03 with the RDP port held by a process hosting `names`. */
function factsWithListener(names: string[]): DiagnosticFacts {
  return { ...facts, listeners: [{ pid: 4242, proc: 'java', svc: names }] };
}

// ---- inputs that pass validation, at the edge of each whitelist --------------------------------

const SERVICE_CHARS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '_', '.', '$', '-'];
/** One service name the diagnosis may report: [A-Za-z0-9_.$-]{1,32}, edges over-represented. */
const serviceNameArb = fc
  .oneof(
    { weight: 4, arbitrary: fc.array(fc.constantFrom(...SERVICE_CHARS), { minLength: 1, maxLength: 32 }).map((cs) => cs.join('')) },
    { weight: 1, arbitrary: fc.constantFrom('MSSQL$SQLEXPRESS', '$', '_', '.', '-', '$'.repeat(32), 'a'.repeat(32), 'b64.QUJD', 'b64.', '-Force', '$env', 'A_B.C-D$E') },
  )
  .filter((n) => !RDP_SERVICES.some((r) => r.toLowerCase() === n.toLowerCase()));
/** 1-3 services hosted by the listening process (the diagnosis reports at most 3 per listener). */
const serviceListArb = fc.uniqueArray(serviceNameArb, { minLength: 1, maxLength: 3 });

/** The same names with one character swapped for a look-alike outside the whitelist. */
const LOOKALIKES: Array<[string, string]> = [
  ['$', '\uFF04'], // fullwidth dollar
  ['$', '\uFE69'], // small dollar
  ['-', '\u2011'], // non-breaking hyphen
  ['-', '\u2013'], // en dash
  ['.', '\u2024'], // one dot leader
  ['_', '\uFF3F'], // fullwidth low line
  ['A', '\u0410'], // Cyrillic A
  ['o', '\u043E'], // Cyrillic o
  ['K', '\u212A'], // Kelvin sign
  ['1', '\uFF11'], // fullwidth digit one
  ['0', '\u0660'], // Arabic-Indic zero
];
const lookalikeArb = fc.tuple(fc.constantFrom(...LOOKALIKES), fc.string({ unit: fc.constantFrom('a', 'Z', '9', '_'), maxLength: 20 }), fc.boolean()).map(([[, look], rest, zw]) => `${rest}${look}${zw ? '\u200B' : ''}`);

const octet = fc.integer({ min: 0, max: 255 });
/** Canonical IPv4 CIDRs from /8 to /32 (no host bits): what restrict-rdp-source must accept. */
const cidrArb = fc.tuple(fc.integer({ min: 1, max: 255 }), octet, octet, octet, fc.integer({ min: 8, max: 32 })).map(([a, b, c, d, bits]) => {
  const ip = (((a << 24) >>> 0) + (b << 16) + (c << 8) + d) >>> 0;
  const size = 2 ** (32 - bits);
  const base = Math.floor(ip / size) * size;
  const first = Math.max(base, 2 ** 24); // never 0.x.x.x
  const text = [first >>> 24, (first >>> 16) & 255, (first >>> 8) & 255, first & 255].join('.');
  return bits === 32 ? text : `${text}/${bits}`;
}).filter((s) => {
  const [ip, bits] = s.split('/');
  const o = ip.split('.').map(Number);
  const n = (((o[0] << 24) >>> 0) + (o[1] << 16) + (o[2] << 8) + o[3]) >>> 0;
  return bits === undefined || n % 2 ** (32 - Number(bits)) === 0;
});

const SNAPSHOT_CHARS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '_', '.', '-'];
const ALNUM = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'];
/** Snapshot names up to ARM's 80 characters: starts alphanumeric, ends alphanumeric or _. */
const snapshotNameArb = fc
  .tuple(fc.constantFrom(...ALNUM), fc.array(fc.constantFrom(...SNAPSHOT_CHARS), { maxLength: 78 }), fc.constantFrom(...ALNUM, '_'))
  .map(([a, mid, z]) => `${a}${mid.join('')}${z}`);

describe('hostile values', () => {
  describe.each(FIX_IDS.filter((id) => Object.keys((FIX_PARAMS[id] as unknown as { shape: object }).shape).length > 0))('%s', (fixId) => {
    const keys = Object.keys((FIX_PARAMS[fixId] as unknown as { shape: object }).shape);
    it('are refused as bad input in every parameter, or never reach the script as text', () => {
      fc.assert(
        fc.property(fc.constantFrom(...keys), hostile, (key, value) => {
          let run: FixRun;
          try {
            run = buildFixRun(fixId, { [key]: value }, facts, ctx);
          } catch (e) {
            if (isDomainError(e) && e.code === 'bad-input') return true;
            throw e;
          }
          if (run.kind === 'script') {
            expect(run.script).toBe(SHIPPED(run.scriptId));
            for (const p of run.parameters) expect(p.value).toMatch(CMD_SAFE);
          } else {
            expect(JSON.stringify(run.arm)).not.toContain(value);
          }
          return true;
        }),
        { numRuns: 300, seed: SEED },
      );
    });
  });
});

describe('free-rdp-port: service names that pass validation', () => {
  it('every name the diagnosis reported, at the edge of [A-Za-z0-9_.$-]{1,32}, goes cmd-safe and decodes to the same bytes', () => {
    let passed = 0;
    let encoded = 0;
    let runs = 0;
    fc.assert(
      fc.property(serviceListArb, fc.boolean(), (names, disable) => {
        runs++;
        const run = buildFixRun('free-rdp-port', { service: names.join(','), disable }, factsWithListener(names), ctx);
        passed++;
        if (run.kind !== 'script') throw new Error('free-rdp-port is a script fix');
        expect(run.script).toBe(SHIPPED('fix-free-rdp-port'));
        expect(run.parameters.map((p) => p.name)).toEqual(['Service', 'Disable']);
        const [service, dis] = run.parameters;
        expect(service.value).toMatch(CMD_SAFE);
        expect(received(service.value)).toBe(names.join(','));
        if (service.value.startsWith('b64.')) encoded++;
        // anything outside [A-Za-z0-9.-] (a $ or _, a comma between names, a b64. look-alike) must be encoded
        if (!PLAIN.test(names.join(',')) || names.join(',').startsWith('b64.')) expect(service.value.startsWith('b64.')).toBe(true);
        expect(dis.value).toBe(disable ? '1' : '0');
        return true;
      }),
      { numRuns: 400, seed: SEED },
    );
    // the assertions above ran on real inputs: all of them passed validation, most needed encoding
    expect(passed).toBe(runs);
    expect(encoded / runs).toBeGreaterThan(0.5);
  });

  it('refuses look-alikes outside the whitelist even when the diagnosis reported them', () => {
    fc.assert(
      fc.property(lookalikeArb, (name) => {
        expect(refused(() => buildFixRun('free-rdp-port', { service: name }, factsWithListener([name]), ctx))).toBe(true);
      }),
      { numRuns: 200, seed: SEED },
    );
  });

  it('refuses a name one character past the 32 the diagnosis carries, and a name the diagnosis did not report', () => {
    const long = 'S'.repeat(33);
    expect(refused(() => buildFixRun('free-rdp-port', { service: long }, factsWithListener([long]), ctx))).toBe(true);
    expect(refused(() => buildFixRun('free-rdp-port', { service: 'S'.repeat(32) }, factsWithListener(['S'.repeat(32)]), ctx))).toBe(false);
    expect(refused(() => buildFixRun('free-rdp-port', { service: 'MSSQL$OTHER' }, factsWithListener(['MSSQL$SQLEXPRESS']), ctx))).toBe(true);
  });
});

describe('ARM fixes: values that pass validation go into the request exactly', () => {
  it('restrict-rdp-source: every canonical CIDR from /8 to /32 (up to 18 characters) is the new rule source', () => {
    let passed = 0;
    fc.assert(
      fc.property(cidrArb, (cidr) => {
        const run = buildFixRun('restrict-rdp-source', { source: cidr }, exposedFacts, exposedCtx);
        passed++;
        if (run.kind !== 'arm' || run.arm.op !== 'nsgRules') throw new Error('restrict-rdp-source writes NSG rules');
        const allows = run.arm.rules.filter((r) => r.rule.access === 'Allow' && r.action !== 'delete');
        expect(allows.length).toBeGreaterThan(0);
        for (const r of allows) expect([r.rule.sourceAddressPrefix, ...(r.rule.sourceAddressPrefixes ?? [])].filter((x) => x !== undefined)).toEqual([cidr]);
      }),
      { numRuns: 200, seed: SEED },
    );
    expect(passed).toBe(200);
  });

  it('restrict-rdp-source refuses digits that only look like ASCII', () => {
    for (const s of ['\uFF11\uFF10.0.0.0/8', '10.0.0.0\u200B/8', '\u0661\u0660.0.0.0/8', '10.0.0.0\u22158', '10\u30020.0.0/8']) {
      expect(refused(() => buildFixRun('restrict-rdp-source', { source: s }, exposedFacts, exposedCtx))).toBe(true);
    }
  });

  it('snapshot-os-disk: names up to 80 characters are the snapshot name, unchanged', () => {
    fc.assert(
      fc.property(snapshotNameArb, (name) => {
        const run = buildFixRun('snapshot-os-disk', { snapshotName: name }, facts, ctx);
        expect(run.kind === 'arm' && run.arm.op === 'snapshotOsDisk' ? run.arm.snapshotName : null).toBe(name);
      }),
      { numRuns: 200, seed: SEED },
    );
    expect(refused(() => buildFixRun('snapshot-os-disk', { snapshotName: `a${'b'.repeat(80)}` }, facts, ctx))).toBe(true);
    expect(refused(() => buildFixRun('snapshot-os-disk', { snapshotName: 'snap\u2011shot' }, facts, ctx))).toBe(true);
  });

  it('change-rdp-port: the ports 1025-49151 go as plain digits; fullwidth digits are refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1025, max: 49151 }).filter((p) => ![3389, 5985, 5986, 47001].includes(p)), fc.boolean(), (port, asText) => {
        const run = buildFixRun('change-rdp-port', { port: asText ? String(port) : port }, facts, ctx);
        expect(run.kind === 'script' ? run.parameters : null).toEqual([{ name: 'Port', value: String(port) }]);
      }),
      { numRuns: 200, seed: SEED },
    );
    expect(refused(() => buildFixRun('change-rdp-port', { port: '\uFF13\uFF13\uFF18\uFF19' }, facts, ctx))).toBe(true);
    // Windows' dynamic range, which fix-change-rdp-port.ps1 refuses on the VM too (issue #17, dialogs)
    for (const port of [49152, '50000', 65535]) expect(refused(() => buildFixRun('change-rdp-port', { port }, facts, ctx))).toBe(true);
  });
});

/**
 * The end of the chain: the generated requests go through the real gateway and SDK to the
 * simulator, which records the Run Command body it received; with PowerShell, the shipped
 * fix-free-rdp-port.ps1 then runs under the modelled Windows with exactly those parameters and
 * reports the service names it got.
 */
describe('free-rdp-port: what the VM receives', () => {
  const SUB = '6f1c2d3e-4a5b-4c6d-8e7f-0000000000a1';
  const samples = fc.sample(serviceListArb, { numRuns: 8, seed: SEED }).concat([['MSSQL$SQLEXPRESS'], ['$'.repeat(32), '_', 'b64.QUJD']]);
  const got: Array<{ names: string[]; script: string; parameters: ScriptParameter[] }> = [];

  beforeAll(async () => {
    const recorder: VmInterior = {
      engine: 'emulate',
      run(_vm, _scriptId, parameters, _now, script): InteriorResult {
        got.push({ names: [], script: script ?? '', parameters: parameters.map((p) => ({ ...p })) });
        return { stdout: '', stderr: '', changed: false };
      },
      onRestart: () => undefined,
    };
    const fleet = parseFleet({ subscriptionId: SUB, vms: [{ ...portclash, resourceGroup: 'rg-edge' }] });
    const sim = await startSimulator({ fleet, interior: recorder, port: 0 });
    try {
      const gw = createAzureGateway({ endpoint: sim.endpoint, caPem: sim.caPem, subscriptionIds: [SUB], timings: { pollIntervalInMs: 10 } });
      const vmId = `/subscriptions/${SUB}/resourceGroups/rg-edge/providers/Microsoft.Compute/virtualMachines/${portclash.name}`;
      for (const names of samples) {
        const run = buildFixRun('free-rdp-port', { service: names.join(',') }, factsWithListener(names), ctx);
        if (run.kind !== 'script') throw new Error('free-rdp-port is a script fix');
        await gw.runScript(vmId, { scriptId: run.scriptId, script: run.script, parameters: run.parameters });
        got[got.length - 1].names = names;
      }
    } finally {
      await sim.close();
    }
  }, 60_000);

  it('the simulator received the shipped script, and parameters that decode to the names', () => {
    expect(got).toHaveLength(samples.length);
    for (const g of got) {
      expect(g.script).toBe(SHIPPED('fix-free-rdp-port'));
      expect(g.parameters.map((p) => p.name)).toEqual(['Service', 'Disable']);
      expect(g.parameters[0].value).toMatch(CMD_SAFE);
      expect(received(g.parameters[0].value)).toBe(g.names.join(','));
    }
  });

  const pwsh = pwshForTests('free-rdp-port parameters under the real script');
  (pwsh ? it : it.skip)('the real script, run with those parameters against the modelled Windows, got every name byte for byte', async () => {
    const base = portclash.windows as WindowsState;
    const runs = got.map((g, i) => {
      const windows: WindowsState = JSON.parse(JSON.stringify(base)) as WindowsState;
      windows.listeners = [{ port: windows.rdpPort, pid: 4242, process: 'java', services: g.names }];
      for (const n of g.names) windows.services[n] = 'Running';
      return { id: `edge${i}`, windows, script: g.script, parameters: g.parameters, now: NOW, boot: new Date(NOW.getTime() - 3_600_000) };
    });
    const results = await runModelBatch(runs, { pwsh: pwsh as string });
    results.forEach((r, i) => {
      const line = r.stdout.trim().split('\n').pop() ?? '';
      const status = JSON.parse(line) as { service: string | null; status: string; stopped: string[] };
      expect({ service: status.service, status: status.status }).toEqual({ service: got[i].names.join(','), status: 'done' });
      expect(status.stopped).toEqual(got[i].names);
    });
  }, 180_000);
});

it('every script fix ships its own script and no fix script contains a placeholder for user text', () => {
  for (const id of FIX_IDS) {
    const def = FIXES[id];
    if (def.kind !== 'script' || !def.scriptId) continue;
    expect(SHIPPED(def.scriptId)).not.toMatch(/\{\{|__[A-Z]+__|\$\{/);
  }
});

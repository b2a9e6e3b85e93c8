import fc from 'fast-check';
import { isDomainError } from '../../services/errors';
import { buildFixRun, FIX_IDS, FIX_PARAMS, FIXES } from '../../services/runbook/fixes';
import { getScript } from '../../services/runbook/scripts';
import { demoVm, effectiveNsgsOf, NOW, vmDetailsOf } from './runbook-helpers';
import { parseDiagnosticOutput } from '../../services/runbook/diagnostic-output';
import { createVmInterior } from '../../services/simulator/vm-interior';

/**
 * Fix parameters with shell and PowerShell metacharacters never reach script source: every fix
 * of the catalogue either refuses them (bad input) or passes them as cmd-safe text (Base64 when
 * outside [A-Za-z0-9.-]), and its script is exactly the shipped file.
 */
const META = ['&', '|', ';', '$(', ')', '`', "'", '"', '^', '%', '\n', '\r', '<', '>', ' ', '$env:x', '@(', '#', '\u0000', 'ы'];
const hostile = fc
  .tuple(fc.string({ maxLength: 12 }), fc.array(fc.constantFrom(...META), { minLength: 1, maxLength: 4 }), fc.string({ maxLength: 12 }))
  .map(([a, m, b]) => `${a}${m.join('')}${b}`);
const CMD_SAFE = /^[A-Za-z0-9.+/=-]*$/;

const vm = demoVm('vm-portclash-03');
const facts = parseDiagnosticOutput(createVmInterior().run(vm, 'diagnose', [], NOW).stdout);
const ctx = { vm: vmDetailsOf(vm), nsgs: effectiveNsgsOf(vm), now: NOW };

describe.each(FIX_IDS.filter((id) => Object.keys((FIX_PARAMS[id] as unknown as { shape: object }).shape).length > 0))('%s', (fixId) => {
  const keys = Object.keys((FIX_PARAMS[fixId] as unknown as { shape: object }).shape);
  it('refuses or encodes hostile values in every parameter', () => {
    fc.assert(
      fc.property(fc.constantFrom(...keys), hostile, (key, value) => {
        let run;
        try {
          run = buildFixRun(fixId, { [key]: value }, facts, ctx);
        } catch (e) {
          if (isDomainError(e) && e.code === 'bad-input') return true;
          throw e;
        }
        if (run.kind === 'script') {
          expect(run.script).toBe(getScript(run.scriptId).source);
          for (const p of run.parameters) expect(p.value).toMatch(CMD_SAFE);
        } else {
          expect(JSON.stringify(run.arm)).not.toContain(value);
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });
});

it('every script fix ships its own script and no fix script contains a placeholder for user text', () => {
  for (const id of FIX_IDS) {
    const def = FIXES[id];
    if (def.kind !== 'script' || !def.scriptId) continue;
    const src = getScript(def.scriptId).source;
    expect(src).not.toMatch(/\{\{|__[A-Z]+__|\$\{/);
  }
});

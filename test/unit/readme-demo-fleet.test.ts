import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { helpCard } from '../../cards/help';
import { welcomeCard } from '../../cards/welcome';
import { allCatalogues, LANGS, translator } from '../../services/i18n';
import { parseDiagnosticOutput } from '../../services/runbook/diagnostic-output';
import { blockers, evaluate } from '../../services/runbook/findings';
import { fixesFor } from '../../services/runbook/fixes';
import type { FleetVm } from '../../services/simulator/fleet';
import { createVmInterior } from '../../services/simulator/vm-interior';
import { cardText } from '../support/connector';
import { demoFleetVms, effectiveNsgsOf, NOW, vmDetailsOf } from './runbook-helpers';

/**
 * The VMs people are told about exist: the examples of the welcome and help cards (en and ru),
 * and the README's table of the demo fleet, whose findings and fixes are what a diagnosis of
 * each VM gives (issue #13, item 1).
 */
const fleetNames = demoFleetVms().map((v) => v.name);
const VM_NAME = /\bvm-[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]\b/g;

function diagnosis(vm: FleetVm): { findings: string[]; fixes: string[] } {
  const details = vmDetailsOf(vm);
  const nsgs = effectiveNsgsOf(vm);
  const stop = blockers(details);
  const findings = stop.length
    ? [...stop, ...evaluate({ vm: details, nsgs, facts: null, now: NOW })]
    : evaluate({ vm: details, nsgs, facts: parseDiagnosticOutput(createVmInterior().run(vm, 'diagnose', [], NOW).stdout), now: NOW });
  return { findings: findings.map((f) => f.id), fixes: fixesFor(findings).map((f) => f.id).filter((id) => id !== 'snapshot-os-disk') };
}

describe('examples name VMs of the demo fleet', () => {
  it.each(LANGS)('the welcome and help cards (%s) name demo VMs, and only those', (lang) => {
    const t = translator(lang);
    const text = [t('welcome.text'), cardText(welcomeCard(t, { demoMode: true })), cardText(helpCard(t, { demoMode: true }))].join('\n');
    const named = text.match(VM_NAME) ?? [];
    expect(named.length).toBeGreaterThanOrEqual(2);
    for (const name of named) expect([name, fleetNames.includes(name)]).toEqual([name, true]);
  });

  it.each(LANGS)('every VM name in a message of the %s catalogue is a demo VM', (lang) => {
    for (const [key, text] of allCatalogues()[lang]) {
      for (const name of text.match(VM_NAME) ?? []) expect([key, name, fleetNames.includes(name)]).toEqual([key, name, true]);
    }
  });
});

describe("the README's demo fleet table", () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = /^### The demo fleet\n([\s\S]*?)(?=\n#{2,3} )/m.exec(readme)?.[1] ?? '';
  const rows = section
    .split('\n')
    .filter((l) => /^\| `vm-/.test(l))
    .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()))
    .map(([vm, wrong, finds, fix]) => ({ vm: vm.replace(/`/g, ''), wrong, finds: ticks(finds), fixes: ticks(fix) }));

  function ticks(cell: string): string[] {
    return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
  }

  it('lists every VM of the demo fleet, in the order of the fleet file', () => {
    expect(rows.map((r) => r.vm)).toEqual(fleetNames);
    for (const r of rows) expect(r.wrong.length).toBeGreaterThan(0);
  });

  it.each(demoFleetVms().map((vm) => [vm.name, vm] as const))('%s: the findings and fixes are what its diagnosis gives', (name, vm) => {
    const row = rows.find((r) => r.vm === name);
    expect(row).toBeDefined();
    const want = diagnosis(vm);
    expect({ finds: row?.finds, fixes: row?.fixes }).toEqual({ finds: want.findings, fixes: want.fixes });
  });
});

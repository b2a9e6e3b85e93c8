import { z } from 'zod';
import { stepFailed, VM_NAME, type DiagnosticFacts, type ListenerFacts } from '../diagnostic-output';
import { encodeParam } from '../scripts';
import { DEFAULT_RDP_PORT } from './checks';
import { badInput, ev, findingOf, noParams, parseParams, requireFacts, scriptRun, flag } from './kit';
import { portMoveChanges } from './nsg-changes';
import type { FixRun } from '../fixes';
import type { Cause } from './types';
import { undoChangeRdpPort } from '../undo-more';

const STOPPED = { id: 'termservice-stopped', severity: 'critical' } as const;
const CONFLICT = { id: 'rdp-port-conflict', severity: 'critical' } as const;
const NOT_LISTENING = { id: 'rdp-not-listening', severity: 'critical' } as const;

const portParam = z.union([z.number(), z.string().regex(/^\d{1,5}$/).transform(Number)]).pipe(z.number().int().min(1025).max(65535));
const serviceName = z.string().regex(/^[A-Za-z0-9_.$ -]{1,80}$/);
/** One service name, or several separated by commas: every service the listening process hosts (SCRIPT-REVIEW A13). */
const serviceNames = z.string().regex(/^[A-Za-z0-9_.$ -]{1,80}(,[A-Za-z0-9_.$ -]{1,80}){0,7}$/);
const freeParams = z.strictObject({ service: serviceNames, disable: flag.optional() });
const changeParams = z.strictObject({ port: portParam });
/** Ports Windows management uses (WinRM): moving RDP there breaks remote management. */
const RESERVED_PORTS = new Set([5985, 5986, 47001]);
/** Windows' default dynamic port range starts here: fix-change-rdp-port.ps1 refuses a port from it (an outgoing connection may take it). */
export const DYNAMIC_PORTS_FROM = 49152;

/**
 * change-rdp-port's free-port check as far as the diagnosis can tell (the dialog shows it when
 * it opens, dialogs/task-modules.ts): the port RDP is configured on and what listens there, the
 * ports `build` refuses, and where the dynamic range starts. The diagnosis reads the listeners
 * of the RDP port only; the fix script checks the new port on the VM before it changes anything.
 */
export function rdpPortCheck(facts: DiagnosticFacts | null): { port: number; heldBy: ListenerFacts[]; reserved: number[]; dynamicFrom: number } {
  const port = facts?.port ?? DEFAULT_RDP_PORT;
  const heldBy = facts && !stepFailed(facts, 'listen') ? (facts.listeners ?? []) : [];
  return { port, heldBy, reserved: [...RESERVED_PORTS], dynamicFrom: DYNAMIC_PORTS_FROM };
}

/** Services that hold the RDP port according to the diagnosis (the only ones free-rdp-port may stop). */
export function conflictingServices(facts: DiagnosticFacts): string[] {
  const out: string[] = [];
  for (const l of facts.listeners ?? []) {
    if (l.svc.includes('TermService')) continue;
    for (const s of l.svc) if (VM_NAME.test(s) && !out.includes(s)) out.push(s);
  }
  return out;
}

/**
 * TermService and the listener on the RDP port: the service stopped, another process holding
 * the port, or nothing listening although the service runs. One module because the three read
 * the same two steps and exclude each other.
 */
export const listener = {
  name: 'listener',
  findings: [STOPPED, CONFLICT, NOT_LISTENING],
  check({ facts: f }) {
    if (!f) return [];
    const out = [];
    const port = f.port ?? DEFAULT_RDP_PORT;
    const term = f.services?.TermService;
    const termRunning = term?.state === 'Running';
    // a Disabled TermService is reported as termservice-disabled (termservice-config.ts) instead
    if (f.services && !stepFailed(f, 'svc') && !termRunning && term?.start !== 'Disabled') {
      out.push(
        findingOf(STOPPED, [
          term ? ev('serviceState', { service: 'TermService', state: term.state, start: term.start }) : ev('serviceAbsent', { service: 'TermService' }),
        ]),
      );
    }
    if (f.listeners && !stepFailed(f, 'listen')) {
      const others = f.listeners.filter((l) => !l.svc.includes('TermService'));
      if (others.length > 0) {
        out.push(
          findingOf(
            CONFLICT,
            others.map((l) => ev('portHeldBy', { port, pid: l.pid, process: l.proc, services: l.svc.length > 0 ? l.svc.join(', ') : '-' })),
          ),
        );
      } else if (f.listeners.length === 0 && termRunning) {
        out.push(findingOf(NOT_LISTENING, [ev('notListening', { port })]));
      }
    }
    return out;
  },
  fixes: [
    {
      id: 'free-rdp-port',
      addresses: ['rdp-port-conflict'],
      risk: 'medium',
      changesDisk: true,
      needsRestart: false,
      kind: 'script',
      scriptId: 'fix-free-rdp-port',
      params: freeParams,
      noUndoReason: 'free-rdp-port',
      inputs: [
        { id: 'service', type: 'choice', labelKey: 'fixes.input.service', errorKey: 'fixes.input.serviceError', choicesFrom: (facts) => (facts ? conflictingServices(facts) : []) },
        { id: 'disable', type: 'toggle', labelKey: 'fixes.input.disableService' },
      ],
      build(params, facts): FixRun {
        const p = parseParams(freeParams, params, 'free-rdp-port');
        const f = requireFacts(facts, 'free-rdp-port');
        const allowed = conflictingServices(f);
        const names = p.service.split(',').map((n) => n.trim());
        for (const name of names) {
          if (!serviceName.safeParse(name).success || !allowed.includes(name) || ['TermService', 'SessionEnv', 'UmRdpService'].includes(name)) {
            throw badInput('runbook.param.serviceNotHolding', { service: name.slice(0, 80), port: f.port ?? DEFAULT_RDP_PORT });
          }
        }
        return scriptRun('free-rdp-port', 'fix-free-rdp-port', false, [
          { name: 'Service', value: encodeParam(names.join(',')) },
          { name: 'Disable', value: p.disable ? '1' : '0' },
        ]);
      },
    },
    {
      id: 'change-rdp-port',
      addresses: ['rdp-port-conflict'],
      risk: 'high',
      changesDisk: true,
      needsRestart: false,
      kind: 'script',
      scriptId: 'fix-change-rdp-port',
      params: changeParams,
      undo: undoChangeRdpPort,
      readsNsgs: true,
      inputs: [{ id: 'port', type: 'number', labelKey: 'fixes.input.port', errorKey: 'fixes.input.portError', placeholder: '3390', min: 1025, max: 65535 }],
      build(params, facts, ctx): FixRun {
        const p = parseParams(changeParams, params, 'change-rdp-port');
        const f = requireFacts(facts, 'change-rdp-port');
        const current = f.port ?? DEFAULT_RDP_PORT;
        if (p.port === current) throw badInput('runbook.param.portSame', { port: p.port });
        if (RESERVED_PORTS.has(p.port)) throw badInput('runbook.param.portReserved', { port: p.port });
        // the script refuses it on the VM too; refused here, the request never reaches an approver
        if (p.port >= DYNAMIC_PORTS_FROM) throw badInput('runbook.param.portDynamic', { port: p.port, from: DYNAMIC_PORTS_FROM, last: DYNAMIC_PORTS_FROM - 1 });
        const run = scriptRun('change-rdp-port', 'fix-change-rdp-port', false, [{ name: 'Port', value: String(p.port) }]);
        const rules = portMoveChanges(ctx.nsgs, current, p.port, ctx.nsgDetails ?? null);
        return rules.length > 0 ? { ...run, arm: { op: 'nsgRules', rules } } : run;
      },
    },
    {
      id: 'start-termservice',
      addresses: ['termservice-stopped', 'rdp-not-listening'],
      risk: 'low',
      changesDisk: true,
      needsRestart: false,
      kind: 'script',
      scriptId: 'fix-start-termservice',
      params: noParams,
      noUndoReason: 'start-termservice',
      build(params): FixRun {
        parseParams(noParams, params, 'start-termservice');
        return scriptRun('start-termservice', 'fix-start-termservice', false, []);
      },
    },
  ],
} as const satisfies Cause;

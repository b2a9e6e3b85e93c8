import type { ScriptParameter } from '../../azure/gateway';
import { CAPS, stepFailed, type DiagnosticFacts } from '../diagnostic-output';
import type { Finding } from '../findings';
import { encodeParam } from '../scripts';
import type { UndoScript } from '../undo';
import { ev, findingOf, noParams, parseParams, scriptRun } from './kit';
import type { Cause } from './types';

/**
 * TermService misconfigured (CONTRACTS §1b): start mode Disabled, an account other than
 * NT Authority\NetworkService, and crashes logged by the Service Control Manager (7031/7034).
 * The fix puts back what Microsoft's "Remote Desktop Services isn't starting" article restores:
 * start mode Manual (demand), NT Authority\NetworkService, its own process (type 16).
 */
const DISABLED = { id: 'termservice-disabled', severity: 'critical' } as const;
const ACCOUNT = { id: 'termservice-wrong-account', severity: 'critical' } as const;
const CRASHING = { id: 'termservice-crashing', severity: 'warning' } as const;

export const TERMSERVICE_ACCOUNT = 'NT Authority\\NetworkService';
export const TERMSERVICE_ARTICLE = 'https://learn.microsoft.com/en-us/troubleshoot/azure/virtual-machines/windows/troubleshoot-remote-desktop-services-issues';

/**
 * Network Service as Windows writes it: Win32_Service.StartName shows `NT AUTHORITY\NetworkService`,
 * sc.exe and the article `NT Authority\NetworkService`, the account picker `NT AUTHORITY\NETWORK SERVICE`.
 */
export function isNetworkService(account: string): boolean {
  const a = account.toLowerCase().replace(/\s+/g, '');
  return a === 'ntauthority\\networkservice';
}

/** Accounts an undo may put back: they need no password (sc.exe config obj= without password=). */
const BUILTIN_ACCOUNTS = /^(localsystem|nt authority\\(local ?service|network ?service))$/i;

function countText(n: number): string | number {
  return n >= CAPS.events ? `${CAPS.events}+` : n;
}

function check(f: DiagnosticFacts): Finding[] {
  const out: Finding[] = [];
  const term = f.services?.TermService;
  if (term && !stepFailed(f, 'svc') && term.start === 'Disabled') out.push(findingOf(DISABLED, [ev('termserviceDisabled', { state: term.state })]));
  const rs = f.rs;
  if (rs?.acct && !isNetworkService(rs.acct)) out.push(findingOf(ACCOUNT, [ev('termserviceAccount', { account: rs.acct })]));
  if (rs?.crash) out.push(findingOf(CRASHING, [ev('termserviceCrashed', { count: countText(rs.crash), since: f.since })]));
  return out;
}

export const termserviceConfig = {
  name: 'termservice-config',
  findings: [DISABLED, ACCOUNT, CRASHING],
  check: (input) => (input.facts ? check(input.facts) : []),
  fixes: [
    {
      id: 'reset-termservice-config',
      addresses: ['termservice-disabled', 'termservice-wrong-account'],
      // the service's identity changes (back to the least-privileged one Windows ships); a bad value stops RDP until undone
      risk: 'medium',
      // the SCM applies an account and a process type when the service starts; a disabled service needs starting: the VM restarts
      needsRestart: true,
      changesDisk: true,
      kind: 'script',
      scriptId: 'fix-reset-termservice-config',
      params: noParams,
      build(params) {
        parseParams(noParams, params, 'reset-termservice-config');
        return scriptRun('reset-termservice-config', 'fix-reset-termservice-config', true, []);
      },
      undo(status): UndoScript | null {
        const before = status.before as { start?: unknown; account?: unknown; type?: unknown } | null | undefined;
        if (!before || typeof before !== 'object') return null;
        const changed = Array.isArray(status.changed) ? status.changed : [];
        const parameters: ScriptParameter[] = [];
        if (changed.includes('start')) {
          if (before.start !== 'Auto' && before.start !== 'Manual' && before.start !== 'Disabled') return null;
          parameters.push({ name: 'StartMode', value: before.start });
        }
        if (changed.includes('account')) {
          // an account with a password cannot be put back without it: no undo
          if (typeof before.account !== 'string' || !BUILTIN_ACCOUNTS.test(before.account)) return null;
          parameters.push({ name: 'Account', value: encodeParam(before.account) });
        }
        if (changed.includes('type')) {
          if (before.type !== 'own' && before.type !== 'share') return null;
          parameters.push({ name: 'Type', value: before.type });
        }
        return parameters.length > 0 ? { id: 'undo-reset-termservice-config', parameters, needsRestart: true } : null;
      },
    },
  ],
  guidance: [{ findingId: 'termservice-crashing', who: 'helpdesk', textKey: 'runbook.guidance.termservice-crashing', article: TERMSERVICE_ARTICLE }],
} as const satisfies Cause;

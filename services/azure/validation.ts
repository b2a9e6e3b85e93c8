import { DomainError } from '../errors';
import type { RunScriptOptions, SecurityRuleSpec } from './gateway';

/**
 * Checks on what reaches Azure from above. Run Command parameters pass through a cmd.exe
 * command line on the VM, so values are limited to characters it does not interpret
 * (callers Base64-encode anything else). Values are never echoed into errors or logs.
 */
const SCRIPT_ID = /^[a-z0-9-]{1,64}$/;
const PARAM_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const PARAM_VALUE = /^[A-Za-z0-9.+/=:_,-]{0,4096}$/;
const HEADER = /^#\s*rdp-doctor-script:\s*([a-z0-9-]+)\s*$/m;
const SNAPSHOT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,78}[A-Za-z0-9_]$|^[A-Za-z0-9]$/;
const RULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,78}[A-Za-z0-9_]$|^[A-Za-z0-9]$/;
const PREFIX = /^(\*|Internet|VirtualNetwork|AzureLoadBalancer|[A-Za-z][A-Za-z0-9.]*|(\d{1,3}\.){3}\d{1,3}(\/\d{1,2})?|[0-9a-fA-F:]+(\/\d{1,3})?)$/;
const PORT_RANGE = /^(\*|\d{1,5}(-\d{1,5})?)$/;

const bad = (message: string, field: string): DomainError => new DomainError('bad-input', message, { params: { field } });

export function validateRunScript(o: RunScriptOptions): void {
  if (!SCRIPT_ID.test(o.scriptId)) throw bad('script id must be lower-case letters, digits and dashes', 'scriptId');
  const declared = HEADER.exec(o.script)?.[1];
  if (declared !== undefined && declared !== o.scriptId) throw bad('script header names another script id', 'scriptId');
  if (o.script.trim().length === 0) throw bad('empty script', 'script');
  const names = new Set<string>();
  for (const p of o.parameters ?? []) {
    if (!PARAM_NAME.test(p.name)) throw bad('invalid script parameter name', 'parameters');
    if (names.has(p.name.toLowerCase())) throw bad('duplicate script parameter', 'parameters');
    names.add(p.name.toLowerCase());
    if (!PARAM_VALUE.test(p.value)) throw bad(`script parameter ${p.name} has characters that cmd.exe would mangle`, 'parameters');
  }
}

/** The simulator and the logs tell which project script ran by this header line. */
export function withScriptHeader(scriptId: string, script: string): string {
  return HEADER.test(script) ? script : `# rdp-doctor-script: ${scriptId}\n${script}`;
}

/** The `script` lines Run Command receives for a script: what the VM runs is these lines joined by newlines. */
export function runCommandLines(scriptId: string, script: string): string[] {
  return withScriptHeader(scriptId, script).split(/\r?\n/);
}

/** The exact text a VM runs for this script (the lines joined), as shown to people and hashed on cards. */
export function runCommandText(scriptId: string, script: string): string {
  return runCommandLines(scriptId, script).join('\n');
}

export function validateSnapshotName(name: string): void {
  if (!SNAPSHOT_NAME.test(name)) throw bad('snapshot name must be 1-80 letters, digits, _ . - (ending with a letter, digit or _)', 'snapshotName');
}

export function validateRuleName(name: string): void {
  if (!RULE_NAME.test(name)) throw bad('invalid security rule name', 'name');
}

export function validateRuleSpec(r: SecurityRuleSpec): void {
  validateRuleName(r.name);
  if (!Number.isInteger(r.priority) || r.priority < 100 || r.priority > 4096) throw bad('security rule priority must be 100-4096', 'priority');
  const prefixes = [r.sourceAddressPrefix, ...(r.sourceAddressPrefixes ?? []), r.destinationAddressPrefix].filter((p): p is string => p !== undefined);
  if (prefixes.some((p) => !PREFIX.test(p))) throw bad('invalid address prefix', 'sourceAddressPrefix');
  const ports = [r.sourcePortRange, r.destinationPortRange, ...(r.destinationPortRanges ?? [])].filter((p): p is string => p !== undefined);
  if (ports.some((p) => !PORT_RANGE.test(p) || p.split('-').some((n) => n !== '*' && (Number(n) < 0 || Number(n) > 65535)))) throw bad('invalid port range', 'destinationPortRange');
  if (!r.sourceAddressPrefix && !(r.sourceAddressPrefixes && r.sourceAddressPrefixes.length > 0)) throw bad('a source address prefix is required', 'sourceAddressPrefix');
  if (!r.destinationPortRange && !(r.destinationPortRanges && r.destinationPortRanges.length > 0)) throw bad('a destination port range is required', 'destinationPortRange');
}

import type { ScriptParameter } from '../azure/gateway';

/**
 * How the project's scripts see their parameters and compare strings, for the emulation of the
 * fix and undo scripts (vm-interior-fixes*.ts, vm-interior-undo.ts): one copy of each rule.
 */

/** PowerShell's `[string]$x` parameter binding: an absent parameter takes the script's default. */
export function param(ps: ScriptParameter[], name: string, fallback: string): string {
  const p = ps.find((x) => x.name.toLowerCase() === name.toLowerCase());
  return p === undefined ? fallback : p.value;
}

/** PowerShell's -eq on strings: case-insensitive. */
export const eqi = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** Test-Value of the undo scripts: keep, absent (any case) or a DWORD in decimal (1..10 digits, <= 4294967295). */
export function validDword(v: string): boolean {
  if (eqi(v, 'keep') || eqi(v, 'absent')) return true;
  return /^[0-9]{1,10}$/.test(v) && Number(v) <= 4294967295;
}

/** A REG_DWORD as the scripts compare it: unsigned decimal (the registry provider returns Int32, 0xFFFFFFFF as -1). */
export const unsigned = (n: number | null | undefined): string | null => (n === undefined || n === null ? null : String(n < 0 ? n + 4294967296 : n));

/** What a DWORD write of the unsigned decimal leaves in the registry, as the provider reads it back (Int32). */
export const int32 = (want: string): number => {
  const n = Number(want);
  return n > 2147483647 ? n - 4294967296 : n;
};

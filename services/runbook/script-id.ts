/**
 * The header line every shipped script starts with, `# rdp-doctor-script: <id>`: it names the
 * script in Run Command logs and lets the simulator recognise it. The runbook owns the format;
 * the simulator reads it from here (a leaf module: no script files are loaded for it).
 */
export const SCRIPT_ID_PATTERN = /^#\s*rdp-doctor-script:\s*([a-z0-9-]+)\s*$/m;

/** The id in a script's header line, or null when the text is not one of the project's scripts. */
export function scriptIdOf(script: string): string | null {
  const m = SCRIPT_ID_PATTERN.exec(script);
  return m ? m[1] : null;
}

import { findPwsh, pwshWorks } from '../../services/simulator/pwsh-interior';

/**
 * The pwsh binary for tests that run the real scripts, or null (the caller skips) after one clear
 * line. With CI=true a missing PowerShell is a failure, never a skip: CI installs it
 * (`npm run setup:pwsh`).
 */
export function pwshForTests(suite: string): string | null {
  const pwsh = findPwsh();
  if (pwsh && pwshWorks(pwsh)) return pwsh;
  if (process.env.CI === 'true') {
    throw new Error(`${suite}: PowerShell is required with CI=true (npm run setup:pwsh, or PWSH=<pwsh binary>)`);
  }
  // one line, on purpose: a developer without .NET still gets a green run, and is told what did not run
  process.stdout.write(`SKIPPED ${suite}: PowerShell not found (npm run setup:pwsh installs it into .tools/)\n`);
  return null;
}

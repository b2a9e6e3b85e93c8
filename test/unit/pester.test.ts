import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../services/simulator/pwsh-interior';
import { pwshForTests } from '../support/pwsh';

/**
 * The Pester suites of the PowerShell scripts (test/pwsh/*.Tests.ps1), run under pwsh against the
 * modelled Windows. One jest test per Pester file: it fails with the names and messages of the
 * Pester tests that failed.
 */
const root = repoRoot();
const dir = join(root, 'test', 'pwsh');
const files = readdirSync(dir).filter((f) => f.endsWith('.Tests.ps1')).sort();
const pester = join(root, '.tools', 'pester', 'pester', '5.7.1', 'tools', 'Pester.psd1');

interface PesterTest {
  file: string;
  name: string;
  result: string;
  message: string;
}

const pwsh = pwshForTests('Pester suites (test/pwsh)');
const d = pwsh ? describe : describe.skip;

d('Pester suites of the PowerShell scripts', () => {
  let results: PesterTest[] = [];

  beforeAll(() => {
    if (!existsSync(pester)) throw new Error(`Pester is not installed at ${pester}: npm run setup:pwsh`);
    const out = mkdtempSync(join(tmpdir(), 'rdp-doctor-pester-'));
    try {
      const resultFile = join(out, 'results.json');
      const command = [
        `Import-Module '${pester}'`,
        `$c = New-PesterConfiguration`,
        `$c.Run.Path = '${dir}'`,
        `$c.Run.PassThru = $true`,
        `$c.Output.Verbosity = 'None'`,
        `$r = Invoke-Pester -Configuration $c`,
        `$list = @($r.Tests | ForEach-Object { [ordered]@{ file = [System.IO.Path]::GetFileName($_.ScriptBlock.File); name = $_.ExpandedPath; result = [string]$_.Result; message = [string]($_.ErrorRecord | Select-Object -First 1) } })`,
        `$extra = @($r.Containers | Where-Object { $_.Result -eq 'Failed' -and $_.ErrorRecord } | ForEach-Object { [ordered]@{ file = [System.IO.Path]::GetFileName([string]$_.Item); name = '(file failed to run)'; result = 'Failed'; message = [string]($_.ErrorRecord | Select-Object -First 1) } })`,
        `ConvertTo-Json -InputObject @($list + $extra) -Depth 4 | Set-Content -LiteralPath '${resultFile}' -Encoding utf8`,
      ].join('; ');
      const r = spawnSync(pwsh as string, ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', command], { encoding: 'utf8', cwd: root, timeout: 600_000, stdio: ['ignore', 'pipe', 'pipe'] });
      if (!existsSync(resultFile)) throw new Error(`Invoke-Pester wrote no results (exit ${r.status}): ${r.stderr.slice(-3000)}${r.stdout.slice(-3000)}`);
      results = JSON.parse(readFileSync(resultFile, 'utf8').replace(/^\uFEFF/, '')) as PesterTest[];
      const passed = results.filter((t) => t.result === 'Passed').length;
      process.stdout.write(`Pester: ${passed} passed, ${results.filter((t) => t.result === 'Failed').length} failed, ${results.length} in ${files.length} files\n`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 600_000);

  it.each(files)('%s: every Pester test passes', (file) => {
    const mine = results.filter((t) => t.file === file);
    expect(mine.length).toBeGreaterThan(0);
    const failed = mine.filter((t) => t.result !== 'Passed' && t.result !== 'Skipped').map((t) => `${t.name}: ${t.message}`);
    expect(failed).toEqual([]);
  });
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DomainError } from '../../services/errors';
import { CAPS } from '../../services/runbook/diagnostic-output';
import { offlineRepairScripts, validateDriveLetter } from '../../services/runbook/offline';
import { DIAGNOSE_SCRIPT, SCRIPT_IDS, scriptsDir } from '../../services/runbook/scripts';
import { scriptIdOf } from '../../services/simulator/interior';

const root = join(__dirname, '..', '..');
const dir = scriptsDir();
const files = readdirSync(dir).filter((f) => f.endsWith('.ps1'));
const sources = files.map((f) => [f, readFileSync(join(dir, f), 'utf8')] as const);
const runCommandScripts = sources.filter(([f]) => !f.startsWith('offline-'));

describe('shipped PowerShell scripts', () => {
  it('every script id has a file and every file a header naming it', () => {
    expect(files.length).toBeGreaterThanOrEqual(SCRIPT_IDS.length + 3);
    for (const id of SCRIPT_IDS) expect(files).toContain(`${id}.ps1`);
    for (const [f, src] of sources) {
      expect([f, src.split(/\r?\n/)[0]]).toEqual([f, `# rdp-doctor-script: ${f.replace(/\.ps1$/, '')}`]);
      expect(scriptIdOf(src)).toBe(f.replace(/\.ps1$/, ''));
    }
  });

  it.each(sources)('%s: ASCII only, no prompts, no Mandatory, no PS 5+/6+ only constructs', (_f, src) => {
    expect(src).toMatch(/^[\x09\x0a\x0d\x20-\x7e]*$/);
    expect(src).not.toMatch(/Read-Host/i);
    expect(src).not.toMatch(/Mandatory/i);
    expect(src).not.toMatch(/Get-ItemPropertyValue/i);
    expect(src).not.toMatch(/-replace\s+[^\n]*\{/i);
    expect(src).not.toMatch(/-(Stable|EnumsAsStrings|AsHashtable)\b/);
    expect(src).not.toMatch(/\btakeown(\.exe)?\b[^\n]*\/r\b/i);
    expect(src).not.toMatch(/Restart-Computer|shutdown(\.exe)?\s/i);
  });

  it.each(runCommandScripts)('%s: exits only with exit 0, as its last line, and prints JSON through one writer', (_f, src) => {
    const exits = [...src.matchAll(/\bexit\b\s*(\S*)/gi)].map((m) => m[1]);
    expect(exits).toEqual(['0']);
    expect(src.trimEnd().split('\n').pop()).toBe('exit 0');
    expect(src).toMatch(/ConvertTo-Json -InputObject \$\w+ -Depth \d -Compress/);
    expect(src).not.toMatch(/Write-Host/);
  });

  it.each(runCommandScripts)('%s: parameters are [string] with defaults', (_f, src) => {
    const block = /^param\(([\s\S]*?)^\)/m.exec(src)?.[1] ?? '';
    for (const line of block.split('\n').map((l) => l.trim()).filter(Boolean)) {
      expect(line).toMatch(/^\[string\]\$[A-Za-z0-9]+ = '[A-Za-z0-9]*',?$/);
    }
  });

  const fixScripts = sources.filter(([f]) => f.startsWith('fix-'));
  const src = (f: string): string => readFileSync(join(dir, f), 'utf8');

  it.each(fixScripts)('%s: service control is bounded: sc.exe and a timed poll, never the unbounded service cmdlets (A5)', (_f, full) => {
    const s = full.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
    expect(s).not.toMatch(/\b(Restart-Service|Stop-Service|Start-Service|Set-Service)\b/i);
    expect(s).not.toMatch(/-Force\b[^\n]*sc\.exe|sc\.exe[^\n]*-Force/i);
    // service control: a start or stop (sc.exe config returns at once and needs no poll)
    if (/sc\.exe\s+(start|stop)\b|Invoke-RdSc @\('(start|stop)'/.test(s)) {
      expect(s).toMatch(/function Wait-RdSvc[\s\S]*?for \(\$i = 0; \$i -lt \$WaitSeconds; \$i \+= 2\)/);
      expect(s).toMatch(/\$WaitSeconds = \d+/);
    }
  });

  it('helper functions are the same text in every script that carries them', () => {
    const copies = new Map<string, Map<string, string[]>>();
    for (const [f, s] of fixScripts) {
      for (const m of s.matchAll(/^function ([A-Za-z-]+)[^\n]*\{\n[\s\S]*?^\}$/gm)) {
        const byText = copies.get(m[1]) ?? new Map<string, string[]>();
        byText.set(m[0], [...(byText.get(m[0]) ?? []), f]);
        copies.set(m[1], byText);
      }
    }
    const shared = ['ConvertTo-AsciiJson', 'Write-Status', 'Get-RdSvc', 'Invoke-RdSc', 'Wait-RdSvc', 'Stop-RdSvc', 'Start-RdSvc', 'Get-RdStuck', 'Restart-Rdp', 'Set-SvcFailure', 'Test-RdpListening', 'Wait-RdpListening'];
    for (const name of shared) expect([name, copies.get(name)?.size]).toEqual([name, 1]);
  });

  it('renew removes the binding before the certificates, and survives a key the provider cannot open (A3, A4)', () => {
    const s = src('fix-renew-rdp-cert.ps1');
    expect(s.indexOf('Remove-ItemProperty -LiteralPath $tsKey -Name SSLCertificateSHA1Hash')).toBeGreaterThan(0);
    expect(s.indexOf('Remove-ItemProperty -LiteralPath $tsKey -Name SSLCertificateSHA1Hash')).toBeLessThan(s.indexOf('-DeleteKey'));
    expect(s).toMatch(/-DeleteKey -ErrorAction Stop[\s\S]*?catch \{[\s\S]*?Test-Path -LiteralPath \$c\.PSPath/);
  });

  it('the port change opens the firewall before it writes the port, with a service-restricted rule, and rolls back (A12)', () => {
    const s = src('fix-change-rdp-port.ps1');
    const fw = s.indexOf('New-NetFirewallRule');
    const reg = s.indexOf('Set-ItemProperty -LiteralPath $tsKey -Name PortNumber');
    expect(fw).toBeGreaterThan(0);
    expect(fw).toBeLessThan(reg);
    for (const m of s.matchAll(/New-NetFirewallRule[^\n]*/g)) expect(m[0]).toMatch(/-Program '%SystemRoot%\\system32\\svchost\.exe' -Service TermService/);
    expect(s.slice(reg)).toMatch(/catch \{[\s\S]*?Remove-NetFirewallRule[\s\S]*?rolledBack = \$true/);
  });

  it('ACL repairs remove explicit Deny entries before they grant (A6)', () => {
    for (const f of ['fix-reset-machinekeys-acl.ps1', 'offline-machinekeys.ps1']) {
      const s = src(f);
      expect([f, s.includes('/remove:d')]).toEqual([f, true]);
      expect(s.indexOf('/remove:d')).toBeLessThan(s.indexOf('/grant'));
    }
  });

  it('the ACL reset counts a file that fails and goes on to the next, and still restarts TermService (A7)', () => {
    const s = src('fix-reset-machinekeys-acl.ps1');
    const loop = /foreach \(\$f in \$todo\) \{([\s\S]*?)\n {12}\}/.exec(s)?.[1] ?? '';
    expect(loop).toContain('$status.failed = $status.failed + 1');
    expect(loop).not.toMatch(/\bthrow\b/);
    expect(s.indexOf("$status.step = 'termservice'")).toBeGreaterThan(s.indexOf('foreach ($f in $todo)'));
    expect(s).toContain("$status.status = 'partial'");
  });

  it('enable-nla checks the secure channel before it writes (A14)', () => {
    const s = src('fix-enable-nla.ps1');
    expect(s.indexOf('Test-ComputerSecureChannel')).toBeGreaterThan(0);
    expect(s.indexOf('Test-ComputerSecureChannel')).toBeLessThan(s.indexOf('Set-ItemProperty'));
  });

  it('offline-registry never lowers SecurityLayer and handles the policy fDenyTSConnections in SOFTWARE (A15)', () => {
    const s = src('offline-registry.ps1');
    expect(s).not.toContain("'fAllowSecProtocolNegotiation' 1");
    expect(s).toMatch(/if \([^\n]*\[int\]\$rdp\.SecurityLayer -eq 0\) \{\n\s*Set-Dword \$rdpKey 'SecurityLayer' 1\n/);
    expect(s.match(/'SecurityLayer'/g)).toHaveLength(1);
    expect(s).toContain('config\\SOFTWARE');
    expect(s).toMatch(/reg\.exe load \$swMount/);
    expect(s).toMatch(/finally \{[\s\S]*reg\.exe unload \$swMount/);
    expect(s).toMatch(/Set-Dword \$gpKey 'fDenyTSConnections' 0/);
  });

  it('the diagnosis is read-only', () => {
    const src = DIAGNOSE_SCRIPT.source;
    for (const verb of ['Set-ItemProperty', 'New-ItemProperty', 'Remove-Item', 'New-Item ', 'Set-Service', 'Stop-Service', 'Start-Service', 'Restart-Service', 'icacls', 'takeown', 'Set-NetFirewallRule', 'Set-Acl', 'reg.exe', 'bcdedit']) {
      expect([verb, src.includes(verb)]).toEqual([verb, false]);
    }
  });

  it('the diagnosis uses the caps the output schema expects', () => {
    const src = DIAGNOSE_SCRIPT.source;
    expect(src).toContain(`Select-Object -First ${CAPS.acl})`);
    expect(src).toContain(`$errs.Count -lt ${CAPS.err}`);
    expect(src).toContain(`$policy.Count -lt ${CAPS.policy}`);
    expect(src).toContain(`$e.Length -gt ${CAPS.policyLength}`);
    expect(src).toContain(`} ${CAPS.events})`);
    expect(src).toContain(`} ${CAPS.events4625})`);
    expect(src).toContain(`Select-Object -First ${CAPS.logons} |`);
    expect(src).toContain(`Select-Object -First ${CAPS.listeners})`);
    expect(src).toContain(`Select-Object -First ${CAPS.servicesPerListener} |`);
    expect(src).toContain(`$t.Length -gt ${CAPS.nameLength}`);
  });

  it('icacls grants use SIDs in quotes, never names', () => {
    for (const [, src] of sources) {
      for (const m of src.matchAll(/icacls\.exe[^\n]*\/grant([^\n]*)/g)) {
        expect(m[1]).not.toMatch(/NETWORK SERVICE|Administrators|SYSTEM:/i);
      }
    }
    expect(readFileSync(join(dir, 'fix-reset-machinekeys-acl.ps1'), 'utf8')).toContain("'*S-1-5-20:(R)'");
  });

  it('every script passes the tree-sitter PowerShell grammar (node test/ps-parse.mjs)', () => {
    const out = execFileSync(process.execPath, ['--no-deprecation', join(root, 'test', 'ps-parse.mjs')], { cwd: root, encoding: 'utf8' });
    for (const f of files) expect(out).toContain(`ok services/runbook/scripts/${f}`);
  });

  it('the grammar check fails on a broken script', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'ps-parse-'));
    try {
      const bad = join(tmp, 'bad.ps1');
      writeFileSync(bad, "if ($a -eq 1 {\n  Write-Output 'x'\n");
      let status = 0;
      try {
        execFileSync(process.execPath, ['--no-deprecation', join(root, 'test', 'ps-parse.mjs'), bad], { cwd: root, stdio: 'pipe' });
      } catch (e) {
        status = (e as { status: number }).status;
      }
      expect(status).toBe(1);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('offline repair scripts', () => {
  it('renders the drive letter into every script and leaves no placeholder', () => {
    const guide = offlineRepairScripts('f:');
    expect(guide.drive).toBe('F');
    const scripts = guide.steps.map((s) => s.script).filter((s): s is string => s !== null);
    expect(scripts).toHaveLength(3);
    for (const s of scripts) {
      expect(s).not.toContain('__DRIVE__');
      expect(s).toContain("[string]$Drive = 'F'");
    }
  });

  it('reads the boot control set from Select\\Current instead of hard-coding one', () => {
    const reg = offlineRepairScripts('F').steps[0].script ?? '';
    expect(reg).toContain("'{0}\\Select' -f $root");
    expect(reg).not.toMatch(/ControlSet00[12]/);
    expect(reg).toMatch(/reg\.exe load/);
    expect(reg).toMatch(/finally \{[\s\S]*reg\.exe unload/);
    expect(reg).toContain("-Value '%SystemRoot%\\MEMORY.DMP' -PropertyType ExpandString");
    expect(reg).toContain("Set-Dword $tlsKey 'DisabledByDefault' 0");
  });

  it('the BCD step knows Gen1 and Gen2 locations', () => {
    const bcd = offlineRepairScripts('G').steps[2].script ?? '';
    expect(bcd).toContain('\\boot\\bcd');
    expect(bcd).toContain('\\EFI\\Microsoft\\Boot\\BCD');
    expect(bcd).toContain("'{bootmgr}'");
  });

  it.each(['C', 'c:', '', 'FF', '1', 'F:\\', 'F; calc'])('refuses drive %p', (d) => {
    expect(() => validateDriveLetter(d)).toThrow(DomainError);
  });
});

# Helpers for the fix scripts' Pester tests: a healthy modelled Windows, one fix run through the model
# (Invoke-ModelRun from TestHelpers.ps1), its status line parsed. Scripts come from services/runbook/scripts,
# or from $env:RDPD_SCRIPTS_DIR (to run the same tests against another version of the scripts, e.g. the old ones).
. (Join-Path $PSScriptRoot 'TestHelpers.ps1')

$script:FixNow = '2026-11-30T12:00:00Z'
$script:HealthyJson = @'
{"rdpPort":3389,"listeners":[{"port":3389,"pid":1104,"process":"svchost","services":["TermService"]}],
 "services":{"TermService":"Running","SessionEnv":"Running","UmRdpService":"Running"},
 "rdpCertificate":{"thumbprint":"3F2A9C0D7E1B4A6C8D2E0F1A3B5C7D9E1F2A3B4C","notAfter":"2031-05-01T00:00:00Z","hasPrivateKey":true},
 "sslCertificateSHA1Hash":null,"machineKeysAcl":["S-1-5-32-544:F","S-1-1-0:special"],
 "rdpKeyFileAcl":["S-1-5-18:F","S-1-5-32-544:F","S-1-5-20:R"],
 "schannelServer":{"TLS 1.0":{},"TLS 1.1":{},"TLS 1.2":{}},
 "rdpTcp":{"SecurityLayer":2,"UserAuthentication":1,"fAllowSecProtocolNegotiation":1},
 "firewallRdpRule":{"enabled":true,"localPort":3389},"domainJoined":false,"policyManagedKeys":[],
 "events24h":{"1057":0,"1058":0,"1006":0,"36870":0,"36871":0,"36872":0,"4625":2},
 "failedLogonSources":[{"ip":"198.51.100.23","count":2}]}
'@

function New-FixWindows([scriptblock]$Change) {
    $w = $script:HealthyJson | ConvertFrom-Json -AsHashtable
    if ($Change) {
        & $Change $w
    }
    return $w
}

function ConvertTo-StateJson($w) {
    return (ConvertTo-Json -InputObject $w -Depth 30 -Compress)
}

# the canonical service state: the legacy string form or the object form
function Get-FixService($w, [string]$name) {
    $s = $w.services[$name]
    if ($null -eq $s) {
        return $null
    }
    if ($s -is [string]) {
        if ($s -eq 'Disabled') {
            return @{ state = 'Stopped'; startMode = 'Disabled'; hangs = $false; ownProcess = $false }
        }
        return @{ state = $s; startMode = 'Manual'; hangs = $false; ownProcess = $false }
    }
    $o = @{ state = 'Running'; startMode = 'Manual'; hangs = $false; ownProcess = $false }
    foreach ($k in @($s.Keys)) {
        $o[$k] = $s[$k]
    }
    return $o
}

# An empty script run beside the fix in the same child pwsh gives the input as the model sees it (canonical).
$script:NoopScript = Join-Path ([System.IO.Path]::GetTempPath()) 'rdp-doctor-noop.ps1'
Set-Content -LiteralPath $script:NoopScript -Value '# rdp-doctor-script: noop' -Encoding ascii

# The model runner in a runspace of this process, opened once: the model's commands shadow Pester's
# (Get-Date, Test-Path...) only in that runspace, and no pwsh starts per run (a child pwsh per run
# made these suites take minutes on a busy machine).
function Invoke-FixBatch([object[]]$Runs) {
    if (-not $global:RdpdFixRunspace) {
        $global:RdpdFixRunspace = [runspacefactory]::CreateRunspace()
        $global:RdpdFixRunspace.Open()
    }
    $dir = Join-Path ([System.IO.Path]::GetTempPath()) ('fix-pester-' + [guid]::NewGuid().ToString('N'))
    New-Item -ItemType Directory -Path $dir | Out-Null
    try {
        $req = @{ runs = @() }
        $i = 0
        foreach ($r in $Runs) {
            $params = @()
            if ($r.Parameters) { foreach ($k in $r.Parameters.Keys) { $params += @{ name = $k; value = [string]$r.Parameters[$k] } } }
            $req.runs += @{ id = "r$i"; windows = $r.Windows; scriptPath = (Resolve-ModelScript $r.Script); parameters = $params; now = $r.Now }
            $i++
        }
        $reqFile = Join-Path $dir 'req.json'
        $resFile = Join-Path $dir 'res.json'
        $req | ConvertTo-Json -Depth 40 | Set-Content -LiteralPath $reqFile -Encoding utf8
        $ps = [powershell]::Create()
        $ps.Runspace = $global:RdpdFixRunspace
        [void]$ps.AddScript('param($runner, $req, $res) & $runner -RequestFile $req -ResultFile $res').AddArgument($script:ModelRunner).AddArgument($reqFile).AddArgument($resFile)
        # the runner presents Windows PowerShell 5.1 to the scripts by writing into $PSVersionTable, whose
        # table the whole process shares: put this pwsh's values back afterwards
        $version = $PSVersionTable['PSVersion']
        $edition = $PSVersionTable['PSEdition']
        try {
            [void]$ps.Invoke()
        } finally {
            $ps.Dispose()
            $PSVersionTable['PSVersion'] = $version
            $PSVersionTable['PSEdition'] = $edition
        }
        if (-not (Test-Path -LiteralPath $resFile)) { throw 'the model runner wrote no result' }
        $res = Get-Content -Raw -LiteralPath $resFile | ConvertFrom-Json -AsHashtable -DateKind String
        foreach ($x in $res.runs) {
            [pscustomobject]@{ Id = $x.id; Stdout = $x.stdout; Stderr = $x.stderr; Json = (Get-LastJsonLine $x.stdout); Windows = $x.windows; Hung = [bool]$x.hung; VirtualSeconds = $x.virtualSeconds }
        }
    } finally {
        Remove-Item -LiteralPath $dir -Recurse -Force -ErrorAction SilentlyContinue
    }
}

function Invoke-Fix {
    param($Windows, [string]$Script, [hashtable]$Parameters = @{}, [string]$Now = $script:FixNow)
    $path = $Script
    if ($env:RDPD_SCRIPTS_DIR) {
        $path = Join-Path $env:RDPD_SCRIPTS_DIR ($Script + '.ps1')
    }
    $rs = @(Invoke-FixBatch @(
            @{ Windows = $Windows; Script = $script:NoopScript; Now = $Now },
            @{ Windows = $Windows; Script = $path; Parameters = $Parameters; Now = $Now }
        ))
    $r = $rs[1]
    $lines = @(([string]$r.Stdout) -split "`r?`n" | Where-Object { $_.Trim() })
    $line = $null
    $status = $null
    if ($lines.Count -gt 0) {
        $line = $lines[-1]
        try {
            $status = $line | ConvertFrom-Json -AsHashtable
        } catch {
            $status = $null
        }
    }
    return [pscustomobject]@{ Run = $r; Line = $line; Lines = $lines; Status = $status; Windows = $r.Windows; Stderr = $r.Stderr; Canonical = $rs[0].Windows }
}

# the checks every run must pass: one ASCII JSON line, well under Run Command's 4,096-byte tail, no hang, no prompt
function Assert-FixLine($res) {
    $res.Run.Hung | Should -Not -BeTrue
    $res.Stderr | Should -BeNullOrEmpty
    $res.Lines.Count | Should -Be 1
    $res.Status | Should -Not -BeNullOrEmpty
    [System.Text.Encoding]::UTF8.GetByteCount($res.Line) | Should -BeLessOrEqual 3500
    $res.Line | Should -Match '^[\x20-\x7e]+$'
}

# a second run on the state the first left: noop, nothing changed
function Assert-Idempotent($res, [string]$Script, [hashtable]$Parameters = @{}) {
    $again = Invoke-Fix -Windows $res.Windows -Script $Script -Parameters $Parameters
    Assert-FixLine $again
    $again.Status.status | Should -Be 'noop'
    (ConvertTo-StateJson $again.Windows) | Should -Be (ConvertTo-StateJson $res.Windows)
    return $again
}

# the state the model returns is canonical (every default explicit): compare with the input made canonical
function Assert-Unchanged($res, $before) {
    (ConvertTo-StateJson $res.Windows) | Should -Be (ConvertTo-StateJson $res.Canonical)
}

function ConvertTo-B64Param([string]$v) {
    return 'b64.' + [Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes($v))
}

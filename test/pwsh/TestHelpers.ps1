# Shared helpers for Pester suites that run the project's scripts under the modelled Windows.
# Dot-source it:  . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
#
#   $w = New-ModelWindows @{ rdpCertificate = @{ key = 'missing' } }     # healthy demo VM + a patch
#   $r = Invoke-ModelRun -Windows $w -Script 'diagnose' -Parameters @{ Since = '20261130101500' } -Now '2026-11-30T12:00:00Z'
#   $r.Json.cert.keyFile ; $r.Stdout ; $r.Stderr ; $r.Windows (state after) ; $r.Hung ; $r.VirtualSeconds
#   $rs = Invoke-ModelBatch @( @{ Windows = $w1 }, @{ Windows = $w2; Script = 'fix-renew-rdp-cert' } )   # one pwsh for many runs
#
# Runs happen in a child pwsh (the model shadows Get-Date, Test-Path, Join-Path... which Pester
# itself uses), through the same runner the simulator calls (Invoke-ModelScript.ps1).

$script:ModelRepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '..' '..')).Path
$script:ModelRunner = Join-Path $script:ModelRepoRoot 'services/simulator/windows-model/Invoke-ModelScript.ps1'
$script:ModelScripts = Join-Path $script:ModelRepoRoot 'services/runbook/scripts'
$script:ModelDefaultNow = '2026-11-30T12:00:00Z'

# The pwsh that runs the model: PWSH, else the project's .tools/pwsh/pwsh, else pwsh on PATH
# (the same order as services/simulator/pwsh-interior.ts findPwsh).
function Get-ModelPwsh {
    if ($env:PWSH) { return $env:PWSH }
    $local = Join-Path $script:ModelRepoRoot '.tools/pwsh/pwsh'
    if (Test-Path -LiteralPath $local) { return $local }
    return 'pwsh'
}

function Copy-ModelData($x) {
    # deep copy through JSON (states are plain JSON data)
    return ($x | ConvertTo-Json -Depth 40 -Compress | ConvertFrom-Json -AsHashtable -DateKind String)
}

function Get-DemoWindows([string]$Vm = 'vm-healthy-01') {
    $fleet = Get-Content -Raw -LiteralPath (Join-Path $script:ModelRepoRoot 'services/simulator/fleets/demo-fleet.json') | ConvertFrom-Json -AsHashtable -DateKind String
    $v = $fleet.vms | Where-Object { $_.name -eq $Vm } | Select-Object -First 1
    if (-not $v) { throw "no demo VM $Vm" }
    return Copy-ModelData $v.windows
}

function Merge-ModelPatch($base, $patch) {
    foreach ($k in @($patch.Keys)) {
        $v = $patch[$k]
        if ($v -is [System.Collections.IDictionary] -and $base[$k] -is [System.Collections.IDictionary]) { Merge-ModelPatch $base[$k] $v }
        else { $base[$k] = $v }
    }
}

<#
.SYNOPSIS The demo VM's windows state (default the healthy one) with a patch merged in (hashtables merge, other values replace).
#>
function New-ModelWindows([hashtable]$Patch = @{}, [string]$Vm = 'vm-healthy-01') {
    $w = Get-DemoWindows $Vm
    Merge-ModelPatch $w (Copy-ModelData $Patch)
    return $w
}

function Resolve-ModelScript([string]$Script) {
    if ([System.IO.Path]::IsPathRooted($Script)) { return $Script }
    $p = Join-Path $script:ModelScripts "$Script.ps1"
    if (-not (Test-Path -LiteralPath $p)) { throw "no script $Script ($p)" }
    return $p
}

function Get-LastJsonLine([string]$stdout) {
    $lines = @($stdout -split "`r?`n" | ForEach-Object { $_.Trim() } | Where-Object { $_.StartsWith('{') })
    if ($lines.Count -eq 0) { return $null }
    try { return ($lines[-1] | ConvertFrom-Json -AsHashtable -DateKind String) } catch { return $null }
}

<#
.SYNOPSIS Runs several scripts under the modelled Windows in one child pwsh; each item: @{ Windows; Script; Parameters; Now; Boot }.
Returns one object per item: Stdout, Stderr, Json (the last JSON line, parsed; $null if none), Windows (state after), Hung, VirtualSeconds.
#>
function Invoke-ModelBatch([object[]]$Runs, [string]$ScriptText) {
    $dir = Join-Path ([System.IO.Path]::GetTempPath()) ("model-pester-" + [guid]::NewGuid().ToString('N'))
    New-Item -ItemType Directory -Path $dir | Out-Null
    try {
        $req = @{ runs = @() }
        $i = 0
        foreach ($r in $Runs) {
            $params = @()
            if ($r.Parameters) { foreach ($k in $r.Parameters.Keys) { $params += @{ name = $k; value = [string]$r.Parameters[$k] } } }
            $now = if ($r.Now) { ([datetime]$r.Now).ToUniversalTime().ToString('o') } else { $script:ModelDefaultNow }
            $run = @{ id = "r$i"; windows = $r.Windows; scriptPath = (Resolve-ModelScript $(if ($r.Script) { $r.Script } else { 'diagnose' })); parameters = $params; now = $now }
            if ($r.Boot) { $run.boot = ([datetime]$r.Boot).ToUniversalTime().ToString('o') }
            # issue #15: @{ drive; hyperVGeneration }: the state is a disk attached to a rescue VM (Model.Offline.ps1)
            if ($r.Offline) { $run.offline = $r.Offline }
            $req.runs += $run
            $i++
        }
        $reqFile = Join-Path $dir 'req.json'
        $resFile = Join-Path $dir 'res.json'
        $req | ConvertTo-Json -Depth 40 | Set-Content -LiteralPath $reqFile -Encoding utf8
        # stdin closed: a prompt can never be answered (Run Command has no console [S1])
        $log = '' | & (Get-ModelPwsh) -NoLogo -NoProfile -NonInteractive -File $script:ModelRunner -RequestFile $reqFile -ResultFile $resFile 2>&1
        if (-not (Test-Path -LiteralPath $resFile)) { throw "the runner wrote no result: $($log | Out-String)" }
        $res = Get-Content -Raw -LiteralPath $resFile | ConvertFrom-Json -AsHashtable -DateKind String
        foreach ($x in $res.runs) {
            [pscustomobject]@{
                Id = $x.id; Stdout = $x.stdout; Stderr = $x.stderr; Json = (Get-LastJsonLine $x.stdout)
                Windows = $x.windows; Hung = [bool]$x.hung; VirtualSeconds = $x.virtualSeconds
            }
        }
    } finally {
        Remove-Item -LiteralPath $dir -Recurse -Force -ErrorAction SilentlyContinue
    }
}

function Invoke-ModelRun {
    param(
        [Parameter(Mandatory)] $Windows,
        [string]$Script = 'diagnose',
        [hashtable]$Parameters = @{},
        $Now = $script:ModelDefaultNow,
        $Boot,
        [hashtable]$Offline
    )
    $run = @{ Windows = $Windows; Script = $Script; Parameters = $Parameters; Now = $Now }
    if ($Boot) { $run.Boot = $Boot }
    if ($Offline) { $run.Offline = $Offline }
    return Invoke-ModelBatch @($run) | Select-Object -First 1
}

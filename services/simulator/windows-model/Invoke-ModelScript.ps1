<#
.SYNOPSIS
  Runs project scripts against the modelled Windows, in batch (one pwsh process for many runs).

.DESCRIPTION
  The contract the simulator's TypeScript side calls (services/simulator/pwsh-interior.ts):

    pwsh -NoLogo -NoProfile -NonInteractive -File Invoke-ModelScript.ps1 -RequestFile REQ -ResultFile RES

  REQ: { "runs": [ { "id", "windows": <fleet windows state>, "scriptPath": "/abs/script.ps1",
                     "parameters": [ { "name", "value" } ], "now": "<ISO UTC>", "boot": "<ISO UTC>" } ] }
  RES: { "runs": [ { "id", "stdout", "stderr", "windows": <state after, canonical fleet format>,
                     "hung": bool, "virtualSeconds": n } ] }

  Each run gets a fresh model state, so one run's failure or hang never affects the next. The script
  runs as Run Command runs it: `powershell -File script.ps1 -Name value ...`, named string parameters
  [S1]. Its success stream is Run Command's StdOut and its error stream StdErr [S3][I14].

  StdOut text: each output line as powershell.exe prints it, lines joined and ended with CRLF. Windows
  console hosts end lines with Environment.NewLine ("\r\n" on Windows); the bot splits on \r?\n and
  takes the last JSON line (WINDOWS.md §9/§11: one JSON line, last), so the emulation's "<json>\r\n"
  and this agree byte for byte. Strings print as they are; other objects through Out-String (the
  host's formatting); Write-Host/Information lines go to StdOut, warnings as "WARNING: <text>"
  (WINDOWS.md §9: unconfirmed), verbose/debug nowhere. Errors print in Windows PowerShell 5.1's
  NormalView shape ("<script> : <message>", CategoryInfo, FullyQualifiedErrorId).

  `hung`: the script waited on something that never completes (a service stuck in Start/Stop Pending
  under an unbounded cmdlet wait, a prompt, or a poll past Run Command's 90 minutes); the run stops there.
#>
param(
    [Parameter(Mandatory)] [string]$RequestFile,
    [Parameter(Mandatory)] [string]$ResultFile
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'WindowsModel.psm1') -Force -DisableNameChecking
# The environment a Run Command script sees on Windows (SYSTEM).
$env:ProgramData = 'C:\ProgramData'
$env:SystemRoot = 'C:\Windows'
$env:windir = 'C:\Windows'
$env:SystemDrive = 'C:'
$env:COMPUTERNAME = 'VM'
$env:TEMP = 'C:\Windows\Temp'
$env:TMP = 'C:\Windows\Temp'
# The VMs run Windows PowerShell 5.1 [S30]: scripts that branch on $PSVersionTable (and print it)
# see 5.1 Desktop. $PSVersionTable is a constant variable, but its table is writable.
$PSVersionTable['PSVersion'] = [version]'5.1.17763.6414'
$PSVersionTable['PSEdition'] = 'Desktop'

function Format-ModelErrorText($__mrRec, [string]$__mrScriptName) {
    $msg = $__mrRec.Exception.Message
    $cat = $__mrRec.CategoryInfo.GetMessage()
    return "$__mrScriptName : $msg`r`n    + CategoryInfo          : $cat`r`n    + FullyQualifiedErrorId : $($__mrRec.FullyQualifiedErrorId)`r`n"
}

function ConvertTo-StateOut($__mrW) {
    # drop run-transient fields
    foreach ($__mrK in @($__mrW.services.Keys)) {
        if ($__mrW.services[$__mrK].Contains('pendingSince')) { $__mrW.services[$__mrK].Remove('pendingSince') }
    }
    return $__mrW
}

$__mrReq = Get-Content -Raw -LiteralPath $RequestFile | ConvertFrom-Json -AsHashtable -DateKind String
$__mrResults = New-Object System.Collections.ArrayList
foreach ($__mrRun in @($__mrReq.runs)) {
    $__mrNow = [datetime]::Parse($__mrRun.now, [cultureinfo]::InvariantCulture, [System.Globalization.DateTimeStyles]'AssumeUniversal, AdjustToUniversal')
    $__mrInit = @{ Windows = $__mrRun.windows; Now = $__mrNow }
    # issue #15: an offline run (a rescue VM with the state's disk attached, Model.Offline.ps1)
    if ($__mrRun.offline) { $__mrInit.Offline = $__mrRun.offline }
    if ($__mrRun.boot) { $__mrInit.Boot = [datetime]::Parse($__mrRun.boot, [cultureinfo]::InvariantCulture, [System.Globalization.DateTimeStyles]'AssumeUniversal, AdjustToUniversal') }
    $__mrOut = New-Object System.Text.StringBuilder
    $__mrErr = New-Object System.Text.StringBuilder
    $__mrState = $null
    try {
        Initialize-WindowsModel @__mrInit
        $__mrParams = @{}
        foreach ($__mrP in @($__mrRun.parameters)) { if ($__mrP) { $__mrParams[[string]$__mrP.name] = [string]$__mrP.value } }
        $__mrScript = [string]$__mrRun.scriptPath
        $__mrName = Split-Path -Leaf $__mrScript
        $global:LASTEXITCODE = 0
        try {
            $ErrorActionPreference = 'Continue'
            & $__mrScript @__mrParams *>&1 | ForEach-Object {
                $__mrItem = $_
                if ($__mrItem -is [System.Management.Automation.ErrorRecord]) {
                    [void]$__mrErr.Append((Format-ModelErrorText $__mrItem $__mrName))
                } elseif ($__mrItem -is [System.Management.Automation.InformationRecord]) {
                    [void]$__mrOut.Append("$($__mrItem.MessageData)`r`n")
                } elseif ($__mrItem -is [System.Management.Automation.WarningRecord]) {
                    [void]$__mrOut.Append("WARNING: $($__mrItem.Message)`r`n")
                } elseif ($__mrItem -is [System.Management.Automation.VerboseRecord] -or $__mrItem -is [System.Management.Automation.DebugRecord]) {
                } elseif ($__mrItem -is [string]) {
                    [void]$__mrOut.Append("$__mrItem`r`n")
                } elseif ($null -ne $__mrItem) {
                    foreach ($__mrLine in @($__mrItem | Out-String -Stream)) { [void]$__mrOut.Append("$__mrLine`r`n") }
                }
            }
        } catch {
            # a terminating error ends the script: powershell -File prints it on stderr
            [void]$__mrErr.Append((Format-ModelErrorText $_ $__mrName))
        } finally {
            $ErrorActionPreference = 'Stop'
        }
        $__mrInfo = Get-WindowsModelInfo
        $__mrState = ConvertTo-StateOut (Get-WindowsModelState)
        [void]$__mrResults.Add([ordered]@{
                id = $__mrRun.id; stdout = $__mrOut.ToString(); stderr = $__mrErr.ToString()
                windows = $__mrState; hung = [bool]$__mrInfo.Hung; virtualSeconds = $__mrInfo.VirtualSeconds
            })
    } catch {
        # the model itself failed (bad state, a command it does not model): report it on stderr
        [void]$__mrResults.Add([ordered]@{
                id = $__mrRun.id; stdout = $__mrOut.ToString(); stderr = $__mrErr.ToString() + "model: $($_.Exception.Message)`r`n"
                windows = $__mrRun.windows; hung = $false; virtualSeconds = 0
            })
    }
}
$__mrJson = ConvertTo-Json -InputObject ([ordered]@{ runs = $__mrResults }) -Depth 40 -Compress
[System.IO.File]::WriteAllText($ResultFile, $__mrJson, [System.Text.UTF8Encoding]::new($false))

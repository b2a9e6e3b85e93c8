# rdp-doctor-script: offline-machinekeys
# RDP Doctor offline repair, step 2 of 3. Run in an elevated Windows PowerShell on the RESCUE VM, with the broken VM's
# OS disk attached as drive __DRIVE__:. Saves the MachineKeys ACLs to a file on that disk, removes explicit Deny
# entries for SYSTEM, Administrators, NETWORK SERVICE, Everyone and Authenticated Users (a Deny is evaluated before
# any Allow: a grant alone does not help), then grants, by SID (names are localized): SYSTEM Full, Administrators
# Full, NETWORK SERVICE Read. Well-known SIDs are the same on both machines.
# takeown runs per item, never recursively, so it never asks its localized Yes/No question.
param(
    [string]$Drive = '__DRIVE__'
)

$ErrorActionPreference = 'Stop'
if ($Drive -notmatch '^[A-BD-Za-bd-z]$') {
    throw 'Drive must be one letter, not C'
}
$rsa = '{0}:\ProgramData\Microsoft\Crypto\RSA' -f $Drive
$mk = Join-Path $rsa 'MachineKeys'
if (-not (Test-Path -LiteralPath $mk)) {
    throw ('No MachineKeys folder at {0}' -f $mk)
}
$backupDir = '{0}:\Windows\Temp' -f $Drive
New-Item -ItemType Directory -Path $backupDir -Force | Out-Null
$backup = Join-Path $backupDir ('rdp-doctor-machinekeys-acl-{0}.txt' -f (Get-Date).ToUniversalTime().ToString('yyyyMMddHHmmss'))
& icacls.exe $mk /save $backup /t /c /q | Out-Null
Write-Output ('ACLs saved to {0}. To undo: icacls "{1}" /restore "{0}"' -f $backup, $rsa)

function Grant-Item([string]$path, [bool]$isFolder) {
    $grants = @('*S-1-5-18:(F)', '*S-1-5-32-544:(F)', '*S-1-5-20:(R)')
    if ($isFolder) {
        $grants = @('*S-1-5-18:(F)', '*S-1-5-32-544:(F)')
    }
    $denies = @('*S-1-5-18', '*S-1-5-32-544', '*S-1-5-20', '*S-1-1-0', '*S-1-5-11')
    & icacls.exe $path /remove:d $denies /c /q | Out-Null
    $ok = ($LASTEXITCODE -eq 0)
    if ($ok) {
        & icacls.exe $path /grant $grants /c /q | Out-Null
        $ok = ($LASTEXITCODE -eq 0)
    }
    if (-not $ok) {
        & takeown.exe /f $path /a | Out-Null
        & icacls.exe $path /remove:d $denies /c /q | Out-Null
        & icacls.exe $path /grant $grants /c /q | Out-Null
        $ok = ($LASTEXITCODE -eq 0)
    }
    return $ok
}

$failed = 0
if (-not (Grant-Item $mk $true)) {
    $failed++
}
foreach ($f in @(Get-ChildItem -LiteralPath $mk -Force | Where-Object { -not $_.PSIsContainer })) {
    if (-not (Grant-Item $f.FullName $false)) {
        $failed++
    }
}
Write-Output ('MachineKeys ACLs reset; items that still failed: {0}' -f $failed)

# rdp-doctor-script: undo-reset-machinekeys-acl
# RDP Doctor undo of fix-reset-machinekeys-acl: puts back the MachineKeys ACLs the fix saved with icacls /save.
# Stamp: the backup's name, %ProgramData%\RDP Doctor\backups\machinekeys-acl-<Stamp>.txt (14 digits; the path is
# built here, never taken from outside). BackupHash: the SHA-256 of its text the fix printed; a backup that is
# gone or differs is refused ("backup-missing", "backup-changed"). After: the fingerprint of the ACLs and owners
# the fix left (printed as "after"); if anything changed them since, nothing is restored ("changed-since").
# Then icacls /restore (DACLs), the owners the fix recorded (FolderOwner, KeyOwner: a SID, or "keep") with
# icacls /setowner, the key file named by KeyFile (a MachineKeys file name), and the backup is deleted.
# The restored ACLs take effect for TermService at its next start (no restart here).
# Non-interactive; prints one JSON status line and always exits 0. A second run finds no backup and changes nothing.
param(
    [string]$Stamp = '',
    [string]$BackupHash = '',
    [string]$After = '',
    [string]$FolderOwner = 'keep',
    [string]$KeyOwner = 'keep',
    [string]$KeyFile = ''
)

$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'

function Write-Status($o) {
    Write-Output (ConvertTo-Json -InputObject $o -Depth 4 -Compress)
}

# parameters that are not [A-Za-z0-9.-] arrive Base64-encoded as b64.<UTF-8 Base64>
function ConvertFrom-Param([string]$v) {
    if ($v.StartsWith('b64.')) {
        try {
            return [System.Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($v.Substring(4)))
        } catch {
            return ''
        }
    }
    return $v
}

function Get-Right($rights) {
    $m = [int64]$rights
    if ($m -eq 2032127) {
        return 'F'
    }
    if ($m -eq 1245631) {
        return 'M'
    }
    if ($m -eq 1179817) {
        return 'RX'
    }
    if ($m -eq 1179785) {
        return 'R'
    }
    if ($m -eq 278) {
        return 'W'
    }
    return 'special'
}

# 'SID:right' or 'SID:right:deny' (as fix-reset-machinekeys-acl.ps1 prints them); $null when unreadable
function Get-AclEntries([string]$path) {
    try {
        $acl = Get-Acl -LiteralPath $path -ErrorAction Stop
        $out = @()
        foreach ($r in $acl.GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier])) {
            $e = '{0}:{1}' -f [string]$r.IdentityReference.Value, (Get-Right $r.FileSystemRights)
            if ([string]$r.AccessControlType -eq 'Deny') {
                $e = $e + ':deny'
            }
            $out += $e
        }
        return ,$out
    } catch {
        return $null
    }
}

function Get-AclOwner([string]$path) {
    try {
        return [string](Get-Acl -LiteralPath $path -ErrorAction Stop).GetOwner([System.Security.Principal.SecurityIdentifier]).Value
    } catch {
        return $null
    }
}

function Get-Sha256Hex([string]$text) {
    $sha = [System.Security.Cryptography.SHA256]::Create()
    $h = $sha.ComputeHash([System.Text.Encoding]::UTF8.GetBytes($text))
    return (([BitConverter]::ToString($h)) -replace '-', '').ToLowerInvariant()
}

function Get-BackupNames([string]$text) {
    $lines = @($text -split "`r?`n" | Where-Object { $_ -ne '' })
    $out = @()
    for ($i = 0; $i + 1 -lt $lines.Count; $i += 2) {
        $out += $lines[$i]
    }
    return ,$out
}

# the same fingerprint as fix-reset-machinekeys-acl.ps1
function Get-AclPrint([string]$rsa, [string[]]$names) {
    $parts = @()
    foreach ($n in $names) {
        $p = Join-Path $rsa $n
        # a variable: @(Get-AclEntries ...) would wrap the array the function returns whole
        $e = Get-AclEntries $p
        $parts += ('{0}={1}={2}' -f $n, (Get-AclOwner $p), (@($e) -join ';'))
    }
    return (Get-Sha256Hex ($parts -join '|')).Substring(0, 16)
}

function Test-Sid([string]$v) {
    return ($v -eq 'keep' -or $v -match '^S-1-[0-9]{1,13}(-[0-9]{1,10}){1,15}\z')
}

$status = [ordered]@{ id = 'undo-reset-machinekeys-acl'; ok = $false; status = 'failed'; restored = 0; owners = 0; needsRestart = $false; step = $null }
try {
    $keyName = ConvertFrom-Param $KeyFile
    $okKey = ($keyName -eq '' -or $keyName -match '^[0-9a-fA-F]{32}_[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\z')
    if ($Stamp -notmatch '^[0-9]{14}\z' -or $BackupHash -notmatch '^[0-9a-f]{64}\z' -or $After -notmatch '^[0-9a-f]{16}\z' -or -not (Test-Sid $FolderOwner) -or -not (Test-Sid $KeyOwner) -or -not $okKey -or ($KeyOwner -ne 'keep' -and $keyName -eq '')) {
        $status.status = 'bad-param'
    } else {
        $rsa = Join-Path $env:ProgramData 'Microsoft\Crypto\RSA'
        $mk = Join-Path $rsa 'MachineKeys'
        $bk = Join-Path $env:ProgramData ('RDP Doctor\backups\machinekeys-acl-{0}.txt' -f $Stamp)
        $status.step = 'read'
        if (-not (Test-Path -LiteralPath $bk -PathType Leaf)) {
            $status.status = 'backup-missing'
        } else {
            $text = [string](Get-Content -LiteralPath $bk -Raw -Encoding Unicode -ErrorAction Stop)
            $names = Get-BackupNames $text
            if ((Get-Sha256Hex $text) -ne $BackupHash -or $names.Count -eq 0 -or @($names | Where-Object { $_ -ne 'MachineKeys' -and $_ -notlike 'MachineKeys\*' }).Count -gt 0) {
                $status.status = 'backup-changed'
            } elseif ((Get-AclPrint $rsa $names) -ne $After) {
                $status.status = 'changed-since'
            } else {
                $status.step = 'restore'
                $null = & icacls.exe $rsa /restore $bk /c /q 2>&1
                if ($LASTEXITCODE -ne 0) {
                    $status.status = 'restore-failed'
                    $status.error = [int]$LASTEXITCODE
                } else {
                    $status.restored = $names.Count
                    $status.step = 'owner'
                    $pairs = @(,@($mk, $FolderOwner))
                    if ($keyName -ne '') {
                        $pairs += ,@((Join-Path $mk $keyName), $KeyOwner)
                    }
                    $bad = 0
                    foreach ($pair in $pairs) {
                        $path = [string]$pair[0]
                        $sid = [string]$pair[1]
                        if ($sid -eq 'keep' -or (Get-AclOwner $path) -eq $sid) {
                            continue
                        }
                        $null = & icacls.exe $path /setowner ('*' + $sid) /c /q 2>&1
                        if ($LASTEXITCODE -eq 0) {
                            $status.owners = $status.owners + 1
                        } else {
                            $bad++
                        }
                    }
                    if ($bad -gt 0) {
                        $status.status = 'owner-failed'
                    } else {
                        $status.step = 'cleanup'
                        Remove-Item -LiteralPath $bk -Force -ErrorAction Stop
                        $status.ok = $true
                        $status.status = 'done'
                        $status.step = $null
                    }
                }
            }
        }
    }
} catch {
    $status.status = 'failed'
    $status.error = ('{0:X8}' -f $_.Exception.HResult)
}
Write-Status $status
exit 0

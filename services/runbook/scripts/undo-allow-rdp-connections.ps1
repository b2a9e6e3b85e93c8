# rdp-doctor-script: undo-allow-rdp-connections
# RDP Doctor undo of fix-allow-rdp-connections: puts fDenyTSConnections under HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server
# back to what the fix printed as its before-value: "keep" (no change), "absent" (the value is removed) or a DWORD in
# decimal. Windows applies it at once (no restart).
# Idempotent, non-interactive; prints one JSON status line and always exits 0.
param(
    [string]$DenyTSConnections = 'keep'
)

$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'

# one ASCII JSON line whatever the PowerShell version: 5.1 escapes < > ' & and 7 does not; non-ASCII as \uXXXX
function ConvertTo-AsciiJson($o) {
    $j = ConvertTo-Json -InputObject $o -Depth 6 -Compress
    $sb = New-Object System.Text.StringBuilder
    foreach ($ch in $j.ToCharArray()) {
        $n = [int]$ch
        if ($n -gt 127 -or $n -eq 60 -or $n -eq 62 -or $n -eq 39 -or $n -eq 38) {
            [void]$sb.Append('\u' + $n.ToString('x4'))
        } else {
            [void]$sb.Append($ch)
        }
    }
    return $sb.ToString()
}

function Get-Dword($item, [string]$name) {
    if ($null -eq $item) {
        return $null
    }
    $v = $item.$name
    if ($null -eq $v) {
        return $null
    }
    return [int]$v
}

function Test-Value([string]$v) {
    if ($v -eq 'keep' -or $v -eq 'absent') {
        return $true
    }
    if ($v -notmatch '^[0-9]{1,10}\z') {
        return $false
    }
    return ([int64]$v -le 4294967295)
}

# a REG_DWORD as unsigned decimal: the registry provider returns Int32, so 0xFFFFFFFF reads as -1
function Get-Unsigned($x) {
    $n = [int64]$x
    if ($n -lt 0) {
        $n = $n + 4294967296
    }
    return [string]$n
}

# the unsigned decimal as the Int32 a DWORD write takes (PowerShell 5.1 does not wrap values above 2147483647)
function ConvertTo-Dword([string]$v) {
    $n = [int64]$v
    if ($n -gt 2147483647) {
        $n = $n - 4294967296
    }
    return [int]$n
}

$status = [ordered]@{ id = 'undo-allow-rdp-connections'; ok = $false; status = 'failed'; changed = @(); needsRestart = $false; step = $null }
try {
    if (-not (Test-Value $DenyTSConnections)) {
        $status.status = 'bad-param'
    } else {
        $key = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server'
        $name = 'fDenyTSConnections'
        $status.step = $name
        $v = Get-ItemProperty -LiteralPath $key -ErrorAction Stop
        $now = $null
        if ($null -ne $v.$name) {
            $now = Get-Unsigned $v.$name
        }
        $changed = @()
        if ($DenyTSConnections -eq 'absent') {
            if ($null -ne $now) {
                Remove-ItemProperty -LiteralPath $key -Name $name -Force -ErrorAction Stop
                $changed += $name
            }
        } elseif ($DenyTSConnections -ne 'keep' -and $now -ne (Get-Unsigned $DenyTSConnections)) {
            Set-ItemProperty -LiteralPath $key -Name $name -Value (ConvertTo-Dword $DenyTSConnections) -Type DWord -ErrorAction Stop
            $changed += $name
        }
        $status.changed = $changed
        $status.ok = $true
        if ($changed.Count -gt 0) {
            $status.status = 'done'
        } else {
            $status.status = 'noop'
        }
        $status.step = $null
    }
} catch {
    $status.status = 'failed'
    $status.error = ('{0:X8}' -f $_.Exception.HResult)
}
Write-Output (ConvertTo-AsciiJson $status)
exit 0

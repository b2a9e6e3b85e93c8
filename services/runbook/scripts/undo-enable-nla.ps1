# rdp-doctor-script: undo-enable-nla
# RDP Doctor undo of fix-enable-nla: puts the RDP-Tcp values back to what fix-enable-nla printed as its before-values.
# Each value is "keep" (the fix did not change it), "absent" (the value did not exist: it is removed) or a DWORD in
# decimal. Takes effect after the VM restart the bot does when something changed.
# Idempotent, non-interactive; prints one JSON status line and always exits 0.
param(
    [string]$UserAuthentication = 'keep',
    [string]$AllowSecProtocolNegotiation = 'keep',
    [string]$SecurityLayer = 'keep'
)

$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'

function Write-Status($o) {
    Write-Output (ConvertTo-Json -InputObject $o -Depth 4 -Compress)
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

$status = [ordered]@{ id = 'undo-enable-nla'; ok = $false; status = 'failed'; changed = @(); needsRestart = $false; step = $null }
try {
    $wanted = @(
        @('UserAuthentication', $UserAuthentication),
        @('fAllowSecProtocolNegotiation', $AllowSecProtocolNegotiation),
        @('SecurityLayer', $SecurityLayer)
    )
    $bad = @($wanted | Where-Object { -not (Test-Value $_[1]) })
    if ($bad.Count -gt 0) {
        $status.status = 'bad-param'
    } else {
        $tsKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
        $v = Get-ItemProperty -LiteralPath $tsKey -ErrorAction Stop
        $changed = @()
        foreach ($w in $wanted) {
            $name = $w[0]
            $want = $w[1]
            $status.step = $name
            if ($want -eq 'keep') {
                continue
            }
            $now = $null
            if ($null -ne $v.$name) {
                $now = Get-Unsigned $v.$name
            }
            if ($want -eq 'absent') {
                if ($null -ne $now) {
                    Remove-ItemProperty -LiteralPath $tsKey -Name $name -Force -ErrorAction Stop
                    $changed += $name
                }
            } elseif ($now -ne (Get-Unsigned $want)) {
                Set-ItemProperty -LiteralPath $tsKey -Name $name -Value (ConvertTo-Dword $want) -Type DWord -ErrorAction Stop
                $changed += $name
            }
        }
        $status.changed = $changed
        $status.needsRestart = ($changed.Count -gt 0)
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
Write-Status $status
exit 0

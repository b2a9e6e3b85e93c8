# rdp-doctor-script: undo-enable-tls
# RDP Doctor undo of fix-enable-tls: puts the TLS server values back to what fix-enable-tls printed as its before-values.
# Each value is "keep" (the fix did not touch that protocol), "absent" (the value did not exist: it is removed) or a
# DWORD in decimal. SCHANNEL reads these values at start: the bot restarts the VM afterwards when something changed.
# Idempotent, non-interactive; prints one JSON status line, always exits 0.
param(
    [string]$Tls10Enabled = 'keep',
    [string]$Tls10DisabledByDefault = 'keep',
    [string]$Tls11Enabled = 'keep',
    [string]$Tls11DisabledByDefault = 'keep',
    [string]$Tls12Enabled = 'keep',
    [string]$Tls12DisabledByDefault = 'keep'
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

$base = 'HKLM:\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols'

function Restore-Value([string]$proto, [string]$name, [string]$want) {
    if ($want -eq 'keep') {
        return $false
    }
    $key = '{0}\{1}\Server' -f $base, $proto
    $v = $null
    if (Test-Path -LiteralPath $key) {
        $v = Get-ItemProperty -LiteralPath $key -ErrorAction SilentlyContinue
    }
    $now = $null
    if ($null -ne $v -and $null -ne $v.$name) {
        $now = Get-Unsigned $v.$name
    }
    if ($want -eq 'absent') {
        if ($null -eq $now) {
            return $false
        }
        Remove-ItemProperty -LiteralPath $key -Name $name -Force -ErrorAction Stop
        return $true
    }
    if ($now -eq (Get-Unsigned $want)) {
        return $false
    }
    if (-not (Test-Path -LiteralPath $key)) {
        New-Item -Path $key -Force -ErrorAction Stop | Out-Null
    }
    New-ItemProperty -LiteralPath $key -Name $name -Value (ConvertTo-Dword $want) -PropertyType DWord -Force -ErrorAction Stop | Out-Null
    return $true
}

$status = [ordered]@{ id = 'undo-enable-tls'; ok = $false; status = 'failed'; changed = @(); needsRestart = $false; step = $null }
try {
    $wanted = @(
        @('TLS 1.0', 'Enabled', $Tls10Enabled),
        @('TLS 1.0', 'DisabledByDefault', $Tls10DisabledByDefault),
        @('TLS 1.1', 'Enabled', $Tls11Enabled),
        @('TLS 1.1', 'DisabledByDefault', $Tls11DisabledByDefault),
        @('TLS 1.2', 'Enabled', $Tls12Enabled),
        @('TLS 1.2', 'DisabledByDefault', $Tls12DisabledByDefault)
    )
    $bad = @($wanted | Where-Object { -not (Test-Value $_[2]) })
    if ($bad.Count -gt 0) {
        $status.status = 'bad-param'
    } else {
        $changed = @()
        foreach ($w in $wanted) {
            $status.step = $w[0]
            if (Restore-Value $w[0] $w[1] $w[2]) {
                $changed += ('{0}\{1}' -f $w[0], $w[1])
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

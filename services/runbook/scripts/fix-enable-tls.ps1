# rdp-doctor-script: fix-enable-tls
# RDP Doctor fix: turn the TLS 1.2 server protocol on (Enabled=1, DisabledByDefault=0). TLS 1.0 and 1.1 are deprecated
# and are changed only when their parameter is "1". Reports the values Group Policy owns (a local change to them is
# reverted at the next policy refresh); Group Policy itself is never disabled. SCHANNEL reads these values at start:
# the bot restarts the VM afterwards. Idempotent, non-interactive; prints one JSON status line, always exits 0.
param(
    [string]$Tls10 = '0',
    [string]$Tls11 = '0'
)

$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'

function Write-Status($o) {
    Write-Output (ConvertTo-Json -InputObject $o -Depth 4 -Compress)
}

$base = 'HKLM:\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols'

function Set-ServerProtocol([string]$proto) {
    $key = '{0}\{1}\Server' -f $base, $proto
    if (-not (Test-Path -LiteralPath $key)) {
        New-Item -Path $key -Force -ErrorAction Stop | Out-Null
    }
    $v = Get-ItemProperty -LiteralPath $key -ErrorAction SilentlyContinue
    $changed = $false
    if ($null -eq $v -or $null -eq $v.Enabled -or [int]$v.Enabled -ne 1) {
        New-ItemProperty -LiteralPath $key -Name Enabled -Value 1 -PropertyType DWord -Force -ErrorAction Stop | Out-Null
        $changed = $true
    }
    if ($null -eq $v -or $null -eq $v.DisabledByDefault -or [int]$v.DisabledByDefault -ne 0) {
        New-ItemProperty -LiteralPath $key -Name DisabledByDefault -Value 0 -PropertyType DWord -Force -ErrorAction Stop | Out-Null
        $changed = $true
    }
    return $changed
}

$status = [ordered]@{ id = 'fix-enable-tls'; ok = $false; status = 'failed'; changed = @(); policy = @(); rsop = 'none'; needsRestart = $false; step = $null }
try {
    if (($Tls10 -ne '0' -and $Tls10 -ne '1') -or ($Tls11 -ne '0' -and $Tls11 -ne '1')) {
        $status.status = 'bad-param'
    } else {
        $protos = @('TLS 1.2')
        if ($Tls11 -eq '1') {
            $protos += 'TLS 1.1'
        }
        if ($Tls10 -eq '1') {
            $protos += 'TLS 1.0'
        }
        $changed = @()
        foreach ($p in $protos) {
            $status.step = $p
            if (Set-ServerProtocol $p) {
                $changed += $p
            }
        }
        $status.changed = $changed
        $status.step = 'policy'
        $policy = @()
        try {
            $rs = @(Get-CimInstance -Namespace 'root\rsop\computer' -ClassName RSOP_RegistryPolicySetting -Filter "registryKey LIKE '%SCHANNEL%'" -OperationTimeoutSec 30 -ErrorAction Stop)
            $status.rsop = 'ok'
            foreach ($s in $rs) {
                $k = [string]$s.registryKey
                $i = $k.IndexOf('Protocols\')
                if ($s.precedence -eq 1 -and $s.valueName -and $i -ge 0 -and $policy.Count -lt 6) {
                    $policy += ('SCHANNEL\{0}\{1}' -f $k.Substring($i + 10), $s.valueName)
                }
            }
        } catch {
            $status.rsop = 'error'
        }
        $status.policy = $policy
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

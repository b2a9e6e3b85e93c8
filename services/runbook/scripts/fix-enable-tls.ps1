# rdp-doctor-script: fix-enable-tls
# RDP Doctor fix: turn the TLS 1.2 server protocol on (Enabled=1, DisabledByDefault=0). TLS 1.0 and 1.1 are deprecated
# and are changed only when their parameter is "1". Reports the values Group Policy owns (a local change to them is
# reverted at the next policy refresh); Group Policy itself is never disabled. SCHANNEL reads these values at start:
# the bot restarts the VM afterwards. Re-reads the values it set ("not-applied" when they did not stick). Prints its
# before-values under "before". Idempotent, non-interactive; prints one JSON status line, always exits 0.
param(
    [string]$Tls10 = '0',
    [string]$Tls11 = '0'
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

function Write-Status($o) {
    $j = ConvertTo-AsciiJson $o
    if ($j.Length -gt 3400) {
        $o.before = 'cut'
        $j = ConvertTo-AsciiJson $o
    }
    Write-Output $j
}


$base = 'HKLM:\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols'

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

function Get-ServerProtocol([string]$proto) {
    $v = Get-ItemProperty -LiteralPath ('{0}\{1}\Server' -f $base, $proto) -ErrorAction SilentlyContinue
    return [ordered]@{ Enabled = (Get-Dword $v 'Enabled'); DisabledByDefault = (Get-Dword $v 'DisabledByDefault') }
}

function Set-ServerProtocol([string]$proto, $cur) {
    $key = '{0}\{1}\Server' -f $base, $proto
    if (-not (Test-Path -LiteralPath $key)) {
        New-Item -Path $key -Force -ErrorAction Stop | Out-Null
    }
    $changed = $false
    if ($cur.Enabled -ne 1) {
        New-ItemProperty -LiteralPath $key -Name Enabled -Value 1 -PropertyType DWord -Force -ErrorAction Stop | Out-Null
        $changed = $true
    }
    if ($cur.DisabledByDefault -ne 0 -or $null -eq $cur.DisabledByDefault) {
        New-ItemProperty -LiteralPath $key -Name DisabledByDefault -Value 0 -PropertyType DWord -Force -ErrorAction Stop | Out-Null
        $changed = $true
    }
    return $changed
}

$status = [ordered]@{ id = 'fix-enable-tls'; ok = $false; status = 'failed'; changed = @(); policy = @(); rsop = 'none'; needsRestart = $false; before = $null; step = $null }
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
        $status.step = 'read'
        $before = [ordered]@{}
        foreach ($p in $protos) {
            $before[$p] = Get-ServerProtocol $p
        }
        $status.before = $before
        $changed = @()
        foreach ($p in $protos) {
            $status.step = $p
            if (Set-ServerProtocol $p $before[$p]) {
                $changed += $p
            }
        }
        $status.changed = $changed
        $status.step = 'policy'
        $policy = @()
        try {
            $rs = @(Get-CimInstance -Namespace 'root\rsop\computer' -ClassName RSOP_RegistryPolicySetting -Filter "registryKey LIKE '%SCHANNEL%'" -ErrorAction Stop)
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
        $status.step = 'verify'
        $stuck = @($protos | Where-Object { $a = Get-ServerProtocol $_; $a.Enabled -ne 1 -or $a.DisabledByDefault -ne 0 })
        $status.needsRestart = ($changed.Count -gt 0)
        if ($stuck.Count -gt 0) {
            $status.status = 'not-applied'
        } else {
            $status.ok = $true
            if ($changed.Count -gt 0) {
                $status.status = 'done'
            } else {
                $status.status = 'noop'
            }
            $status.step = $null
        }
    }
} catch {
    $status.status = 'failed'
    $status.error = ('{0:X8}' -f $_.Exception.HResult)
}
Write-Status $status
exit 0

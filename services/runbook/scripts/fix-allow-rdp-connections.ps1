# rdp-doctor-script: fix-allow-rdp-connections
# RDP Doctor fix: switch Remote Desktop on: fDenyTSConnections = 0 under HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server.
# When the Terminal Services policy value (HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services\fDenyTSConnections)
# denies connections, Group Policy decides and would revert a local change: nothing is changed and the status is
# "policy-denies", naming the policy value. Windows applies the value at once (no restart). Re-reads the value it set
# ("not-applied" when it did not stick). Prints its before-value under "before".
# Idempotent, non-interactive; prints one JSON status line and always exits 0.
param()

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

$status = [ordered]@{ id = 'fix-allow-rdp-connections'; ok = $false; status = 'failed'; changed = @(); policy = $null; needsRestart = $false; before = $null; step = $null }
try {
    $key = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server'
    $status.step = 'policy'
    $gp = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services' -ErrorAction SilentlyContinue
    $p = Get-Dword $gp 'fDenyTSConnections'
    if ($null -ne $p) {
        $status.policy = ('TS\fDenyTSConnections={0}' -f $p)
    }
    $status.step = 'read'
    $v = Get-ItemProperty -LiteralPath $key -ErrorAction Stop
    $before = Get-Dword $v 'fDenyTSConnections'
    $status.before = [ordered]@{ fDenyTSConnections = $before }
    if ($null -ne $p -and $p -ne 0) {
        # never fight Group Policy: its value wins over the local one and comes back at the next refresh
        $status.status = 'policy-denies'
        $status.step = $null
    } elseif ($null -eq $before -or $before -eq 0) {
        $status.ok = $true
        $status.status = 'noop'
        $status.step = $null
    } else {
        $status.step = 'set'
        Set-ItemProperty -LiteralPath $key -Name 'fDenyTSConnections' -Value 0 -Type DWord -ErrorAction Stop
        $status.changed = @('fDenyTSConnections')
        $status.step = 'verify'
        $after = Get-ItemProperty -LiteralPath $key -ErrorAction Stop
        if ((Get-Dword $after 'fDenyTSConnections') -ne 0) {
            $status.status = 'not-applied'
        } else {
            $status.ok = $true
            $status.status = 'done'
            $status.step = $null
        }
    }
} catch {
    $status.status = 'failed'
    $status.error = ('{0:X8}' -f $_.Exception.HResult)
}
Write-Output (ConvertTo-AsciiJson $status)
exit 0

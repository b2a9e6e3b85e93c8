# rdp-doctor-script: fix-reset-rdp-listener
# RDP Doctor fix: switch the RDP listener and the server back on, changing only the values that are wrong:
# RDP-Tcp fEnableWinStation 0 -> 1, fLogonDisabled (non-zero) -> 0; Terminal Server TSEnabled 0 -> 1,
# TSServerDrainMode (non-zero) -> 0. Absent values are Windows' defaults and stay absent. TermService reads these when
# it creates the listener: the bot restarts the VM after a change. Re-reads the values it set ("not-applied" when
# they did not stick). Prints its before-values under "before".
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

$status = [ordered]@{ id = 'fix-reset-rdp-listener'; ok = $false; status = 'failed'; changed = @(); needsRestart = $false; before = $null; step = $null }
try {
    $ts = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server'
    $rdp = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
    $status.step = 'read'
    $t = Get-ItemProperty -LiteralPath $ts -ErrorAction Stop
    $r = Get-ItemProperty -LiteralPath $rdp -ErrorAction Stop
    $before = [ordered]@{
        fEnableWinStation = (Get-Dword $r 'fEnableWinStation')
        fLogonDisabled = (Get-Dword $r 'fLogonDisabled')
        TSEnabled = (Get-Dword $t 'TSEnabled')
        TSServerDrainMode = (Get-Dword $t 'TSServerDrainMode')
    }
    $status.before = $before
    # name, key, wanted value; only a value that is present and wrong is changed
    $want = @()
    if ($before.fEnableWinStation -eq 0) {
        $want += , @('fEnableWinStation', $rdp, 1)
    }
    if ($null -ne $before.fLogonDisabled -and $before.fLogonDisabled -ne 0) {
        $want += , @('fLogonDisabled', $rdp, 0)
    }
    if ($before.TSEnabled -eq 0) {
        $want += , @('TSEnabled', $ts, 1)
    }
    if ($null -ne $before.TSServerDrainMode -and $before.TSServerDrainMode -ne 0) {
        $want += , @('TSServerDrainMode', $ts, 0)
    }
    $changed = @()
    foreach ($x in $want) {
        $status.step = $x[0]
        Set-ItemProperty -LiteralPath $x[1] -Name $x[0] -Value $x[2] -Type DWord -ErrorAction Stop
        $changed += $x[0]
    }
    $status.changed = $changed
    $status.needsRestart = ($changed.Count -gt 0)
    $status.step = 'verify'
    $stuck = @($want | Where-Object { (Get-Dword (Get-ItemProperty -LiteralPath $_[1] -ErrorAction Stop) $_[0]) -ne $_[2] })
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
} catch {
    $status.status = 'failed'
    $status.error = ('{0:X8}' -f $_.Exception.HResult)
}
Write-Output (ConvertTo-AsciiJson $status)
exit 0

# rdp-doctor-script: fix-enable-nla
# RDP Doctor fix: require Network Level Authentication on RDP-Tcp: UserAuthentication=1,
# fAllowSecProtocolNegotiation=1, and SecurityLayer=1 (Negotiate) only when it is 0 (plain RDP security cannot do NLA).
# Reports Terminal Services policy values, which override these. Takes effect after the VM restart the bot does.
# Idempotent, non-interactive; prints one JSON status line and always exits 0.
param()

$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'

function Write-Status($o) {
    Write-Output (ConvertTo-Json -InputObject $o -Depth 4 -Compress)
}

$status = [ordered]@{ id = 'fix-enable-nla'; ok = $false; status = 'failed'; changed = @(); policy = @(); needsRestart = $false; step = $null }
try {
    $tsKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
    $v = Get-ItemProperty -LiteralPath $tsKey -ErrorAction Stop
    $changed = @()
    $status.step = 'UserAuthentication'
    if ($null -eq $v.UserAuthentication -or [int]$v.UserAuthentication -ne 1) {
        Set-ItemProperty -LiteralPath $tsKey -Name UserAuthentication -Value 1 -Type DWord -ErrorAction Stop
        $changed += 'UserAuthentication'
    }
    $status.step = 'fAllowSecProtocolNegotiation'
    if ($null -eq $v.fAllowSecProtocolNegotiation -or [int]$v.fAllowSecProtocolNegotiation -ne 1) {
        Set-ItemProperty -LiteralPath $tsKey -Name fAllowSecProtocolNegotiation -Value 1 -Type DWord -ErrorAction Stop
        $changed += 'fAllowSecProtocolNegotiation'
    }
    $status.step = 'SecurityLayer'
    if ($null -ne $v.SecurityLayer -and [int]$v.SecurityLayer -eq 0) {
        Set-ItemProperty -LiteralPath $tsKey -Name SecurityLayer -Value 1 -Type DWord -ErrorAction Stop
        $changed += 'SecurityLayer'
    }
    $status.changed = $changed
    $status.step = 'policy'
    $policy = @()
    $gp = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services' -ErrorAction SilentlyContinue
    if ($gp) {
        foreach ($n in 'UserAuthentication', 'SecurityLayer', 'MinEncryptionLevel') {
            if ($null -ne $gp.$n) {
                $policy += ('TS\{0}={1}' -f $n, [int]$gp.$n)
            }
        }
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
} catch {
    $status.status = 'failed'
    $status.error = ('{0:X8}' -f $_.Exception.HResult)
}
Write-Status $status
exit 0

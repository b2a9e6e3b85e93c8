# rdp-doctor-script: fix-enable-nla
# RDP Doctor fix: require Network Level Authentication on RDP-Tcp: UserAuthentication=1,
# fAllowSecProtocolNegotiation=1, and SecurityLayer=1 (Negotiate) only when it is 0 (plain RDP security cannot do NLA;
# 2, SSL, is stronger and stays). On a domain-joined VM it first checks the secure channel (Test-ComputerSecureChannel):
# with a broken channel NLA locks domain users out, so it changes nothing and says "secure-channel-broken".
# Reports Terminal Services policy values, which override these. Re-reads the values it set ("not-applied" when
# they did not stick). Takes effect after the VM restart the bot does. Prints its before-values under "before".
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

function Write-Status($o) {
    $j = ConvertTo-AsciiJson $o
    if ($j.Length -gt 3400) {
        $o.before = 'cut'
        $j = ConvertTo-AsciiJson $o
    }
    Write-Output $j
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

$status = [ordered]@{ id = 'fix-enable-nla'; ok = $false; status = 'failed'; changed = @(); policy = @(); needsRestart = $false; before = $null; step = $null }
try {
    $tsKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
    $status.step = 'read'
    $v = Get-ItemProperty -LiteralPath $tsKey -ErrorAction Stop
    $names = @('UserAuthentication', 'SecurityLayer', 'fAllowSecProtocolNegotiation')
    $before = [ordered]@{}
    foreach ($n in $names) {
        $before[$n] = Get-Dword $v $n
    }
    $status.before = $before
    $status.step = 'policy'
    $policy = @()
    $gp = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services' -ErrorAction SilentlyContinue
    foreach ($n in 'UserAuthentication', 'SecurityLayer', 'MinEncryptionLevel') {
        $p = Get-Dword $gp $n
        if ($null -ne $p) {
            $policy += ('TS\{0}={1}' -f $n, $p)
        }
    }
    $status.policy = $policy
    # NLA with a broken secure channel locks domain users out (cannot-connect-rdp-azure-vm)
    $status.step = 'secure-channel'
    $cs = Get-CimInstance -ClassName Win32_ComputerSystem -ErrorAction SilentlyContinue | Select-Object -First 1
    $channelOk = $true
    if ($cs -and $cs.PartOfDomain -eq $true) {
        try {
            $channelOk = [bool](Test-ComputerSecureChannel -ErrorAction Stop)
        } catch {
            $channelOk = $false
        }
    }
    if (-not $channelOk) {
        $status.status = 'secure-channel-broken'
        $status.step = $null
    } else {
        $want = [ordered]@{}
        if ($before.UserAuthentication -ne 1) {
            $want.UserAuthentication = 1
        }
        if ($before.fAllowSecProtocolNegotiation -ne 1) {
            $want.fAllowSecProtocolNegotiation = 1
        }
        if ($before.SecurityLayer -eq 0) {
            $want.SecurityLayer = 1
        }
        $changed = @()
        foreach ($n in @($want.Keys)) {
            $status.step = $n
            Set-ItemProperty -LiteralPath $tsKey -Name $n -Value $want[$n] -Type DWord -ErrorAction Stop
            $changed += $n
        }
        $status.changed = $changed
        $status.step = 'verify'
        $after = Get-ItemProperty -LiteralPath $tsKey -ErrorAction Stop
        $stuck = @($want.Keys | Where-Object { (Get-Dword $after $_) -ne $want[$_] })
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

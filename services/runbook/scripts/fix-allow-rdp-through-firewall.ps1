# rdp-doctor-script: fix-allow-rdp-through-firewall
# RDP Doctor fix for guest-firewall-blocks-rdp: lets TCP to the RDP port in through Windows Firewall's ACTIVE profile.
# 1. When that profile blocks all incoming connections ("block all incoming", AllowInboundRules False), allow rules are
#    ignored: the setting is turned off for the active profile only (a security-relevant change: the approver is told).
# 2. When no enabled inbound allow rule of the profile then covers TCP to the port: the built-in rule
#    RemoteDesktop-UserMode-In-TCP is enabled when it covers the port, else the rule "RDP Doctor - Remote Desktop (TCP-In)"
#    (Name RDPDoctor-RDP-In-TCP, TermService in svchost.exe, all profiles) is created or enabled on the port.
# No restart (a firewall change applies at once). Prints its before-values under "before"; idempotent, non-interactive;
# Windows PowerShell 4.0/5.1; prints one JSON status line and always exits 0.
param()

$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'

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

function Get-RuleState([string]$name) {
    $rule = Get-NetFirewallRule -Name $name -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $rule) {
        return $null
    }
    $pf = Get-NetFirewallPortFilter -AssociatedNetFirewallRule $rule -ErrorAction Stop
    return [ordered]@{ enabled = ([string]$rule.Enabled -eq 'True'); localPort = @($pf.LocalPort | ForEach-Object { [string]$_ }) }
}

function Test-PortIn($ports, [int]$port) {
    foreach ($lp in @($ports)) {
        $x = [string]$lp
        if ($x -eq 'Any' -or $x -eq [string]$port) { return $true }
        if ($x -match '^([0-9]+)-([0-9]+)$' -and [int]$Matches[1] -le $port -and [int]$Matches[2] -ge $port) { return $true }
    }
    return $false
}

# enabled inbound Allow rules of the ActiveStore, in the profile, covering TCP to the port (as diagnose.ps1 counts them)
function Get-AllowCount([string]$act, [int]$port) {
    $filters = @{}
    foreach ($f in @(Get-NetFirewallPortFilter -All -PolicyStore ActiveStore -ErrorAction Stop)) {
        $pr = [string]$f.Protocol
        if (($pr -eq 'TCP' -or $pr -eq 'Any' -or $pr -eq '6') -and (Test-PortIn $f.LocalPort $port)) { $filters[[string]$f.InstanceID] = $true }
    }
    $n = 0
    foreach ($r in @(Get-NetFirewallRule -PolicyStore ActiveStore -ErrorAction Stop)) {
        if ([string]$r.Enabled -ne 'True' -or [string]$r.Direction -ne 'Inbound' -or [string]$r.Action -ne 'Allow') { continue }
        $rp = [string]$r.Profile
        if ($rp -ne 'Any' -and -not (@($rp -split ',\s*') -contains $act)) { continue }
        if ($filters.ContainsKey([string]$r.Name)) { $n++ }
    }
    return $n
}

$status = [ordered]@{ id = 'fix-allow-rdp-through-firewall'; ok = $false; status = 'failed'; port = $null; profile = $null; changed = @(); before = $null; step = $null }
$changed = New-Object System.Collections.ArrayList
try {
    $status.step = 'read'
    $tsKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
    $port = [int](Get-ItemProperty -LiteralPath $tsKey -ErrorAction Stop).PortNumber
    $status.port = $port
    $cat = [string](@(Get-NetConnectionProfile -ErrorAction Stop | Select-Object -ExpandProperty NetworkCategory) | Select-Object -First 1)
    $act = 'Public'
    if ($cat -like 'Domain*') { $act = 'Domain' } elseif ($cat -eq 'Private') { $act = 'Private' }
    $status.profile = $act
    $prof = Get-NetFirewallProfile -Name $act -PolicyStore ActiveStore -ErrorAction Stop | Select-Object -First 1
    $builtin = 'RemoteDesktop-UserMode-In-TCP'
    $own = 'RDPDoctor-RDP-In-TCP'
    $before = [ordered]@{ blockAll = ([string]$prof.AllowInboundRules -eq 'False'); builtin = (Get-RuleState $builtin); own = (Get-RuleState $own) }
    $status.before = $before
    if ($before.blockAll) {
        $status.step = 'profile'
        Set-NetFirewallProfile -Name $act -AllowInboundRules True -ErrorAction Stop
        [void]$changed.Add('blockAll')
    }
    $status.step = 'rules'
    $isDefaultAllow = ([string]$prof.DefaultInboundAction -eq 'Allow')
    if (-not $isDefaultAllow -and (Get-AllowCount $act $port) -eq 0) {
        if ($before.builtin -and -not $before.builtin.enabled -and (Test-PortIn $before.builtin.localPort $port)) {
            $status.step = 'builtin'
            Set-NetFirewallRule -Name $builtin -Enabled True -ErrorAction Stop
            [void]$changed.Add('builtin')
        } elseif ($before.own) {
            $status.step = 'own'
            Set-NetFirewallRule -Name $own -Enabled True -LocalPort $port -ErrorAction Stop
            [void]$changed.Add('own')
        } else {
            $status.step = 'create'
            New-NetFirewallRule -Name $own -DisplayName 'RDP Doctor - Remote Desktop (TCP-In)' -Direction Inbound -Protocol TCP -LocalPort $port -Action Allow -Profile Any -Program '%SystemRoot%\system32\svchost.exe' -Service TermService -ErrorAction Stop | Out-Null
            [void]$changed.Add('created')
        }
    }
    $status.changed = @($changed)
    $status.step = 'verify'
    $after = Get-NetFirewallProfile -Name $act -PolicyStore ActiveStore -ErrorAction Stop | Select-Object -First 1
    $blocked = ([string]$after.AllowInboundRules -eq 'False')
    if ($blocked -or (-not $isDefaultAllow -and (Get-AllowCount $act $port) -eq 0)) {
        # Group Policy may hold the profile setting or define the rules: a local change does not take
        $status.status = 'not-applied'
    } else {
        $status.ok = $true
        if ($changed.Count -eq 0) { $status.status = 'noop' } else { $status.status = 'done' }
        $status.step = $null
    }
} catch {
    $status.changed = @($changed)
    $status.status = 'failed'
    $status.error = ('{0:X8}' -f $_.Exception.HResult)
}
Write-Output (ConvertTo-AsciiJson $status)
exit 0

# rdp-doctor-script: fix-fix-firewall-rule
# RDP Doctor fix: enable the built-in rule RemoteDesktop-UserMode-In-TCP (by Name: display names are localized)
# on the configured RDP port, or create it when it is missing. Reports when Group Policy also defines the rule.
# Idempotent, non-interactive; prints one JSON status line and always exits 0.
param()

$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'

function Write-Status($o) {
    Write-Output (ConvertTo-Json -InputObject $o -Depth 4 -Compress)
}

$status = [ordered]@{ id = 'fix-fix-firewall-rule'; ok = $false; status = 'failed'; port = $null; action = 'none'; policyRule = $false; step = $null }
try {
    $tsKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
    $port = [int](Get-ItemProperty -LiteralPath $tsKey -ErrorAction Stop).PortNumber
    $status.port = $port
    $name = 'RemoteDesktop-UserMode-In-TCP'
    $status.step = 'read'
    $rule = Get-NetFirewallRule -Name $name -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($rule) {
        $pf = Get-NetFirewallPortFilter -AssociatedNetFirewallRule $rule -ErrorAction Stop
        $ports = @($pf.LocalPort | ForEach-Object { [string]$_ })
        $enabled = ([string]$rule.Enabled -eq 'True')
        if (-not $enabled -or -not ($ports -contains [string]$port)) {
            $status.step = 'update'
            Set-NetFirewallRule -Name $name -LocalPort $port -Enabled True -ErrorAction Stop
            $status.action = 'updated'
        }
    } else {
        $status.step = 'create'
        New-NetFirewallRule -Name $name -DisplayName 'Remote Desktop - User Mode (TCP-In)' -Direction Inbound -Protocol TCP -LocalPort $port -Action Allow -Profile Any -Program '%SystemRoot%\system32\svchost.exe' -Service TermService -ErrorAction Stop | Out-Null
        $status.action = 'created'
    }
    $gpo = @(Get-NetFirewallRule -Name $name -PolicyStore RSOP -ErrorAction SilentlyContinue)
    $status.policyRule = ($gpo.Count -gt 0)
    $status.ok = $true
    if ($status.action -eq 'none') {
        $status.status = 'noop'
    } else {
        $status.status = 'done'
    }
    $status.step = $null
} catch {
    $status.status = 'failed'
    $status.error = ('{0:X8}' -f $_.Exception.HResult)
}
Write-Status $status
exit 0

# rdp-doctor-script: undo-allow-rdp-through-firewall
# RDP Doctor undo of fix-allow-rdp-through-firewall: puts back what the fix printed as its before-values and changed.
# Profile: the profile the fix changed (Domain, Private, Public). BlockAll "1": block all incoming connections again.
# Builtin "False": disable RemoteDesktop-UserMode-In-TCP again. Own "remove": remove the rule the fix created;
# Own "False"/"True" with OwnPort (ports separated by dots): put the existing RDP Doctor rule back. "" = leave.
# Idempotent, non-interactive; prints one JSON status line and always exits 0.
param(
    [string]$Profile = '',
    [string]$BlockAll = '',
    [string]$Builtin = '',
    [string]$Own = '',
    [string]$OwnPort = ''
)

$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'

$status = [ordered]@{ id = 'undo-allow-rdp-through-firewall'; ok = $false; status = 'failed'; changed = @(); step = $null }
$changed = New-Object System.Collections.ArrayList
try {
    $okProfile = ($Profile -eq 'Domain' -or $Profile -eq 'Private' -or $Profile -eq 'Public')
    $okBlock = ($BlockAll -eq '' -or $BlockAll -eq '1')
    $okBuiltin = ($Builtin -eq '' -or $Builtin -eq 'False')
    $okOwn = ($Own -eq '' -or $Own -eq 'remove' -or $Own -eq 'True' -or $Own -eq 'False')
    $okPort = $true
    if ($Own -eq 'True' -or $Own -eq 'False') {
        $okPort = ($OwnPort -match '^[0-9]{1,5}(\.[0-9]{1,5}){0,9}\z')
        if ($okPort) { $okPort = (@($OwnPort.Split('.') | Where-Object { [int]$_ -lt 1 -or [int]$_ -gt 65535 }).Count -eq 0) }
    }
    if (-not ($okProfile -and $okBlock -and $okBuiltin -and $okOwn -and $okPort)) {
        $status.status = 'bad-param'
    } else {
        if ($BlockAll -eq '1') {
            $status.step = 'profile'
            $p = Get-NetFirewallProfile -Name $Profile -PolicyStore ActiveStore -ErrorAction Stop | Select-Object -First 1
            if ([string]$p.AllowInboundRules -ne 'False') {
                Set-NetFirewallProfile -Name $Profile -AllowInboundRules False -ErrorAction Stop
                [void]$changed.Add('blockAll')
            }
        }
        if ($Builtin -eq 'False') {
            $status.step = 'builtin'
            $r = Get-NetFirewallRule -Name 'RemoteDesktop-UserMode-In-TCP' -ErrorAction SilentlyContinue | Select-Object -First 1
            if ($r -and [string]$r.Enabled -eq 'True') {
                Set-NetFirewallRule -Name 'RemoteDesktop-UserMode-In-TCP' -Enabled False -ErrorAction Stop
                [void]$changed.Add('builtin')
            }
        }
        if ($Own -ne '') {
            $status.step = 'own'
            $r = Get-NetFirewallRule -Name 'RDPDoctor-RDP-In-TCP' -ErrorAction SilentlyContinue | Select-Object -First 1
            if ($Own -eq 'remove') {
                if ($r) {
                    Remove-NetFirewallRule -Name 'RDPDoctor-RDP-In-TCP' -ErrorAction Stop
                    [void]$changed.Add('own')
                }
            } elseif ($r) {
                $want = @($OwnPort.Split('.'))
                $pf = Get-NetFirewallPortFilter -AssociatedNetFirewallRule $r -ErrorAction Stop
                $ports = @($pf.LocalPort | ForEach-Object { [string]$_ })
                if ([string]$r.Enabled -ne $Own -or ($ports -join '.') -ne ($want -join '.')) {
                    Set-NetFirewallRule -Name 'RDPDoctor-RDP-In-TCP' -Enabled $Own -LocalPort $want -ErrorAction Stop
                    [void]$changed.Add('own')
                }
            }
        }
        $status.changed = @($changed)
        $status.ok = $true
        if ($changed.Count -eq 0) { $status.status = 'noop' } else { $status.status = 'done' }
        $status.step = $null
    }
} catch {
    $status.changed = @($changed)
    $status.status = 'failed'
    $status.error = ('{0:X8}' -f $_.Exception.HResult)
}
Write-Output (ConvertTo-Json -InputObject $status -Depth 4 -Compress)
exit 0

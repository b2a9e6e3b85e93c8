# rdp-doctor-script: undo-fix-firewall-rule
# RDP Doctor undo of fix-fix-firewall-rule: puts the built-in rule RemoteDesktop-UserMode-In-TCP back to what
# fix-fix-firewall-rule printed as its before-values: Exists "0" removes the rule the fix created; Exists "1" sets
# Enabled ("True" or "False") and LocalPort (ports separated by dots, e.g. 3389.3390) as they were.
# Idempotent, non-interactive; prints one JSON status line and always exits 0.
param(
    [string]$Exists = '1',
    [string]$Enabled = 'True',
    [string]$LocalPort = ''
)

$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'

function Write-Status($o) {
    Write-Output (ConvertTo-Json -InputObject $o -Depth 4 -Compress)
}

$status = [ordered]@{ id = 'undo-fix-firewall-rule'; ok = $false; status = 'failed'; action = 'none'; step = $null }
try {
    $okExists = ($Exists -eq '0' -or $Exists -eq '1')
    $okEnabled = ($Enabled -eq 'True' -or $Enabled -eq 'False')
    $okPorts = ($LocalPort -match '^[0-9]{1,5}(\.[0-9]{1,5}){0,9}\z')
    if ($okPorts) {
        # each a TCP port (Set-NetFirewallRule refuses 0 and anything above 65535)
        $okPorts = (@($LocalPort.Split('.') | Where-Object { [int]$_ -lt 1 -or [int]$_ -gt 65535 }).Count -eq 0)
    }
    if (-not $okExists -or ($Exists -eq '1' -and (-not $okEnabled -or -not $okPorts))) {
        $status.status = 'bad-param'
    } else {
        $name = 'RemoteDesktop-UserMode-In-TCP'
        $status.step = 'read'
        $rule = Get-NetFirewallRule -Name $name -ErrorAction SilentlyContinue | Select-Object -First 1
        if ($Exists -eq '0') {
            if ($rule) {
                $status.step = 'remove'
                Remove-NetFirewallRule -Name $name -ErrorAction Stop
                $status.action = 'removed'
            }
        } elseif ($rule) {
            $want = @($LocalPort.Split('.'))
            $pf = Get-NetFirewallPortFilter -AssociatedNetFirewallRule $rule -ErrorAction Stop
            $ports = @($pf.LocalPort | ForEach-Object { [string]$_ })
            $same = (($ports -join '.') -eq ($want -join '.'))
            if ([string]$rule.Enabled -ne $Enabled -or -not $same) {
                $status.step = 'update'
                Set-NetFirewallRule -Name $name -LocalPort $want -Enabled $Enabled -ErrorAction Stop
                $status.action = 'updated'
            }
        } else {
            $status.step = 'missing'
            $status.action = 'missing'
        }
        $status.ok = ($status.action -ne 'missing')
        if ($status.action -eq 'none') {
            $status.status = 'noop'
        } elseif ($status.ok) {
            $status.status = 'done'
        } else {
            $status.status = 'rule-missing'
        }
        if ($status.ok) {
            $status.step = $null
        }
    }
} catch {
    $status.status = 'failed'
    $status.error = ('{0:X8}' -f $_.Exception.HResult)
}
Write-Status $status
exit 0

# rdp-doctor-script: fix-fix-firewall-rule
# RDP Doctor fix: enable the built-in rule RemoteDesktop-UserMode-In-TCP (by Name: display names are localized)
# on the configured RDP port, or create it (restricted to the TermService service in svchost.exe) when it is missing.
# Reports when Group Policy also defines the rule. Re-reads the rule ("not-applied" when the change did not stick).
# Prints its before-values under "before".
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


function Get-RuleState([string]$name) {
    $rule = Get-NetFirewallRule -Name $name -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $rule) {
        return $null
    }
    $pf = Get-NetFirewallPortFilter -AssociatedNetFirewallRule $rule -ErrorAction Stop
    return [ordered]@{ enabled = ([string]$rule.Enabled -eq 'True'); localPort = @($pf.LocalPort | ForEach-Object { [string]$_ }) }
}

$status = [ordered]@{ id = 'fix-fix-firewall-rule'; ok = $false; status = 'failed'; port = $null; action = 'none'; policyRule = $false; before = $null; step = $null }
try {
    $tsKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
    $port = [int](Get-ItemProperty -LiteralPath $tsKey -ErrorAction Stop).PortNumber
    $status.port = $port
    $name = 'RemoteDesktop-UserMode-In-TCP'
    $status.step = 'read'
    $before = Get-RuleState $name
    $status.before = $before
    if ($before) {
        if (-not $before.enabled -or -not ($before.localPort -contains [string]$port)) {
            $status.step = 'update'
            Set-NetFirewallRule -Name $name -LocalPort $port -Enabled True -ErrorAction Stop
            $status.action = 'updated'
        }
    } else {
        $status.step = 'create'
        New-NetFirewallRule -Name $name -DisplayName 'Remote Desktop - User Mode (TCP-In)' -Direction Inbound -Protocol TCP -LocalPort $port -Action Allow -Profile Any -Program '%SystemRoot%\system32\svchost.exe' -Service TermService -ErrorAction Stop | Out-Null
        $status.action = 'created'
    }
    $status.step = 'policy'
    $gpo = @(Get-NetFirewallRule -Name $name -PolicyStore RSOP -ErrorAction SilentlyContinue)
    $status.policyRule = ($gpo.Count -gt 0)
    $status.step = 'verify'
    $after = Get-RuleState $name
    if (-not $after -or -not $after.enabled -or -not ($after.localPort -contains [string]$port)) {
        $status.status = 'not-applied'
    } else {
        $status.ok = $true
        if ($status.action -eq 'none') {
            $status.status = 'noop'
        } else {
            $status.status = 'done'
        }
        $status.step = $null
    }
} catch {
    $status.status = 'failed'
    $status.error = ('{0:X8}' -f $_.Exception.HResult)
}
Write-Status $status
exit 0

# rdp-doctor-script: fix-change-rdp-port
# RDP Doctor fix: move RDP to another port. Order, so that a failure never leaves RDP on a port nothing allows:
# 1. firewall first: the built-in rule RemoteDesktop-UserMode-In-TCP (by Name: display names are localized) keeps
#    the old port; a rule "RDPDoctor-RDP-In-TCP" restricted to the TermService service in svchost.exe allows the new;
# 2. PortNumber (DWORD); if that write fails, the new rule is removed again (rollback);
# 3. bounded TermService restart (sc.exe + timed poll; status "timeout" naming a stuck service);
# 4. only when TermService listens on the new port, the built-in rules move to it and the RDP Doctor rule goes.
# Ports in Windows' default dynamic range (49152-65535) are refused: an outgoing connection may take them.
# The NSG rule for the new port is changed through ARM by the bot. Prints its before-values under "before": the
# port, the built-in TCP rule and the UDP rule RemoteDesktop-UserMode-In-UDP (enabled, ports; null when absent).
# Idempotent, non-interactive; prints one JSON status line and always exits 0. Never restarts the VM.
param(
    [string]$Port = ''
)

$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
$WaitSeconds = 60

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

function Get-RdSvc([string]$n) {
    return (Get-CimInstance -ClassName Win32_Service -Filter ("Name='{0}'" -f $n) -ErrorAction SilentlyContinue | Select-Object -First 1)
}

function Invoke-RdSc([string[]]$a) {
    $null = & sc.exe @a 2>&1
    return [int]$LASTEXITCODE
}

# bounded: Start-Service/Stop-Service/Restart-Service wait without limit on a service stuck in Starting/Stopping
function Wait-RdSvc([string]$n, [string]$want) {
    for ($i = 0; $i -lt $WaitSeconds; $i += 2) {
        $s = Get-RdSvc $n
        if ($s -and [string]$s.State -eq $want) {
            return $true
        }
        Start-Sleep -Seconds 2
    }
    $s = Get-RdSvc $n
    return ($s -and [string]$s.State -eq $want)
}

function Stop-RdSvc([string]$n) {
    $s = Get-RdSvc $n
    if (-not $s) {
        return 'not-found'
    }
    if ([string]$s.State -eq 'Stopped') {
        return 'ok'
    }
    $rc = Invoke-RdSc @('stop', $n)
    if ($rc -eq 1051) {
        return 'dependents-running'
    }
    if ($rc -ne 0 -and $rc -ne 1061 -and $rc -ne 1062) {
        return ('sc-' + $rc)
    }
    if (Wait-RdSvc $n 'Stopped') {
        return 'ok'
    }
    return 'timeout'
}

function Start-RdSvc([string]$n) {
    $s = Get-RdSvc $n
    if (-not $s) {
        return 'not-found'
    }
    if ([string]$s.State -eq 'Running') {
        return 'ok'
    }
    $rc = Invoke-RdSc @('start', $n)
    if ($rc -eq 1058) {
        return 'disabled'
    }
    if ($rc -ne 0 -and $rc -ne 1056 -and $rc -ne 1061) {
        return ('sc-' + $rc)
    }
    if (Wait-RdSvc $n 'Running') {
        return 'ok'
    }
    return 'timeout'
}

# a TermService stuck in Starting/Stopping: isolate it in its own svchost (troubleshoot-remote-desktop-services-issues)
function Get-RdStuck([string]$n, [string]$r) {
    if ($r -eq 'timeout' -and $n -eq 'TermService') {
        $status.isolated = ((Invoke-RdSc @('config', 'TermService', 'type=', 'own')) -eq 0)
    }
    return ($n + ':' + $r)
}

# 'ok' or '<service>:<reason>'; UmRdpService depends on TermService: stopped first, started after
function Restart-Rdp([bool]$stopFirst) {
    if ($stopFirst) {
        $r = Stop-RdSvc 'UmRdpService'
        if ($r -ne 'ok' -and $r -ne 'not-found') {
            return ('UmRdpService:' + $r)
        }
        $r = Stop-RdSvc 'TermService'
        if ($r -ne 'ok') {
            return (Get-RdStuck 'TermService' $r)
        }
    }
    $r = Start-RdSvc 'TermService'
    if ($r -ne 'ok') {
        return (Get-RdStuck 'TermService' $r)
    }
    $um = Get-RdSvc 'UmRdpService'
    if ($um -and [string]$um.StartMode -ne 'Disabled') {
        $r = Start-RdSvc 'UmRdpService'
        if ($r -ne 'ok') {
            return ('UmRdpService:' + $r)
        }
    }
    return 'ok'
}

function Set-SvcFailure([string]$r) {
    $status.svcError = $r
    if ($r -like '*:timeout') {
        $status.status = 'timeout'
    } else {
        $status.status = 'service-error'
    }
}

function Test-RdpListening([int]$port) {
    $ts = Get-RdSvc 'TermService'
    if (-not $ts -or -not $ts.ProcessId) {
        return $false
    }
    $pids = @(Get-NetTCPConnection -LocalPort $port -State Listen -ErrorAction SilentlyContinue | Select-Object -ExpandProperty OwningProcess)
    return ($pids -contains [int]$ts.ProcessId)
}

function Wait-RdpListening([int]$port) {
    for ($i = 0; $i -lt 10; $i++) {
        if (Test-RdpListening $port) {
            return $true
        }
        Start-Sleep -Seconds 2
    }
    return (Test-RdpListening $port)
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

function Get-RuleState([string]$name) {
    $rule = Get-NetFirewallRule -Name $name -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $rule) {
        return $null
    }
    $pf = Get-NetFirewallPortFilter -AssociatedNetFirewallRule $rule -ErrorAction SilentlyContinue
    return [ordered]@{ enabled = ([string]$rule.Enabled -eq 'True'); localPort = @($pf.LocalPort | ForEach-Object { [string]$_ }) }
}

$status = [ordered]@{ id = 'fix-change-rdp-port'; ok = $false; status = 'failed'; oldPort = $null; port = $null; firewall = $null; listening = $false; rolledBack = $false; before = $null; step = $null }
try {
    $new = 0
    if ($Port -match '^[0-9]{4,5}$') {
        $new = [int]$Port
    }
    if ($new -lt 1025 -or $new -gt 65535 -or $new -eq 5985 -or $new -eq 5986 -or $new -eq 47001) {
        $status.status = 'bad-param'
        $status.step = 'port'
    } elseif ($new -ge 49152) {
        $status.status = 'dynamic-range'
        $status.step = 'port'
        $status.port = $new
    } else {
        $status.port = $new
        $status.step = 'check'
        $tsKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
        $builtin = 'RemoteDesktop-UserMode-In-TCP'
        $mine = 'RDPDoctor-RDP-In-TCP'
        $old = [int](Get-ItemProperty -LiteralPath $tsKey -ErrorAction Stop).PortNumber
        $status.oldPort = $old
        $term = Get-RdSvc 'TermService'
        if (-not $term) {
            throw 'TermService not found'
        }
        $ruleBefore = Get-RuleState $builtin
        $status.before = [ordered]@{ port = $old; rule = $ruleBefore; udp = (Get-RuleState 'RemoteDesktop-UserMode-In-UDP') }
        $busy = @(Get-NetTCPConnection -LocalPort $new -State Listen -ErrorAction SilentlyContinue | Where-Object { [int]$_.OwningProcess -ne [int]$term.ProcessId })
        $covers = ($null -ne $ruleBefore -and $ruleBefore.enabled -and ($ruleBefore.localPort -contains [string]$new))
        $mineExists = ($null -ne (Get-NetFirewallRule -Name $mine -ErrorAction SilentlyContinue))
        if ($busy.Count -gt 0) {
            $status.status = 'port-in-use'
        } elseif ($old -eq $new -and $covers -and -not $mineExists -and (Test-RdpListening $new)) {
            $status.status = 'noop'
            $status.ok = $true
            $status.listening = $true
            $status.step = $null
        } else {
            # 1. firewall first, the old port stays allowed
            $status.step = 'firewall'
            $created = $false
            if ($null -eq $ruleBefore) {
                New-NetFirewallRule -Name $builtin -DisplayName 'Remote Desktop - User Mode (TCP-In)' -Direction Inbound -Protocol TCP -LocalPort $new -Action Allow -Profile Any -Program '%SystemRoot%\system32\svchost.exe' -Service TermService -ErrorAction Stop | Out-Null
                $status.firewall = 'created'
                $created = $true
            } elseif (-not $covers) {
                if ($mineExists) {
                    Remove-NetFirewallRule -Name $mine -ErrorAction Stop
                }
                New-NetFirewallRule -Name $mine -DisplayName 'RDP Doctor: Remote Desktop (TCP-In)' -Direction Inbound -Protocol TCP -LocalPort $new -Action Allow -Profile Any -Program '%SystemRoot%\system32\svchost.exe' -Service TermService -ErrorAction Stop | Out-Null
                $status.firewall = 'added'
                $created = $true
            }
            # 2. the port, rolled back on failure
            $status.step = 'registry'
            if ($old -ne $new) {
                try {
                    Set-ItemProperty -LiteralPath $tsKey -Name PortNumber -Value $new -Type DWord -ErrorAction Stop
                } catch {
                    if ($created -and $status.firewall -eq 'created') {
                        Remove-NetFirewallRule -Name $builtin -ErrorAction SilentlyContinue
                    } elseif ($created) {
                        Remove-NetFirewallRule -Name $mine -ErrorAction SilentlyContinue
                    }
                    $status.rolledBack = $true
                    throw
                }
            }
            # 3. TermService takes the new port
            $status.step = 'termservice'
            $r = 'ok'
            if ($old -ne $new -or -not (Test-RdpListening $new)) {
                $r = Restart-Rdp ([string]$term.State -eq 'Running')
            }
            if ($r -ne 'ok') {
                Set-SvcFailure $r
            } else {
                $status.step = 'verify'
                $status.listening = Wait-RdpListening $new
                if ($status.listening) {
                    # 4. verified: the built-in rules move to the new port, the temporary rule goes
                    $status.step = 'firewall-move'
                    if ($status.firewall -eq 'added') {
                        Set-NetFirewallRule -Name $builtin -LocalPort $new -Enabled True -ErrorAction Stop
                        $status.firewall = 'moved'
                    }
                    if (Get-NetFirewallRule -Name $mine -ErrorAction SilentlyContinue) {
                        Remove-NetFirewallRule -Name $mine -ErrorAction Stop
                    }
                    if (Get-NetFirewallRule -Name 'RemoteDesktop-UserMode-In-UDP' -ErrorAction SilentlyContinue) {
                        Set-NetFirewallRule -Name 'RemoteDesktop-UserMode-In-UDP' -LocalPort $new -ErrorAction SilentlyContinue
                    }
                    $status.ok = $true
                    $status.status = 'done'
                } else {
                    $status.status = 'not-listening'
                }
                $status.step = $null
            }
        }
    }
} catch {
    $status.status = 'failed'
    $status.error = ('{0:X8}' -f $_.Exception.HResult)
}
Write-Status $status
exit 0

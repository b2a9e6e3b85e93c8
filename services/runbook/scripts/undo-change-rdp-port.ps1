# rdp-doctor-script: undo-change-rdp-port
# RDP Doctor undo of fix-change-rdp-port: puts RDP back on the port the fix recorded. Port: the old RDP-Tcp
# PortNumber, exactly as recorded (1-65535: a port under 1025 such as 443 is put back too, since it was the VM's own
# choice; refused only for the WinRM ports 5985, 5986 and 47001). The firewall first, as the fix left it before:
# RuleExists "0" removes the built-in rule RemoteDesktop-UserMode-In-TCP (the fix created it), "1" sets its
# Enabled ("True"/"False") and LocalPort (ports or ranges separated by dots, or Any), "keep" leaves it; UdpLocalPort
# puts back RemoteDesktop-UserMode-In-UDP's ports ("keep": the fix did not change it). Then PortNumber (DWORD),
# a bounded TermService restart (sc.exe + timed poll; status "timeout" naming a stuck service) and a check that
# TermService listens on the port. The NSG rules are put back through ARM by the bot.
# Idempotent, non-interactive; prints one JSON status line and always exits 0. Never restarts the VM.
param(
    [string]$Port = '',
    [string]$RuleExists = 'keep',
    [string]$RuleEnabled = 'True',
    [string]$RuleLocalPort = '',
    [string]$UdpLocalPort = 'keep'
)

$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
$WaitSeconds = 60

function Write-Status($o) {
    Write-Output (ConvertTo-Json -InputObject $o -Depth 4 -Compress)
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

function Get-RuleState([string]$name) {
    $rule = Get-NetFirewallRule -Name $name -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $rule) {
        return $null
    }
    $pf = Get-NetFirewallPortFilter -AssociatedNetFirewallRule $rule -ErrorAction SilentlyContinue
    return [ordered]@{ enabled = ([string]$rule.Enabled -eq 'True'); localPort = @($pf.LocalPort | ForEach-Object { [string]$_ }) }
}

# ports as the fix printed them, dot-separated: each a port, a range or Any
function Test-Ports([string]$v) {
    if ($v -notmatch '^(Any|[0-9]{1,5}(-[0-9]{1,5})?)(\.(Any|[0-9]{1,5}(-[0-9]{1,5})?)){0,9}\z') {
        return $false
    }
    foreach ($p in $v.Split('.')) {
        foreach ($n in $p.Split('-')) {
            if ($n -ne 'Any' -and ([int]$n -lt 1 -or [int]$n -gt 65535)) {
                return $false
            }
        }
    }
    return $true
}

function Test-SamePorts($state, [string]$want) {
    return ($null -ne $state -and (@($state.localPort) -join '.') -eq $want)
}

$status = [ordered]@{ id = 'undo-change-rdp-port'; ok = $false; status = 'failed'; port = $null; fromPort = $null; firewall = @(); listening = $false; step = $null }
try {
    $old = 0
    if ($Port -match '^[0-9]{1,5}\z') {
        $old = [int]$Port
    }
    $okRule = ($RuleExists -eq 'keep' -or $RuleExists -eq '0' -or ($RuleExists -eq '1' -and ($RuleEnabled -eq 'True' -or $RuleEnabled -eq 'False') -and (Test-Ports $RuleLocalPort)))
    $okUdp = ($UdpLocalPort -eq 'keep' -or (Test-Ports $UdpLocalPort))
    if ($old -lt 1 -or $old -gt 65535 -or $old -eq 5985 -or $old -eq 5986 -or $old -eq 47001 -or -not $okRule -or -not $okUdp) {
        $status.status = 'bad-param'
        $status.step = 'port'
    } else {
        $status.port = $old
        $status.step = 'check'
        $tsKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
        $builtin = 'RemoteDesktop-UserMode-In-TCP'
        $udp = 'RemoteDesktop-UserMode-In-UDP'
        $now = [int](Get-ItemProperty -LiteralPath $tsKey -ErrorAction Stop).PortNumber
        $status.fromPort = $now
        $term = Get-RdSvc 'TermService'
        if (-not $term) {
            throw 'TermService not found'
        }
        $tcpNow = Get-RuleState $builtin
        $udpNow = Get-RuleState $udp
        $tcpSame = ($RuleExists -eq 'keep' -or ($RuleExists -eq '0' -and $null -eq $tcpNow) -or ($RuleExists -eq '1' -and (Test-SamePorts $tcpNow $RuleLocalPort) -and ([string]$tcpNow.enabled) -eq $RuleEnabled))
        $udpSame = ($UdpLocalPort -eq 'keep' -or $null -eq $udpNow -or (Test-SamePorts $udpNow $UdpLocalPort))
        $busy = @(Get-NetTCPConnection -LocalPort $old -State Listen -ErrorAction SilentlyContinue | Where-Object { [int]$_.OwningProcess -ne [int]$term.ProcessId })
        if ($busy.Count -gt 0) {
            $status.status = 'port-in-use'
        } elseif ($now -eq $old -and $tcpSame -and $udpSame -and (Test-RdpListening $old)) {
            $status.status = 'noop'
            $status.ok = $true
            $status.listening = $true
            $status.step = $null
        } else {
            # 1. the firewall as it was before the fix
            $status.step = 'firewall'
            $fw = @()
            if (-not $tcpSame) {
                if ($RuleExists -eq '0') {
                    Remove-NetFirewallRule -Name $builtin -ErrorAction Stop
                    $fw += 'tcp-removed'
                } elseif ($null -eq $tcpNow) {
                    $status.status = 'rule-missing'
                    throw 'the built-in rule is gone'
                } else {
                    Set-NetFirewallRule -Name $builtin -LocalPort @($RuleLocalPort.Split('.')) -Enabled $RuleEnabled -ErrorAction Stop
                    $fw += 'tcp'
                }
            }
            if (-not $udpSame) {
                Set-NetFirewallRule -Name $udp -LocalPort @($UdpLocalPort.Split('.')) -ErrorAction Stop
                $fw += 'udp'
            }
            $status.firewall = $fw
            # 2. the port
            $status.step = 'registry'
            if ($now -ne $old) {
                Set-ItemProperty -LiteralPath $tsKey -Name PortNumber -Value $old -Type DWord -ErrorAction Stop
            }
            # 3. TermService takes it
            $status.step = 'termservice'
            $r = 'ok'
            if ($now -ne $old -or -not (Test-RdpListening $old)) {
                $r = Restart-Rdp ([string]$term.State -eq 'Running')
            }
            if ($r -ne 'ok') {
                Set-SvcFailure $r
            } else {
                $status.step = 'verify'
                $status.listening = Wait-RdpListening $old
                if ($status.listening) {
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
    if ($status.status -ne 'rule-missing') {
        $status.status = 'failed'
    }
    $status.error = ('{0:X8}' -f $_.Exception.HResult)
}
Write-Status $status
exit 0

# rdp-doctor-script: fix-start-termservice
# RDP Doctor fix: make TermService run and listen on the RDP port: re-enable it if disabled (Manual is the
# Windows default), start it, or restart it when it runs without listening. Starts UmRdpService too.
# Refuses (status "blocked-by-config", nothing changed) when the registry says RDP is off: fDenyTSConnections=1
# (listener key or policy), fEnableWinStation=0 or LanAdapter<>0; a restart cannot fix those.
# Service control is bounded (sc.exe + timed poll): a service stuck in Starting/Stopping gives status "timeout"
# naming it, and a stuck TermService is isolated in its own svchost (sc config TermService type= own, Microsoft's
# step), which takes effect at its next start. Prints its before-values under "before".
# Idempotent, non-interactive; prints one JSON status line and always exits 0. Never restarts the VM.
param()

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

$status = [ordered]@{ id = 'fix-start-termservice'; ok = $false; status = 'failed'; action = 'none'; port = $null; listening = $false; causes = @(); before = $null; step = $null }
try {
    $status.step = 'read'
    $tsKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
    $rdp = Get-ItemProperty -LiteralPath $tsKey -ErrorAction Stop
    $port = [int]$rdp.PortNumber
    $status.port = $port
    $tsv = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server' -ErrorAction SilentlyContinue
    $gp = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services' -ErrorAction SilentlyContinue
    $term = Get-RdSvc 'TermService'
    if (-not $term) {
        throw 'TermService not found'
    }
    $status.before = [ordered]@{ state = [string]$term.State; startMode = [string]$term.StartMode }
    # causes a TermService restart cannot fix (troubleshoot-rdp-general-error): report, change nothing
    $causes = @()
    $gpDeny = Get-Dword $gp 'fDenyTSConnections'
    if ($null -ne $gpDeny) {
        if ($gpDeny -eq 1) {
            $causes += 'policy:fDenyTSConnections'
        }
    } elseif ((Get-Dword $tsv 'fDenyTSConnections') -eq 1) {
        $causes += 'fDenyTSConnections'
    }
    if ((Get-Dword $rdp 'fEnableWinStation') -eq 0) {
        $causes += 'fEnableWinStation'
    }
    $lan = Get-Dword $rdp 'LanAdapter'
    if ($null -ne $lan -and $lan -ne 0) {
        $causes += 'LanAdapter'
    }
    $status.causes = $causes
    if ($causes.Count -gt 0) {
        $status.status = 'blocked-by-config'
        $status.step = $null
    } else {
        if ([string]$term.StartMode -eq 'Disabled') {
            $status.step = 'enable'
            if ((Invoke-RdSc @('config', 'TermService', 'start=', 'demand')) -ne 0) {
                throw 'sc config TermService start= demand failed'
            }
            $status.action = 'enabled'
        }
        $status.step = 'start'
        $r = 'ok'
        if ([string]$term.State -ne 'Running') {
            $r = Restart-Rdp $false
            $status.action = 'started'
        } elseif (-not (Test-RdpListening $port)) {
            $r = Restart-Rdp $true
            $status.action = 'restarted'
        }
        if ($r -ne 'ok') {
            Set-SvcFailure $r
        } else {
            $status.step = 'verify'
            $status.listening = Wait-RdpListening $port
            $status.ok = $status.listening
            if (-not $status.listening) {
                $status.status = 'not-listening'
            } elseif ($status.action -eq 'none') {
                $status.status = 'noop'
            } else {
                $status.status = 'done'
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

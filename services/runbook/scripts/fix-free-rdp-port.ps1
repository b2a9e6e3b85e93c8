# rdp-doctor-script: fix-free-rdp-port
# RDP Doctor fix: stop the service(s) holding the RDP port, then (re)start TermService so it takes the port.
# Service: one name, or several separated by commas (Base64 "b64." when not [A-Za-z0-9.-]); they come from the
# diagnosis, validated by the bot and again here. A listening process that hosts other services too is refused
# (status "co-hosted", nothing changed) unless Service names every one of them. Services are stopped with
# sc.exe stop, never with -Force: running dependents give status "dependents-running". Disable=1 also sets their
# start mode to Disabled; without it an Auto service takes the port back at the next boot ("returnsAtBoot").
# Bounded service control (status "timeout" naming the service). Prints its before-values under "before".
# Idempotent, non-interactive; prints one JSON status line and always exits 0. Never restarts the VM.
param(
    [string]$Service = '',
    [string]$Disable = '0'
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

function ConvertFrom-Param([string]$v) {
    if ($v.StartsWith('b64.')) {
        return [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($v.Substring(4)))
    }
    return $v
}

$status = [ordered]@{ id = 'fix-free-rdp-port'; ok = $false; status = 'failed'; service = $null; stopped = @(); disabled = @(); hosted = @(); returnsAtBoot = @(); listening = $false; before = $null; step = $null }
try {
    $names = @()
    try {
        $names = @((ConvertFrom-Param $Service).Split(',') | ForEach-Object { $_.Trim() })
    } catch {
        $names = @('')
    }
    $bad = ($names.Count -lt 1 -or $names.Count -gt 8 -or ($Disable -ne '0' -and $Disable -ne '1'))
    foreach ($n in $names) {
        if ($n -notmatch '^[A-Za-z0-9_.$ -]{1,80}$' -or $n -eq 'TermService' -or $n -eq 'SessionEnv' -or $n -eq 'UmRdpService') {
            $bad = $true
        }
    }
    if ($bad) {
        $status.status = 'bad-param'
        $status.step = 'service'
    } else {
        $status.service = ($names -join ',')
        $status.step = 'lookup'
        $tsKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
        $port = [int](Get-ItemProperty -LiteralPath $tsKey -ErrorAction Stop).PortNumber
        $term = Get-RdSvc 'TermService'
        if (-not $term) {
            throw 'TermService not found'
        }
        $svcs = @()
        $missing = $false
        foreach ($n in $names) {
            $s = Get-RdSvc $n
            if ($s) {
                $svcs += $s
            } else {
                $missing = $true
            }
        }
        $before = @()
        foreach ($s in $svcs) {
            $before += [ordered]@{ name = [string]$s.Name; state = [string]$s.State; startMode = [string]$s.StartMode }
        }
        $status.before = [ordered]@{ services = $before; termService = [ordered]@{ state = [string]$term.State; startMode = [string]$term.StartMode } }
        # every service hosted by a process (other than TermService's) that listens on the RDP port
        $hosted = @()
        $pids = @(Get-NetTCPConnection -LocalPort $port -State Listen -ErrorAction SilentlyContinue | Select-Object -ExpandProperty OwningProcess -Unique)
        foreach ($p in $pids) {
            if ($term.ProcessId -and [int]$p -eq [int]$term.ProcessId) {
                continue
            }
            foreach ($h in @(Get-CimInstance -ClassName Win32_Service -Filter ("ProcessId={0}" -f [int]$p) -ErrorAction SilentlyContinue)) {
                if ($hosted -notcontains [string]$h.Name) {
                    $hosted += [string]$h.Name
                }
            }
        }
        $hosted = @($hosted | Sort-Object)
        $status.hosted = @($hosted | Select-Object -First 12)
        $extra = @($hosted | Where-Object { $names -notcontains $_ })
        $named = @($names | Where-Object { $hosted -contains $_ })
        if ($missing) {
            $status.status = 'service-not-found'
        } elseif ($hosted.Count -gt 0 -and $named.Count -gt 0 -and $extra.Count -gt 0) {
            $status.status = 'co-hosted'
        } elseif ($hosted.Count -gt 0 -and $named.Count -eq 0) {
            $status.status = 'not-holding'
        } else {
            $changed = $false
            $status.step = 'stop'
            $r = 'ok'
            foreach ($s in $svcs) {
                if ([string]$s.State -ne 'Stopped') {
                    $r = Stop-RdSvc ([string]$s.Name)
                    if ($r -ne 'ok') {
                        $r = ([string]$s.Name + ':' + $r)
                        break
                    }
                    $status.stopped += [string]$s.Name
                    $changed = $true
                }
            }
            if ($r -eq 'ok') {
                foreach ($s in $svcs) {
                    if ($Disable -eq '1' -and [string]$s.StartMode -ne 'Disabled') {
                        $status.step = 'disable'
                        if ((Invoke-RdSc @('config', [string]$s.Name, 'start=', 'disabled')) -ne 0) {
                            throw 'sc config start= disabled failed'
                        }
                        $status.disabled += [string]$s.Name
                        $changed = $true
                    } elseif ($Disable -ne '1' -and [string]$s.StartMode -eq 'Auto') {
                        $status.returnsAtBoot += [string]$s.Name
                    }
                }
                $status.step = 'termservice'
                if ([string]$term.StartMode -eq 'Disabled') {
                    if ((Invoke-RdSc @('config', 'TermService', 'start=', 'demand')) -ne 0) {
                        throw 'sc config TermService start= demand failed'
                    }
                    $changed = $true
                }
                if ([string]$term.State -ne 'Running') {
                    $r = Restart-Rdp $false
                    $changed = $true
                } elseif ($changed -or -not (Test-RdpListening $port)) {
                    $r = Restart-Rdp $true
                    $changed = $true
                }
            }
            if ($r -ne 'ok') {
                Set-SvcFailure $r
            } else {
                $status.step = 'verify'
                $status.listening = Wait-RdpListening $port
                $status.ok = $status.listening
                if (-not $status.listening) {
                    $status.status = 'not-listening'
                } elseif ($changed) {
                    $status.status = 'done'
                } else {
                    $status.status = 'noop'
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

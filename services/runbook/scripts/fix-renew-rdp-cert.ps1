# rdp-doctor-script: fix-renew-rdp-cert
# RDP Doctor fix: make Windows issue a new self-signed RDP certificate (Microsoft's event-ID article, as the
# built-in ResetRDPCert does, without its security downgrade):
# 1. the binding first: SSLCertificateSHA1Hash is removed when it names a Remote Desktop certificate (about to be
#    deleted) or no certificate at all; a custom certificate bound from the My store is left alone and reported;
# 2. every certificate in Cert:\LocalMachine\Remote Desktop is deleted with its key. With a missing or unreadable
#    key the provider deletes the certificate, then throws on the key: the certificate is gone, the script goes on;
# 3. bounded restarts (sc.exe + timed poll) of SessionEnv (it issues the certificate) and TermService;
# 4. verifies: a new certificate in the store, its key readable, and bound (Win32_TSGeneralSetting's hash).
# A healthy certificate (key readable, valid for more than 14 days, binding intact) is left alone: "noop".
# Prints its before-values under "before". Non-interactive; one JSON status line; always exits 0. Never restarts the VM.
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

function Get-Hex($raw) {
    if ($null -eq $raw) {
        return $null
    }
    if ($raw -is [string]) {
        return ($raw -replace '[^0-9A-Fa-f]', '').ToUpperInvariant()
    }
    return (([BitConverter]::ToString([byte[]]$raw)) -replace '-', '')
}

# the private key opens (a missing or unreadable key throws, wrapped by PowerShell); CNG keys through GetRSAPrivateKey
function Test-KeyReadable($c) {
    if (-not $c.HasPrivateKey) {
        return $false
    }
    try {
        if ($null -ne $c.PrivateKey) {
            return $true
        }
    } catch {
        $null = $_
    }
    try {
        $ext = 'System.Security.Cryptography.X509Certificates.RSACertificateExtensions' -as [type]
        if ($ext -and $null -ne $ext::GetRSAPrivateKey($c)) {
            return $true
        }
    } catch {
        $null = $_
    }
    return $false
}

function Get-WmiHash {
    try {
        $w = Get-CimInstance -Namespace 'root\cimv2\TerminalServices' -ClassName Win32_TSGeneralSetting -Filter "TerminalName='RDP-tcp'" -ErrorAction Stop | Select-Object -First 1
        return [string]$w.SSLCertificateSHA1Hash
    } catch {
        return $null
    }
}

$status = [ordered]@{ id = 'fix-renew-rdp-cert'; ok = $false; status = 'failed'; hashRemoved = $false; removed = 0; keyErrors = 0; notRemoved = 0; customBound = $false; thumb = $null; key = $null; bound = $null; before = $null; step = $null }
try {
    $tsKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
    $rdStore = 'Cert:\LocalMachine\Remote Desktop'
    $status.step = 'read'
    $tsv = Get-ItemProperty -LiteralPath $tsKey -ErrorAction Stop
    $hash = Get-Hex $tsv.SSLCertificateSHA1Hash
    $rd = @(Get-ChildItem -LiteralPath $rdStore -ErrorAction SilentlyContinue)
    $certs = @()
    foreach ($c in ($rd | Select-Object -First 4)) {
        $certs += [ordered]@{ thumb = [string]$c.Thumbprint; notAfter = $c.NotAfter.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture) }
    }
    $status.before = [ordered]@{ hash = $hash; certs = $certs }
    $inRd = @($rd | Where-Object { $hash -and $_.Thumbprint -eq $hash })
    $inMy = @()
    if ($hash) {
        $inMy = @(Get-ChildItem -LiteralPath 'Cert:\LocalMachine\My' -ErrorAction SilentlyContinue | Where-Object { $_.Thumbprint -eq $hash })
    }
    $cur = $null
    if ($inRd.Count -gt 0) {
        $cur = $inRd[0]
    } elseif (-not $hash) {
        $cur = $rd | Sort-Object -Property NotAfter -Descending | Select-Object -First 1
    }
    if ($inMy.Count -gt 0 -and $inRd.Count -eq 0) {
        $status.customBound = $true
        $status.status = 'custom-cert-bound'
        $status.step = $null
    } elseif ($cur -and $cur.NotAfter -gt (Get-Date).AddDays(14) -and (Test-KeyReadable $cur)) {
        $status.thumb = [string]$cur.Thumbprint
        $status.key = 'ok'
        $status.ok = $true
        $status.status = 'noop'
        $status.step = $null
    } else {
        # 1. the binding first, so it never names a deleted certificate
        $status.step = 'binding'
        if ($hash) {
            Remove-ItemProperty -LiteralPath $tsKey -Name SSLCertificateSHA1Hash -ErrorAction Stop
            $status.hashRemoved = $true
        }
        # 2. the certificates; a key that cannot be opened throws after the certificate is gone
        $status.step = 'delete'
        $old = @()
        foreach ($c in $rd) {
            $old += [string]$c.Thumbprint
            try {
                Remove-Item -LiteralPath $c.PSPath -DeleteKey -ErrorAction Stop
                $status.removed = $status.removed + 1
            } catch {
                if (Test-Path -LiteralPath $c.PSPath) {
                    try {
                        Remove-Item -LiteralPath $c.PSPath -ErrorAction Stop
                        $status.removed = $status.removed + 1
                    } catch {
                        $status.notRemoved = $status.notRemoved + 1
                    }
                } else {
                    $status.removed = $status.removed + 1
                    $status.keyErrors = $status.keyErrors + 1
                }
            }
        }
        # 3. SessionEnv issues the new certificate; TermService loads it
        $status.step = 'restart'
        $r = Stop-RdSvc 'SessionEnv'
        if ($r -eq 'ok') {
            $r = Start-RdSvc 'SessionEnv'
        }
        if ($r -ne 'ok') {
            $r = ('SessionEnv:' + $r)
        } else {
            $term = Get-RdSvc 'TermService'
            $r = Restart-Rdp ($term -and [string]$term.State -eq 'Running')
        }
        if ($r -ne 'ok') {
            Set-SvcFailure $r
        } else {
            # 4. verify
            $status.step = 'verify'
            $new = $null
            for ($i = 0; $i -lt 15; $i++) {
                $new = Get-ChildItem -LiteralPath $rdStore -ErrorAction SilentlyContinue | Where-Object { $old -notcontains [string]$_.Thumbprint } | Sort-Object -Property NotAfter -Descending | Select-Object -First 1
                if ($new) {
                    break
                }
                Start-Sleep -Seconds 2
            }
            if (-not $new) {
                $status.status = 'no-new-cert'
            } else {
                $status.thumb = [string]$new.Thumbprint
                if (Test-KeyReadable $new) {
                    $status.key = 'ok'
                } else {
                    $status.key = 'unreadable'
                }
                $w = Get-WmiHash
                if ($w) {
                    $status.bound = ($w -eq $status.thumb)
                }
                if ($status.key -ne 'ok') {
                    $status.status = 'key-unreadable'
                } elseif ($status.bound -eq $false) {
                    $status.status = 'not-bound'
                } else {
                    $status.ok = $true
                    $status.status = 'done'
                }
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

# rdp-doctor-script: fix-free-rdp-port
# RDP Doctor fix: stop the service that holds the RDP port, then (re)start TermService so it takes the port.
# The service name comes from the diagnosis, validated by the bot and again here. Optional: disable the service.
# Idempotent, non-interactive; prints one JSON status line and always exits 0. Never restarts the VM.
param(
    [string]$Service = '',
    [string]$Disable = '0'
)

$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'

function ConvertFrom-Param([string]$v) {
    if ($v.StartsWith('b64.')) {
        return [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($v.Substring(4)))
    }
    return $v
}

function Write-Status($o) {
    Write-Output (ConvertTo-Json -InputObject $o -Depth 4 -Compress)
}

function Get-RdpListening([int]$port) {
    $ts = Get-CimInstance -ClassName Win32_Service -Filter "Name='TermService'" -OperationTimeoutSec 30 -ErrorAction SilentlyContinue
    if (-not $ts -or -not $ts.ProcessId) {
        return $false
    }
    $pids = @(Get-NetTCPConnection -LocalPort $port -State Listen -ErrorAction SilentlyContinue | Select-Object -ExpandProperty OwningProcess)
    return ($pids -contains [int]$ts.ProcessId)
}

$status = [ordered]@{ id = 'fix-free-rdp-port'; ok = $false; status = 'failed'; service = $null; stopped = $false; disabled = $false; listening = $false; step = $null }
try {
    $name = ''
    try {
        $name = ConvertFrom-Param $Service
    } catch {
        $name = ''
    }
    if ($name -notmatch '^[A-Za-z0-9_.$ -]{1,80}$' -or $name -eq 'TermService' -or $name -eq 'SessionEnv' -or $name -eq 'UmRdpService') {
        $status.status = 'bad-param'
        $status.step = 'service'
    } else {
        $status.service = $name
        $tsKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
        $port = [int](Get-ItemProperty -LiteralPath $tsKey -ErrorAction Stop).PortNumber
        $svc = Get-CimInstance -ClassName Win32_Service -Filter ("Name='{0}'" -f $name.Replace("'", '')) -OperationTimeoutSec 30 -ErrorAction Stop | Select-Object -First 1
        if (-not $svc) {
            $status.status = 'service-not-found'
            $status.step = 'lookup'
        } else {
            $status.step = 'stop'
            if ([string]$svc.State -ne 'Stopped') {
                Stop-Service -Name $svc.Name -Force -ErrorAction Stop
            }
            $status.stopped = $true
            if ($Disable -eq '1') {
                $status.step = 'disable'
                Set-Service -Name $svc.Name -StartupType Disabled -ErrorAction Stop
                $status.disabled = $true
            }
            $status.step = 'termservice'
            $term = Get-CimInstance -ClassName Win32_Service -Filter "Name='TermService'" -OperationTimeoutSec 30 -ErrorAction Stop
            if ([string]$term.StartMode -eq 'Disabled') {
                Set-Service -Name TermService -StartupType Manual -ErrorAction Stop
            }
            if ([string]$term.State -eq 'Running') {
                Restart-Service -Name TermService -Force -ErrorAction Stop
            } else {
                Start-Service -Name TermService -ErrorAction Stop
            }
            Start-Service -Name UmRdpService -ErrorAction SilentlyContinue
            $status.step = 'verify'
            for ($i = 0; $i -lt 10; $i++) {
                if (Get-RdpListening $port) {
                    $status.listening = $true
                    break
                }
                Start-Sleep -Seconds 2
            }
            $status.ok = $status.listening
            if ($status.listening) {
                $status.status = 'done'
            } else {
                $status.status = 'not-listening'
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

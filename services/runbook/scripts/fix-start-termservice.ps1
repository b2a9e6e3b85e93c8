# rdp-doctor-script: fix-start-termservice
# RDP Doctor fix: make TermService run and listen on the RDP port: re-enable it if disabled (Manual is the
# Windows default), start it, or restart it when it runs without listening. Starts UmRdpService too.
# Idempotent, non-interactive; prints one JSON status line and always exits 0. Never restarts the VM.
param()

$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'

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

$status = [ordered]@{ id = 'fix-start-termservice'; ok = $false; status = 'failed'; action = 'none'; port = $null; listening = $false; step = $null }
try {
    $tsKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
    $port = [int](Get-ItemProperty -LiteralPath $tsKey -ErrorAction Stop).PortNumber
    $status.port = $port
    $term = Get-CimInstance -ClassName Win32_Service -Filter "Name='TermService'" -OperationTimeoutSec 30 -ErrorAction Stop
    if ([string]$term.StartMode -eq 'Disabled') {
        $status.step = 'enable'
        Set-Service -Name TermService -StartupType Manual -ErrorAction Stop
    }
    $status.step = 'start'
    if ([string]$term.State -ne 'Running') {
        Start-Service -Name TermService -ErrorAction Stop
        $status.action = 'started'
    } elseif (-not (Get-RdpListening $port)) {
        Restart-Service -Name TermService -Force -ErrorAction Stop
        $status.action = 'restarted'
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
} catch {
    $status.status = 'failed'
    $status.error = ('{0:X8}' -f $_.Exception.HResult)
}
Write-Status $status
exit 0

# rdp-doctor-script: fix-change-rdp-port
# RDP Doctor fix: move RDP to another port: PortNumber (DWORD), the built-in firewall rules (by Name, not the
# localized display group), then restart TermService. The NSG rule for the new port is changed through ARM by the bot.
# Idempotent, non-interactive; prints one JSON status line and always exits 0. Never restarts the VM.
param(
    [string]$Port = ''
)

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

$status = [ordered]@{ id = 'fix-change-rdp-port'; ok = $false; status = 'failed'; oldPort = $null; port = $null; firewall = $null; listening = $false; step = $null }
try {
    $new = 0
    if ($Port -match '^[0-9]{4,5}$') {
        $new = [int]$Port
    }
    if ($new -lt 1025 -or $new -gt 65535) {
        $status.status = 'bad-param'
        $status.step = 'port'
    } else {
        $status.port = $new
        $tsKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
        $old = [int](Get-ItemProperty -LiteralPath $tsKey -ErrorAction Stop).PortNumber
        $status.oldPort = $old
        $term = Get-CimInstance -ClassName Win32_Service -Filter "Name='TermService'" -OperationTimeoutSec 30 -ErrorAction Stop
        $busy = @(Get-NetTCPConnection -LocalPort $new -State Listen -ErrorAction SilentlyContinue | Where-Object { $_.OwningProcess -ne $term.ProcessId })
        if ($old -ne $new -and $busy.Count -gt 0) {
            $status.status = 'port-in-use'
            $status.step = 'check'
        } else {
            $status.step = 'registry'
            if ($old -ne $new) {
                Set-ItemProperty -LiteralPath $tsKey -Name PortNumber -Value $new -Type DWord -ErrorAction Stop
            }
            $status.step = 'firewall'
            $rule = Get-NetFirewallRule -Name 'RemoteDesktop-UserMode-In-TCP' -ErrorAction SilentlyContinue
            if ($rule) {
                Set-NetFirewallRule -Name 'RemoteDesktop-UserMode-In-TCP' -LocalPort $new -Enabled True -ErrorAction Stop
                $status.firewall = 'updated'
            } else {
                New-NetFirewallRule -Name 'RemoteDesktop-UserMode-In-TCP' -DisplayName 'Remote Desktop - User Mode (TCP-In)' -Direction Inbound -Protocol TCP -LocalPort $new -Action Allow -Profile Any -ErrorAction Stop | Out-Null
                $status.firewall = 'created'
            }
            if (Get-NetFirewallRule -Name 'RemoteDesktop-UserMode-In-UDP' -ErrorAction SilentlyContinue) {
                Set-NetFirewallRule -Name 'RemoteDesktop-UserMode-In-UDP' -LocalPort $new -ErrorAction SilentlyContinue
            }
            $status.step = 'termservice'
            if ([string]$term.State -eq 'Running') {
                Restart-Service -Name TermService -Force -ErrorAction Stop
            } else {
                Start-Service -Name TermService -ErrorAction Stop
            }
            Start-Service -Name UmRdpService -ErrorAction SilentlyContinue
            $status.step = 'verify'
            for ($i = 0; $i -lt 10; $i++) {
                if (Get-RdpListening $new) {
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

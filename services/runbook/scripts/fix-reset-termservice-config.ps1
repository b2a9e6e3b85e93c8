# rdp-doctor-script: fix-reset-termservice-config
# RDP Doctor fix: put TermService's configuration back to what Windows ships and Microsoft's "Remote Desktop Services
# isn't starting" article restores, changing only what is wrong: start mode Disabled -> Manual (sc.exe start= demand),
# an account other than NT Authority\NetworkService -> NetworkService (obj=), a shared process -> its own (type= own).
# sc.exe returns at once (no service is started or stopped here). The SCM applies the account and the process type
# when the service starts: the bot restarts the VM after a change. Re-reads the configuration ("not-applied" when a
# value did not stick). Prints its before-values under "before".
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

function Invoke-RdSc([string[]]$a) {
    $null = & sc.exe @a 2>&1
    return [int]$LASTEXITCODE
}

# Win32_Service's view: start mode, account, own/shared process
function Get-TermServiceConfig {
    $s = Get-CimInstance -ClassName Win32_Service -Filter "Name='TermService'" -OperationTimeoutSec 30 -ErrorAction Stop | Select-Object -First 1
    if (-not $s) {
        return $null
    }
    $type = 'share'
    if ([string]$s.ServiceType -eq 'Own Process') {
        $type = 'own'
    }
    $acct = ([string]$s.StartName) -replace '[^A-Za-z0-9 ._$@\\-]', '_'
    if ($acct.Length -gt 40) {
        $acct = $acct.Substring(0, 40)
    }
    return [ordered]@{ start = [string]$s.StartMode; account = $acct; type = $type }
}

# Win32_Service shows NT AUTHORITY\NetworkService, sc.exe NT Authority\NetworkService; the picker NETWORK SERVICE
function Test-NetworkService([string]$a) {
    return (($a -replace '\s', '').ToLowerInvariant() -eq 'ntauthority\networkservice')
}

$status = [ordered]@{ id = 'fix-reset-termservice-config'; ok = $false; status = 'failed'; changed = @(); needsRestart = $false; before = $null; step = $null }
try {
    $status.step = 'read'
    $before = Get-TermServiceConfig
    if ($null -eq $before) {
        $status.status = 'not-found'
    } else {
        $status.before = $before
        # change name, sc.exe config arguments
        $want = @()
        if ($before.start -eq 'Disabled') {
            $want += , @('start', @('start=', 'demand'))
        }
        if (-not (Test-NetworkService $before.account)) {
            $want += , @('account', @('obj=', 'NT Authority\NetworkService'))
        }
        if ($before.type -ne 'own') {
            $want += , @('type', @('type=', 'own'))
        }
        $changed = @()
        $code = 0
        foreach ($x in $want) {
            $status.step = $x[0]
            $rc = Invoke-RdSc (@('config', 'TermService') + $x[1])
            if ($rc -ne 0) {
                $code = $rc
                break
            }
            $changed += $x[0]
        }
        $status.changed = $changed
        $status.needsRestart = ($changed.Count -gt 0)
        if ($code -ne 0) {
            $status.status = 'sc-failed'
            $status.error = [string]$code
        } else {
            $status.step = 'verify'
            $after = Get-TermServiceConfig
            $ok = ($null -ne $after) -and ($after.start -ne 'Disabled') -and (Test-NetworkService $after.account) -and ($after.type -eq 'own')
            if (-not $ok) {
                $status.status = 'not-applied'
            } else {
                $status.ok = $true
                if ($changed.Count -gt 0) {
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
Write-Output (ConvertTo-AsciiJson $status)
exit 0

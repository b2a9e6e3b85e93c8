# rdp-doctor-script: undo-reset-termservice-config
# RDP Doctor undo of fix-reset-termservice-config: puts TermService's start mode, account and process type back to what
# the fix printed as its before-values. StartMode: keep|Auto|Manual|Disabled; Type: keep|own|share; Account: keep, or a
# built-in account that has no password (LocalSystem, NT Authority\LocalService, NT Authority\NetworkService), plain or
# as b64.<Base64 of UTF-8>. Other accounts are refused (bad-param): their password is not known. sc.exe returns at once;
# the change takes effect after the VM restart the bot does.
# Idempotent, non-interactive; prints one JSON status line and always exits 0.
param(
    [string]$StartMode = 'keep',
    [string]$Account = 'keep',
    [string]$Type = 'keep'
)

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

function ConvertFrom-Param([string]$v) {
    if ($v.StartsWith('b64.')) {
        try {
            return [System.Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($v.Substring(4)))
        } catch {
            return $null
        }
    }
    return $v
}

function Invoke-RdSc([string[]]$a) {
    $null = & sc.exe @a 2>&1
    return [int]$LASTEXITCODE
}

function Get-TermServiceConfig {
    $s = Get-CimInstance -ClassName Win32_Service -Filter "Name='TermService'" -OperationTimeoutSec 30 -ErrorAction Stop | Select-Object -First 1
    if (-not $s) {
        return $null
    }
    $type = 'share'
    if ([string]$s.ServiceType -eq 'Own Process') {
        $type = 'own'
    }
    return [ordered]@{ start = [string]$s.StartMode; account = [string]$s.StartName; type = $type }
}

$status = [ordered]@{ id = 'undo-reset-termservice-config'; ok = $false; status = 'failed'; changed = @(); needsRestart = $false; step = $null }
try {
    $acct = ConvertFrom-Param $Account
    $okStart = @('keep', 'Auto', 'Manual', 'Disabled') -contains $StartMode
    $okType = @('keep', 'own', 'share') -contains $Type
    $okAcct = ($null -ne $acct) -and ($acct -eq 'keep' -or $acct -match '^(?i)(LocalSystem|NT Authority\\(Local ?Service|Network ?Service))\z')
    if (-not ($okStart -and $okType -and $okAcct)) {
        $status.status = 'bad-param'
    } else {
        $status.step = 'read'
        $now = Get-TermServiceConfig
        if ($null -eq $now) {
            $status.status = 'not-found'
        } else {
            $sc = @{ Auto = 'auto'; Manual = 'demand'; Disabled = 'disabled' }
            $want = @()
            if ($StartMode -ne 'keep' -and $now.start -ne $StartMode) {
                $want += , @('start', @('start=', $sc[$StartMode]))
            }
            $nowAcct = $now.account -replace '\s', ''
            $wantAcct = $acct -replace '\s', ''
            if ($acct -ne 'keep' -and $nowAcct -ne $wantAcct) {
                $want += , @('account', @('obj=', $acct))
            }
            if ($Type -ne 'keep' -and $now.type -ne $Type) {
                $want += , @('type', @('type=', $Type))
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

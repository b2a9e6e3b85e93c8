# rdp-doctor-script: fix-reset-machinekeys-acl
# RDP Doctor fix: let TermService (NETWORK SERVICE) read the RDP certificate's private key again.
# 1. Saves the current ACLs of the MachineKeys folder and its files with icacls /save into its own folder,
#    %ProgramData%\RDP Doctor\backups\machinekeys-acl-<UTC yyyyMMddHHmmss>.txt (the path, the SHA-256 of its text
#    and the owners before are in the JSON: icacls keeps no owners). Nothing is saved or changed when the ACLs
#    are already right ("noop"). After the change it prints "after", a fingerprint of the ACLs and owners of
#    every item in the backup: undo-reset-machinekeys-acl restores the backup only while they are unchanged.
# 2. Removes explicit Deny entries for the SIDs the key needs (SYSTEM, Administrators, NETWORK SERVICE, Everyone,
#    Authenticated Users: a Deny is evaluated before any Allow, so a grant alone does not help), then grants
#    SYSTEM and Administrators Full Control on the folder itself (no inheritance change).
# 3. Scope "rdpkey" (default): the same, plus NETWORK SERVICE Read, on the RDP key file only.
#    Scope "all": on every file (Microsoft's article; every NETWORK SERVICE process can then read every key); a file
#    that fails is counted ("failed", status "partial") and the others go on.
# SIDs, never names (names are localized). Ownership is taken per item, without /r, so takeown never prompts.
# Restarts TermService, bounded (sc.exe + timed poll; status "timeout" naming a stuck service); the VM restart is
# done by the bot afterwards. Prints its before-values under "before", one JSON status line, always exits 0.
param(
    [string]$Scope = 'rdpkey'
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

function Get-RdpKeyFile {
    $tsKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
    $rd = @(Get-ChildItem -LiteralPath 'Cert:\LocalMachine\Remote Desktop' -ErrorAction SilentlyContinue)
    $my = @(Get-ChildItem -LiteralPath 'Cert:\LocalMachine\My' -ErrorAction SilentlyContinue)
    $raw = (Get-ItemProperty -LiteralPath $tsKey -ErrorAction SilentlyContinue).SSLCertificateSHA1Hash
    $want = $null
    if ($raw -is [string]) {
        $want = ($raw -replace '[^0-9A-Fa-f]', '').ToUpperInvariant()
    } elseif ($null -ne $raw) {
        $want = ([BitConverter]::ToString([byte[]]$raw)) -replace '-', ''
    }
    $c = $null
    if ($want) {
        $c = @($rd + $my) | Where-Object { $_.Thumbprint -eq $want } | Select-Object -First 1
    }
    if (-not $c) {
        $c = $rd | Sort-Object -Property NotAfter -Descending | Select-Object -First 1
    }
    if (-not $c) {
        return $null
    }
    $names = @()
    try {
        $n = $c.PrivateKey.CspKeyContainerInfo.UniqueKeyContainerName
        if ($n) {
            $names += [string]$n
        }
    } catch {
        $names = $names
    }
    try {
        $ext = 'System.Security.Cryptography.X509Certificates.RSACertificateExtensions' -as [type]
        if ($ext) {
            $k = $ext::GetRSAPrivateKey($c)
            if ($k -and $k.Key -and $k.Key.UniqueName) {
                $names += [string]$k.Key.UniqueName
            }
        }
    } catch {
        $names = $names
    }
    # the key cannot be opened (the ACL shuts SYSTEM out too, or a Deny for Everyone): the self-signed RDP
    # certificate's CAPI key file has a fixed name, MD5 of its container TSSecKeySet1 then _MachineGuid
    if ($names.Count -eq 0 -and $c.PSParentPath -like '*Remote Desktop') {
        $guid = (Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Cryptography' -ErrorAction SilentlyContinue).MachineGuid
        if ($guid) {
            $names += ('f686aace6942fb7f7ceb231212eef4a4_{0}' -f $guid)
        }
    }
    foreach ($n in $names) {
        foreach ($d in @((Join-Path $env:ProgramData 'Microsoft\Crypto\RSA\MachineKeys'), (Join-Path $env:ProgramData 'Microsoft\Crypto\Keys'))) {
            $p = $n
            if (-not [System.IO.Path]::IsPathRooted($n)) {
                $p = Join-Path $d $n
            }
            if (Test-Path -LiteralPath $p -PathType Leaf) {
                return $p
            }
        }
    }
    return $null
}

$NeedSids = @('S-1-5-18', 'S-1-5-32-544', 'S-1-5-20', 'S-1-1-0', 'S-1-5-11')
$FolderGrants = @('*S-1-5-18:(F)', '*S-1-5-32-544:(F)')
$KeyGrants = @('*S-1-5-18:(F)', '*S-1-5-32-544:(F)', '*S-1-5-20:(R)')

function Get-Right($rights) {
    $m = [int64]$rights
    if ($m -eq 2032127) {
        return 'F'
    }
    if ($m -eq 1245631) {
        return 'M'
    }
    if ($m -eq 1179817) {
        return 'RX'
    }
    if ($m -eq 1179785) {
        return 'R'
    }
    if ($m -eq 278) {
        return 'W'
    }
    return 'special'
}

# 'SID:right' or 'SID:right:deny', as the fleet file writes them; $null when the ACL cannot be read
function Get-AclEntries([string]$path) {
    try {
        $acl = Get-Acl -LiteralPath $path -ErrorAction Stop
        $out = @()
        foreach ($r in $acl.GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier])) {
            $e = '{0}:{1}' -f [string]$r.IdentityReference.Value, (Get-Right $r.FileSystemRights)
            if ([string]$r.AccessControlType -eq 'Deny') {
                $e = $e + ':deny'
            }
            $out += $e
        }
        return ,$out
    } catch {
        return $null
    }
}

function Get-DenySids($entries) {
    $out = @()
    foreach ($e in @($entries)) {
        $p = ([string]$e).Split(':')
        if ($p.Count -eq 3 -and $p[2] -eq 'deny' -and $NeedSids -contains $p[0] -and $out -notcontains $p[0]) {
            $out += $p[0]
        }
    }
    return ,$out
}

function Test-Grants($entries, [bool]$key) {
    if ($null -eq $entries -or (Get-DenySids $entries).Count -gt 0) {
        return $false
    }
    $need = @('S-1-5-18:F', 'S-1-5-32-544:F')
    foreach ($n in $need) {
        if (@($entries) -notcontains $n) {
            return $false
        }
    }
    if ($key) {
        return (@(@($entries) | Where-Object { $_ -eq 'S-1-5-20:R' -or $_ -eq 'S-1-5-20:RX' -or $_ -eq 'S-1-5-20:M' -or $_ -eq 'S-1-5-20:F' }).Count -gt 0)
    }
    return $true
}

function Invoke-Grant([string]$path, [string[]]$grants) {
    $denies = @()
    foreach ($s in (Get-DenySids (Get-AclEntries $path))) {
        $denies += ('*' + $s)
    }
    if ($denies.Count -gt 0) {
        $null = & icacls.exe $path /remove:d @denies /c /q 2>&1
        if ($LASTEXITCODE -ne 0) {
            return [int]$LASTEXITCODE
        }
    }
    $null = & icacls.exe $path /grant @grants /c /q 2>&1
    return [int]$LASTEXITCODE
}

# $true when it worked; ownership is taken only when the ACL cannot be changed otherwise
function Repair-Item([string]$path, [string[]]$grants) {
    if ((Invoke-Grant $path $grants) -eq 0) {
        return $true
    }
    $null = & takeown.exe /f $path /a 2>&1
    $status.tookOwnership = $status.tookOwnership + 1
    return ((Invoke-Grant $path $grants) -eq 0)
}

function Get-AclOwner([string]$path) {
    try {
        return [string](Get-Acl -LiteralPath $path -ErrorAction Stop).GetOwner([System.Security.Principal.SecurityIdentifier]).Value
    } catch {
        return $null
    }
}

function Get-Sha256Hex([string]$text) {
    $sha = [System.Security.Cryptography.SHA256]::Create()
    $h = $sha.ComputeHash([System.Text.Encoding]::UTF8.GetBytes($text))
    return (([BitConverter]::ToString($h)) -replace '-', '').ToLowerInvariant()
}

# icacls /save writes UTF-16LE [S]; the names are every other line, relative to the folder above MachineKeys
function Read-AclBackup([string]$path) {
    return [string](Get-Content -LiteralPath $path -Raw -Encoding Unicode -ErrorAction Stop)
}

function Get-BackupNames([string]$text) {
    $lines = @($text -split "`r?`n" | Where-Object { $_ -ne '' })
    $out = @()
    for ($i = 0; $i + 1 -lt $lines.Count; $i += 2) {
        $out += $lines[$i]
    }
    return ,$out
}

# 16 hex digits over the owner and the ACL of every item in the backup (the same in undo-reset-machinekeys-acl.ps1)
function Get-AclPrint([string]$rsa, [string[]]$names) {
    $parts = @()
    foreach ($n in $names) {
        $p = Join-Path $rsa $n
        # a variable: @(Get-AclEntries ...) would wrap the array the function returns whole
        $e = Get-AclEntries $p
        $parts += ('{0}={1}={2}' -f $n, (Get-AclOwner $p), (@($e) -join ';'))
    }
    return (Get-Sha256Hex ($parts -join '|')).Substring(0, 16)
}

$status = [ordered]@{ id = 'fix-reset-machinekeys-acl'; ok = $false; status = 'failed'; scope = $null; backup = $null; backupHash = $null; restore = $null; keyFile = $null; files = 0; failed = 0; tookOwnership = 0; verified = $null; owners = $null; after = $null; before = $null; step = $null }
try {
    if ($Scope -ne 'rdpkey' -and $Scope -ne 'all') {
        $status.status = 'bad-param'
        $status.step = 'scope'
    } else {
        $status.scope = $Scope
        $rsa = Join-Path $env:ProgramData 'Microsoft\Crypto\RSA'
        $mk = Join-Path $rsa 'MachineKeys'
        $status.step = 'read'
        $key = Get-RdpKeyFile
        $status.keyFile = $key
        $folderAcl = Get-AclEntries $mk
        $keyAcl = $null
        if ($key) {
            $keyAcl = Get-AclEntries $key
        }
        $status.before = [ordered]@{ folder = @($folderAcl | Select-Object -First 12); key = $null }
        if ($key) {
            $status.before.key = @($keyAcl | Select-Object -First 12)
        }
        $files = @()
        if ($Scope -eq 'all') {
            $files = @(Get-ChildItem -LiteralPath $mk -Force -ErrorAction Stop | Where-Object { -not $_.PSIsContainer } | Select-Object -ExpandProperty FullName)
        } elseif ($key) {
            $files = @($key)
        }
        $todo = @($files | Where-Object { -not (Test-Grants (Get-AclEntries $_) $true) })
        $folderOk = Test-Grants $folderAcl $false
        if ($folderOk -and $todo.Count -eq 0) {
            $status.ok = $true
            $status.verified = [bool]$key
            if ($Scope -eq 'rdpkey' -and -not $key) {
                $status.status = 'key-file-not-found'
            } else {
                $status.status = 'noop'
            }
            $status.step = $null
        } else {
            $status.step = 'backup'
            $bkDir = Join-Path $env:ProgramData 'RDP Doctor\backups'
            foreach ($d in @((Join-Path $env:ProgramData 'RDP Doctor'), $bkDir)) {
                if (-not (Test-Path -LiteralPath $d -PathType Container)) {
                    $null = New-Item -ItemType Directory -Path $d -ErrorAction Stop
                }
            }
            $bk = Join-Path $bkDir ('machinekeys-acl-{0}.txt' -f (Get-Date).ToUniversalTime().ToString('yyyyMMddHHmmss'))
            $null = & icacls.exe $mk /save $bk /t /c /q 2>&1
            if (-not (Test-Path -LiteralPath $bk)) {
                throw 'icacls /save wrote no backup'
            }
            $bkText = Read-AclBackup $bk
            $bkNames = Get-BackupNames $bkText
            $status.backup = $bk
            $status.backupHash = Get-Sha256Hex $bkText
            $status.restore = ('icacls "{0}" /restore "{1}"' -f $rsa, $bk)
            $status.owners = [ordered]@{ folder = (Get-AclOwner $mk); key = $null }
            if ($key) {
                $status.owners.key = Get-AclOwner $key
            }
            if (-not $folderOk) {
                $status.step = 'folder'
                if (-not (Repair-Item $mk $FolderGrants)) {
                    throw 'icacls failed on the MachineKeys folder'
                }
            }
            $status.step = 'keys'
            foreach ($f in $todo) {
                if (Repair-Item $f $KeyGrants) {
                    $status.files = $status.files + 1
                } else {
                    $status.failed = $status.failed + 1
                }
            }
            # undo only from a complete backup: icacls /save skips an item it may not read
            $complete = ($bkNames -contains 'MachineKeys')
            if ($key -and $bkNames -notcontains ('MachineKeys\' + $key.Substring($key.LastIndexOf('\') + 1))) {
                $complete = $false
            }
            if ($complete) {
                $status.after = Get-AclPrint $rsa $bkNames
            }
            $status.step = 'termservice'
            $term = Get-RdSvc 'TermService'
            $r = Restart-Rdp ($term -and [string]$term.State -eq 'Running')
            if ($r -ne 'ok') {
                Set-SvcFailure $r
            } else {
                $status.step = 'verify'
                if ($key) {
                    $status.verified = Test-Grants (Get-AclEntries $key) $true
                }
                $status.ok = $true
                if ($Scope -eq 'rdpkey' -and -not $key) {
                    $status.status = 'key-file-not-found'
                } elseif ($status.failed -gt 0) {
                    $status.status = 'partial'
                } else {
                    $status.status = 'done'
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

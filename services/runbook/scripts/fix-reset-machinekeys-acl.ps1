# rdp-doctor-script: fix-reset-machinekeys-acl
# RDP Doctor fix: let TermService (NETWORK SERVICE) read the RDP certificate's private key again.
# 1. Saves the current ACLs of the MachineKeys folder and its files with icacls /save (the path is in the JSON).
# 2. Grants SYSTEM and Administrators Full Control on the folder itself (no inheritance change).
# 3. Scope "rdpkey" (default): grants SYSTEM F, Administrators F, NETWORK SERVICE R on the RDP key file only.
#    Scope "all": the same on every file (Microsoft's article; every NETWORK SERVICE process can then read every key).
# SIDs, never names (names are localized). Ownership is taken per file, without /r, so takeown never prompts.
# Restarts TermService; the VM restart is done by the bot afterwards. Prints one JSON status line, always exits 0.
param(
    [string]$Scope = 'rdpkey'
)

$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'

function Write-Status($o) {
    Write-Output (ConvertTo-Json -InputObject $o -Depth 4 -Compress)
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

function Grant-KeyFile([string]$path) {
    & icacls.exe $path /grant '*S-1-5-18:(F)' '*S-1-5-32-544:(F)' '*S-1-5-20:(R)' /c /q 2>&1 | Out-Null
    if ($LASTEXITCODE -eq 0) {
        return $false
    }
    # access denied even for SYSTEM: take ownership of this one file (no /r, so no localized /d prompt), then grant again
    & takeown.exe /f $path /a 2>&1 | Out-Null
    & icacls.exe $path /grant '*S-1-5-18:(F)' '*S-1-5-32-544:(F)' '*S-1-5-20:(R)' /c /q 2>&1 | Out-Null
    if ($LASTEXITCODE -ne 0) {
        throw ('icacls failed on a key file: {0}' -f $LASTEXITCODE)
    }
    return $true
}

$status = [ordered]@{ id = 'fix-reset-machinekeys-acl'; ok = $false; status = 'failed'; scope = $null; backup = $null; restore = $null; keyFile = $null; files = 0; tookOwnership = 0; step = $null }
try {
    if ($Scope -ne 'rdpkey' -and $Scope -ne 'all') {
        $status.status = 'bad-param'
        $status.step = 'scope'
    } else {
        $status.scope = $Scope
        $rsa = Join-Path $env:ProgramData 'Microsoft\Crypto\RSA'
        $mk = Join-Path $rsa 'MachineKeys'
        $status.step = 'backup'
        $bk = Join-Path $env:SystemRoot ('Temp\rdp-doctor-machinekeys-acl-{0}.txt' -f (Get-Date).ToUniversalTime().ToString('yyyyMMddHHmmss'))
        & icacls.exe $mk /save $bk /t /c /q 2>&1 | Out-Null
        if (-not (Test-Path -LiteralPath $bk)) {
            throw 'icacls /save wrote no backup'
        }
        $status.backup = $bk
        $status.restore = ('icacls "{0}" /restore "{1}"' -f $rsa, $bk)
        $status.step = 'folder'
        & icacls.exe $mk /grant '*S-1-5-18:(F)' '*S-1-5-32-544:(F)' /c /q 2>&1 | Out-Null
        if ($LASTEXITCODE -ne 0) {
            & takeown.exe /f $mk /a 2>&1 | Out-Null
            & icacls.exe $mk /grant '*S-1-5-18:(F)' '*S-1-5-32-544:(F)' /c /q 2>&1 | Out-Null
            if ($LASTEXITCODE -ne 0) {
                throw 'icacls failed on the MachineKeys folder'
            }
            $status.tookOwnership = $status.tookOwnership + 1
        }
        $status.step = 'keys'
        $files = @()
        if ($Scope -eq 'all') {
            $files = @(Get-ChildItem -LiteralPath $mk -Force -ErrorAction Stop | Where-Object { -not $_.PSIsContainer } | Select-Object -ExpandProperty FullName)
        } else {
            $key = Get-RdpKeyFile
            if ($key) {
                $files = @($key)
                $status.keyFile = $key
            }
        }
        foreach ($f in $files) {
            if (Grant-KeyFile $f) {
                $status.tookOwnership = $status.tookOwnership + 1
            }
            $status.files = $status.files + 1
        }
        $status.step = 'termservice'
        Restart-Service -Name TermService -Force -ErrorAction Stop
        Start-Service -Name UmRdpService -ErrorAction SilentlyContinue
        $status.ok = $true
        if ($Scope -eq 'rdpkey' -and -not $status.keyFile) {
            $status.status = 'key-file-not-found'
        } else {
            $status.status = 'done'
        }
        $status.step = $null
    }
} catch {
    $status.status = 'failed'
    $status.error = ('{0:X8}' -f $_.Exception.HResult)
}
Write-Status $status
exit 0

# Filesystem (only what the scripts touch), ACLs, icacls.exe and takeown.exe.
# MachineKeys and the RDP key file carry the fleet's ACLs; other files (backups in C:\Windows\Temp)
# live in the run's M.Files. Everything else on C: does not exist for the model.

$script:MK = 'C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys'
$script:CNG_KEYS = 'C:\ProgramData\Microsoft\Crypto\Keys'
$script:DIRS = @('C:', 'C:\ProgramData', 'C:\ProgramData\Microsoft', 'C:\ProgramData\Microsoft\Crypto', 'C:\ProgramData\Microsoft\Crypto\RSA',
    $script:MK, $script:CNG_KEYS, 'C:\Windows', 'C:\Windows\Temp', 'C:\Windows\System32')

# Access masks of the fleet's right letters (FileSystemRights values; icacls F/M/RX/R/W [S18b]).
# `special` = KB 278381's Everyone ACE: read data/list, write data, read+write attributes, read permissions [S20].
$script:RIGHT_MASK = [ordered]@{ F = 0x1F01FF; M = 0x1301BF; RX = 0x1200A9; R = 0x120089; W = 0x100116; special = 0x20183 }
$script:WELL_KNOWN = @{
    'S-1-5-18' = 'NT AUTHORITY\SYSTEM'; 'S-1-5-20' = 'NT AUTHORITY\NETWORK SERVICE'; 'S-1-5-19' = 'NT AUTHORITY\LOCAL SERVICE'
    'S-1-5-32-544' = 'BUILTIN\Administrators'; 'S-1-5-32-545' = 'BUILTIN\Users'; 'S-1-1-0' = 'Everyone'
    'S-1-5-11' = 'NT AUTHORITY\Authenticated Users'; 'S-1-3-0' = 'CREATOR OWNER'; 'S-1-5-6' = 'NT AUTHORITY\SERVICE'
}

function ConvertTo-FilePath([string]$p) {
    $q = $p -replace '^(?i)Microsoft\.PowerShell\.Core\\', '' -replace '^(?i)FileSystem::', ''
    $q = ($q -replace '/', '\') -replace '\\+', '\'
    if ($q.Length -gt 3) { $q = $q.TrimEnd('\') }
    if ($q -match '^(?i)([a-z]):(.*)$') { $q = $Matches[1].ToUpperInvariant() + ':' + $Matches[2] }
    # issue #15: in an offline run the attached disk's Windows partition holds the modelled files (Model.Offline.ps1)
    $od = Get-OfflineDrivePrefix
    if ($od -and $q.StartsWith($od, [StringComparison]::OrdinalIgnoreCase)) { $q = 'C:' + $q.Substring(2) }
    return $q.TrimEnd('\')
}

# CAPI machine key file name: MD5 of the lower-case container name with its terminating NUL, as four
# little-endian DWORDs in hex, then "_" and MachineGuid. Checked against the documented RDP key file
# f686aace6942fb7f7ceb231212eef4a4_<MachineGuid> of container TSSecKeySet1 (MSRD-Collect, AZ articles).
$script:CAPI_NAMES = @{}
function Get-CapiKeyFileName([string]$container, [string]$guid) {
    $ck = "$container|$guid"
    if ($script:CAPI_NAMES.Contains($ck)) { return $script:CAPI_NAMES[$ck] }
    $md5 = [System.Security.Cryptography.MD5]::Create()
    $h = $md5.ComputeHash([System.Text.Encoding]::ASCII.GetBytes($container.ToLowerInvariant() + [char]0))
    $s = ''
    for ($i = 0; $i -lt 16; $i += 4) { for ($j = 3; $j -ge 0; $j--) { $s += $h[$i + $j].ToString('x2') } }
    $script:CAPI_NAMES[$ck] = "$($s)_$guid"
    return $script:CAPI_NAMES[$ck]
}

function Get-KeyFilePath {
    $w = $script:M.W
    if ($null -eq $w.rdpKeyFileAcl) { return $null }
    if ($null -ne $w.rdpCertificate -and $w.rdpCertificate.key -eq 'missing') { return $null }
    $container = if ($null -ne $w.rdpCertificate) { $w.rdpCertificate.keyContainer } else { $script:RDP_KEY_CONTAINER }
    return "$($script:MK)\$(Get-CapiKeyFileName $container $w.machineGuid)"
}

# The ACL-carrying items: @{ Acl (list); Owner } by path kind.
function Get-AclItem([string]$path) {
    $p = ConvertTo-FilePath $path
    if ($p -eq $script:MK) { return @{ Kind = 'mk'; Path = $p } }
    $k = Get-KeyFilePath
    if ($k -and $p -eq $k) { return @{ Kind = 'key'; Path = $p } }
    return $null
}

function Get-ItemAcl($item) {
    if ($item.Kind -eq 'mk') { return @{ Acl = $script:M.W.machineKeysAcl; Owner = $script:M.W.machineKeysOwner } }
    return @{ Acl = $script:M.W.rdpKeyFileAcl; Owner = $script:M.W.rdpKeyFileOwner }
}

function Set-ItemAcl($item, $acl, $owner) {
    if ($item.Kind -eq 'mk') {
        if ($null -ne $acl) { $script:M.W.machineKeysAcl = $acl }
        if ($owner) { $script:M.W.machineKeysOwner = $owner }
    } else {
        if ($null -ne $acl) { $script:M.W.rdpKeyFileAcl = $acl }
        if ($owner) { $script:M.W.rdpKeyFileOwner = $owner }
    }
}

function Get-AceParts([string]$e) {
    $a = $e.Split(':')
    return @{ Sid = $a[0]; Right = $a[1]; Deny = ($a.Count -gt 2 -and $a[2] -eq 'deny') }
}

# Windows access check, simplified: explicit Deny ACEs win over Allow ACEs (canonical order, as icacls
# writes it [S18b]); the owner always gets READ_CONTROL and WRITE_DAC (implicit owner rights).
function Test-ModelAccess($acl, [string]$owner, [string[]]$token, [int]$mask) {
    $granted = 0; $denied = 0
    foreach ($e in @($acl)) {
        $a = Get-AceParts $e
        if ($token -notcontains $a.Sid) { continue }
        $m = $script:RIGHT_MASK[$a.Right]
        if ($a.Deny) { $denied = $denied -bor $m } else { $granted = $granted -bor $m }
    }
    $ownerBits = 0
    if ($token -contains $owner) { $ownerBits = 0x60000 }
    $need = $mask -band (-bnot $ownerBits)
    if (($need -band $denied) -ne 0) { return $false }
    return (($need -band $granted) -eq $need)
}

function Test-SystemCanOpenKeyFile {
    $k = Get-KeyFilePath
    if (-not $k) { return $false }
    # opening a CAPI key reads its file: FILE_READ_DATA for SYSTEM's token [S29]
    return (Test-ModelAccess $script:M.W.rdpKeyFileAcl $script:M.W.rdpKeyFileOwner $script:SYSTEM_TOKEN 0x1)
}

function Get-RightLetter([int]$m) {
    foreach ($r in 'F', 'M', 'RX', 'R') { if (($m -band $script:RIGHT_MASK[$r]) -eq $script:RIGHT_MASK[$r]) { return $r } }
    if (($m -band 0x116) -eq 0x116) { return 'W' }
    return 'special'
}

function Get-FileEntries {
    # all files the model knows: @{ Path; Kind = 'key'|'file'; Content }
    $list = New-Object System.Collections.ArrayList
    $k = Get-KeyFilePath
    if ($k) { [void]$list.Add(@{ Path = $k; Kind = 'key'; Content = $null }) }
    foreach ($f in @($script:M.Files.Values)) { if (-not $f.Dir) { [void]$list.Add(@{ Path = $f.Path; Kind = 'file'; Content = $f.Content }) } }
    return $list
}

function Test-ModelDir([string]$p) {
    $p = ConvertTo-FilePath $p
    foreach ($d in $script:DIRS) { if ($d -eq $p) { return $true } }
    foreach ($f in @($script:M.Files.Values)) { if ($f.Dir -and $f.Path -eq $p) { return $true } }
    return $false
}

function Test-FilePath([string]$p, $pathType, [bool]$wildcard) {
    $q = ConvertTo-FilePath $p
    $isDir = Test-ModelDir $q
    $isFile = $false
    foreach ($f in (Get-FileEntries)) {
        $match = if ($wildcard) { $f.Path -like $q } else { $f.Path -eq $q }
        if ($match) {
            if ($f.Kind -eq 'key') {
                # listing MachineKeys needs FILE_LIST_DIRECTORY on the folder; reading the file's
                # attributes needs FILE_READ_ATTRIBUTES on it; Test-Path says $false when both are denied
                $w = $script:M.W
                if ((Test-ModelAccess $w.machineKeysAcl $w.machineKeysOwner $script:SYSTEM_TOKEN 0x1) -or (Test-ModelAccess $w.rdpKeyFileAcl $w.rdpKeyFileOwner $script:SYSTEM_TOKEN 0x80)) { $isFile = $true }
            } else { $isFile = $true }
        }
    }
    switch ([string]$pathType) {
        'Leaf' { return $isFile }
        'Container' { return $isDir }
        default { return ($isFile -or $isDir) }
    }
}

function New-FileItem([string]$path, [bool]$dir) {
    $name = $path.Substring($path.LastIndexOf('\') + 1)
    [pscustomobject]@{
        PSTypeName = $(if ($dir) { 'System.IO.DirectoryInfo' } else { 'System.IO.FileInfo' })
        Name = $name; FullName = $path; PSPath = "Microsoft.PowerShell.Core\FileSystem::$path"
        PSIsContainer = $dir; Length = $(if ($dir) { $null } else { 0 }); LastWriteTime = $script:M.Now.ToLocalTime()
    }
}

function New-ModelFile($cmdlet, [string]$p, [string]$itemType, $value, [bool]$force) {
    $q = ConvertTo-FilePath $p
    $parent = $q.Substring(0, $q.LastIndexOf('\'))
    if (-not (Test-ModelDir $parent)) { Write-PathNotFound $cmdlet $parent 'NewItemCommand'; return }
    $dir = ($itemType -eq 'Directory')
    $script:M.Files[$q.ToLowerInvariant()] = @{ Path = $q; Dir = $dir; Content = $(if ($dir) { $null } else { [string]$value }) }
    New-FileItem $q $dir
}

function Set-ModelFileContent([string]$p, [string]$content, [bool]$append) {
    $q = ConvertTo-FilePath $p
    $k = $q.ToLowerInvariant()
    $old = if ($append -and $script:M.Files[$k]) { $script:M.Files[$k].Content } else { '' }
    $script:M.Files[$k] = @{ Path = $q; Dir = $false; Content = $old + $content }
}

function Get-ChildItem {
    [CmdletBinding(DefaultParameterSetName = 'Items')]
    param(
        [Parameter(ParameterSetName = 'Items', Position = 0, ValueFromPipeline)] [string[]]$Path,
        [Parameter(ParameterSetName = 'LiteralItems', Mandatory)] [Alias('PSPath')] [string[]]$LiteralPath,
        [Parameter(Position = 1)] [string]$Filter,
        [switch]$Recurse, [switch]$Force, [switch]$File, [switch]$Directory, [switch]$Name
    )
    process {
        $paths = if ($PSCmdlet.ParameterSetName -eq 'Items') { $Path } else { $LiteralPath }
        foreach ($p in $paths) {
            Test-NotModelledPath $PSCmdlet $p
            switch (Get-ModelPathKind $p) {
                'Cert' { Get-CertItems $PSCmdlet $p ($PSCmdlet.ParameterSetName -eq 'Items') }
                'File' {
                    $q = ConvertTo-FilePath $p
                    $pattern = $null
                    if ($PSCmdlet.ParameterSetName -eq 'Items' -and $q -match '[*?]') {
                        $pattern = $q; $q = $q.Substring(0, $q.LastIndexOf('\'))
                    }
                    if (-not (Test-ModelDir $q)) { Write-PathNotFound $PSCmdlet $p 'GetChildItemCommand'; continue }
                    if ($q -eq $script:MK -and -not (Test-ModelAccess $script:M.W.machineKeysAcl $script:M.W.machineKeysOwner $script:SYSTEM_TOKEN 0x1)) {
                        $ex = [System.UnauthorizedAccessException]::new("Access to the path '$q' is denied.")
                        Write-ModelError $PSCmdlet ((New-ModelErrorRecord $ex 'DirUnauthorizedAccessError,Microsoft.PowerShell.Commands.GetChildItemCommand' 'PermissionDenied' $q))
                        continue
                    }
                    foreach ($f in (Get-FileEntries)) {
                        $parent = $f.Path.Substring(0, $f.Path.LastIndexOf('\'))
                        if ($parent -ne $q -and -not ($Recurse -and $f.Path.StartsWith("$q\"))) { continue }
                        if ($pattern -and $f.Path -notlike $pattern) { continue }
                        if ($Filter -and $f.Path.Substring($f.Path.LastIndexOf('\') + 1) -notlike $Filter) { continue }
                        if ($Directory) { continue }
                        if ($Name) { $f.Path.Substring($f.Path.LastIndexOf('\') + 1) } else { New-FileItem $f.Path $false }
                    }
                }
                default { throw "model: Get-ChildItem on '$p' is not modelled" }
            }
        }
    }
}

function Remove-Item {
    [CmdletBinding(DefaultParameterSetName = 'Path', SupportsShouldProcess)]
    param(
        [Parameter(ParameterSetName = 'Path', Mandatory, Position = 0, ValueFromPipeline)] [string[]]$Path,
        [Parameter(ParameterSetName = 'LiteralPath', Mandatory, ValueFromPipelineByPropertyName)] [Alias('PSPath')] [string[]]$LiteralPath,
        [switch]$Force, [switch]$Recurse, [switch]$DeleteKey
    )
    process {
        $paths = if ($PSCmdlet.ParameterSetName -eq 'Path') { $Path } else { $LiteralPath }
        foreach ($p in $paths) {
            Test-NotModelledPath $PSCmdlet $p
            switch (Get-ModelPathKind $p) {
                'Cert' { Remove-CertItem $PSCmdlet $p ([bool]$DeleteKey) }
                'File' {
                    $q = ConvertTo-FilePath $p
                    $k = $q.ToLowerInvariant()
                    if ($script:M.Files.Contains($k)) { $script:M.Files.Remove($k); continue }
                    if ($q -eq (Get-KeyFilePath)) {
                        # deleting the key file needs DELETE on it or FILE_DELETE_CHILD on MachineKeys
                        $w = $script:M.W
                        if ((Test-ModelAccess $w.rdpKeyFileAcl $w.rdpKeyFileOwner $script:SYSTEM_TOKEN 0x10000) -or (Test-ModelAccess $w.machineKeysAcl $w.machineKeysOwner $script:SYSTEM_TOKEN 0x40)) {
                            $w.rdpKeyFileAcl = $null
                        } else {
                            $ex = [System.UnauthorizedAccessException]::new("Access to the path '$q' is denied.")
                            Write-ModelError $PSCmdlet ((New-ModelErrorRecord $ex 'RemoveFileSystemItemUnAuthorizedAccess,Microsoft.PowerShell.Commands.RemoveItemCommand' 'PermissionDenied' $q))
                        }
                        continue
                    }
                    Write-PathNotFound $PSCmdlet $p 'RemoveItemCommand'
                }
                default { throw "model: Remove-Item on '$p' is not modelled" }
            }
        }
    }
}

function Get-Content {
    [CmdletBinding(DefaultParameterSetName = 'Path')]
    param(
        [Parameter(ParameterSetName = 'Path', Mandatory, Position = 0)] [string[]]$Path,
        [Parameter(ParameterSetName = 'LiteralPath', Mandatory)] [Alias('PSPath')] [string[]]$LiteralPath,
        [switch]$Raw, [int]$TotalCount = -1, $Encoding
    )
    $paths = if ($PSCmdlet.ParameterSetName -eq 'Path') { $Path } else { $LiteralPath }
    foreach ($p in $paths) {
        if (-not (Get-ModelPathKind $p)) { Microsoft.PowerShell.Management\Get-Content -LiteralPath $p -Raw:$Raw; continue }
        $f = $script:M.Files[(ConvertTo-FilePath $p).ToLowerInvariant()]
        if ($null -eq $f -or $f.Dir) { Write-PathNotFound $PSCmdlet $p 'GetContentCommand'; continue }
        if ($Raw) { $f.Content } else { $f.Content -split "`r?`n" | Where-Object { $_ -ne '' } }
    }
}

function Set-Content {
    [CmdletBinding(DefaultParameterSetName = 'Path')]
    param(
        [Parameter(ParameterSetName = 'Path', Mandatory, Position = 0)] [string[]]$Path,
        [Parameter(ParameterSetName = 'LiteralPath', Mandatory)] [Alias('PSPath')] [string[]]$LiteralPath,
        [Parameter(Position = 1, ValueFromPipeline)] [object[]]$Value, $Encoding, [switch]$Force, [switch]$NoNewline
    )
    begin { $acc = New-Object System.Collections.ArrayList }
    process { foreach ($v in @($Value)) { [void]$acc.Add([string]$v) } }
    end {
        $paths = if ($PSCmdlet.ParameterSetName -eq 'Path') { $Path } else { $LiteralPath }
        foreach ($p in $paths) { Test-NotModelledPath $PSCmdlet $p; Set-ModelFileContent $p (($acc -join "`r`n") + "`r`n") $false }
    }
}

function Out-File {
    [CmdletBinding(DefaultParameterSetName = 'ByPath')]
    param(
        [Parameter(ParameterSetName = 'ByPath', Mandatory, Position = 0)] [string]$FilePath,
        [Parameter(ParameterSetName = 'ByLiteralPath', Mandatory)] [Alias('PSPath')] [string]$LiteralPath,
        [Parameter(Position = 1)] $Encoding,
        [Parameter(ValueFromPipeline)] [psobject]$InputObject,
        [switch]$Append, [switch]$Force, [switch]$NoNewline, [int]$Width
    )
    begin { $acc = New-Object System.Collections.ArrayList }
    process { if ($null -ne $InputObject) { [void]$acc.Add(($InputObject | Microsoft.PowerShell.Utility\Out-String).TrimEnd()) } }
    end {
        $p = if ($PSCmdlet.ParameterSetName -eq 'ByPath') { $FilePath } else { $LiteralPath }
        Test-NotModelledPath $PSCmdlet $p
        Set-ModelFileContent $p (($acc -join "`r`n") + "`r`n") ([bool]$Append)
    }
}

# ---------------------------------------------------------------------------------------------
# Get-Acl: rules keyed by SID through GetAccessRules($true, $true, [SecurityIdentifier]) [S32].
# On Linux [SecurityIdentifier] cannot be constructed, so IdentityReference is an object whose
# .Value (and string form) is the SID, as SecurityIdentifier.Value is on Windows.
# ---------------------------------------------------------------------------------------------
class ModelIdentity {
    [string]$Value
    ModelIdentity([string]$v) { $this.Value = $v }
    [string] ToString() { return $this.Value }
}
function New-ModelIdentity([string]$value) { return [ModelIdentity]::new($value) }

# FileSecurity stand-in: GetAccessRules(includeExplicit, includeInherited, targetType) keyed by SID when
# targetType is [SecurityIdentifier], by account name otherwise [S32]; GetOwner(targetType).
class ModelFileSecurity {
    [string]$Path
    [string]$Owner
    [object[]]$Access
    [string]$Sddl
    hidden [object[]]$ModelAcl
    hidden [string]$ModelOwner
    [object[]] GetAccessRules([bool]$includeExplicit, [bool]$includeInherited, [object]$targetType) {
        $bySid = ([string]$targetType -like '*SecurityIdentifier*')
        $out = [System.Collections.Generic.List[object]]::new()
        if (-not $includeExplicit) { return $out.ToArray() }
        foreach ($e in $this.ModelAcl) { $out.Add((New-ModelAccessRule $e $bySid)) }
        return $out.ToArray()
    }
    [object] GetOwner([object]$targetType) {
        if ([string]$targetType -like '*SecurityIdentifier*') { return [ModelIdentity]::new($this.ModelOwner) }
        return [ModelIdentity]::new($this.Owner)
    }
}

function New-ModelAccessRule([string]$entry, [bool]$bySid) {
    $a = Get-AceParts $entry
    $id = if ($bySid) { $a.Sid } elseif ($script:WELL_KNOWN.Contains($a.Sid)) { $script:WELL_KNOWN[$a.Sid] } else { $a.Sid }
    [pscustomobject]@{
        PSTypeName = 'System.Security.AccessControl.FileSystemAccessRule'
        FileSystemRights = [System.Security.AccessControl.FileSystemRights]$script:RIGHT_MASK[$a.Right]
        AccessControlType = $(if ($a.Deny) { [System.Security.AccessControl.AccessControlType]::Deny } else { [System.Security.AccessControl.AccessControlType]::Allow })
        IdentityReference = (New-ModelIdentity $id)
        IsInherited = $false
        InheritanceFlags = [System.Security.AccessControl.InheritanceFlags]::None
        PropagationFlags = [System.Security.AccessControl.PropagationFlags]::None
    }
}

function Get-Acl {
    [CmdletBinding(DefaultParameterSetName = 'ByPath')]
    param(
        [Parameter(ParameterSetName = 'ByPath', Position = 0, ValueFromPipeline)] [string[]]$Path,
        [Parameter(ParameterSetName = 'ByLiteralPath', Mandatory)] [Alias('PSPath')] [string[]]$LiteralPath,
        [switch]$Audit
    )
    process {
        $paths = if ($PSCmdlet.ParameterSetName -eq 'ByPath') { $Path } else { $LiteralPath }
        foreach ($p in $paths) {
            Test-NotModelledPath $PSCmdlet $p
            $item = Get-AclItem $p
            if ($null -eq $item) {
                if (Test-FilePath $p 'Any' $false) { throw "model: Get-Acl on '$p' is not modelled (no ACL in the fleet state)" }
                Write-PathNotFound $PSCmdlet $p 'GetAclCommand'; continue
            }
            $a = Get-ItemAcl $item
            # reading a security descriptor needs READ_CONTROL (owner: implicit)
            if (-not (Test-ModelAccess $a.Acl $a.Owner $script:SYSTEM_TOKEN 0x20000)) {
                $ex = [System.UnauthorizedAccessException]::new('Attempted to perform an unauthorized operation.')
                Write-ModelError $PSCmdlet ((New-ModelErrorRecord $ex 'System.UnauthorizedAccessException,Microsoft.PowerShell.Commands.GetAclCommand' 'PermissionDenied' $p))
                continue
            }
            $acl = @($a.Acl)
            $owner = $a.Owner
            $o = [ModelFileSecurity]::new()
            $o.Path = "Microsoft.PowerShell.Core\FileSystem::$($item.Path)"
            $o.Owner = $(if ($script:WELL_KNOWN.Contains($owner)) { $script:WELL_KNOWN[$owner] } else { $owner })
            $names = [System.Collections.Generic.List[object]]::new()
            $sddl = 'O:' + $owner + 'D:'
            foreach ($e in $acl) {
                $names.Add((New-ModelAccessRule $e $false))
                $x = Get-AceParts $e
                $sddl += '({0};;0x{1:x};;;{2})' -f $(if ($x.Deny) { 'D' } else { 'A' }), $script:RIGHT_MASK[$x.Right], $x.Sid
            }
            $o.Access = $names.ToArray()
            $o.Sddl = $sddl
            $o.ModelAcl = $acl
            $o.ModelOwner = $owner
            $o
        }
    }
}

# ---------------------------------------------------------------------------------------------
# icacls.exe [S18b]: /grant adds rights (/grant:r replaces the SID's granted rights); explicit Deny
# ACEs stay and are evaluated first; /remove[:g|:d]; /deny; /save /restore (DACLs, not owners);
# /reset; /setowner; /inheritance:e|d|r (inheritance is not modelled: no change); /t /c /q.
# Exit codes are Win32 codes: 0, 2 (not found), 5 (access denied), 87 (invalid parameter).
# ---------------------------------------------------------------------------------------------
function Resolve-AccountSid([string]$s) {
    if ($s.StartsWith('*')) { return $s.Substring(1) }
    foreach ($k in $script:WELL_KNOWN.Keys) {
        $n = $script:WELL_KNOWN[$k]
        if ($s -eq $n -or $s -eq $n.Substring($n.IndexOf('\') + 1)) { return $k }
    }
    return $null   # names are localized on real Windows [I5]: the model knows the English ones only
}

function ConvertFrom-IcaclsPerm([string]$perm) {
    # "(OI)(CI)(F)" / "F" / "(R,W)": inheritance flags ignored; rights unioned
    $m = 0
    foreach ($g in [regex]::Matches($perm, '\(([^)]*)\)|^([A-Z,]+)$')) {
        $body = if ($g.Groups[1].Success) { $g.Groups[1].Value } else { $g.Groups[2].Value }
        foreach ($r in $body.Split(',')) {
            switch ($r) {
                'F' { $m = $m -bor 0x1F01FF } 'M' { $m = $m -bor 0x1301BF } 'RX' { $m = $m -bor 0x1200A9 }
                'R' { $m = $m -bor 0x120089 } 'W' { $m = $m -bor 0x100116 } 'D' { $m = $m -bor 0x10000 }
                default { }   # OI, CI, IO, NP, I: inheritance flags
            }
        }
    }
    return $m
}

function Edit-AclGrant($acl, [string]$sid, [int]$mask, [bool]$replace, [bool]$deny) {
    $out = New-Object System.Collections.ArrayList
    $merged = $false
    foreach ($e in @($acl)) {
        $a = Get-AceParts $e
        if ($a.Sid -eq $sid -and $a.Deny -eq $deny) {
            if ($merged) { continue }
            $m = if ($replace) { $mask } else { $script:RIGHT_MASK[$a.Right] -bor $mask }
            [void]$out.Add(('{0}:{1}{2}' -f $sid, (Get-RightLetter $m), $(if ($deny) { ':deny' } else { '' })))
            $merged = $true
        } else { [void]$out.Add($e) }
    }
    if (-not $merged) {
        $new = '{0}:{1}{2}' -f $sid, (Get-RightLetter $mask), $(if ($deny) { ':deny' } else { '' })
        if ($deny) { $out.Insert(0, $new) } else { [void]$out.Add($new) }   # canonical order: denies first
    }
    return , $out
}

function Resolve-IcaclsTargets([string]$path, [bool]$recurse) {
    $q = ConvertTo-FilePath $path
    $targets = New-Object System.Collections.ArrayList
    if ($q -match '[*?]') {
        $dir = $q.Substring(0, $q.LastIndexOf('\'))
        foreach ($f in (Get-FileEntries)) { if ($f.Path -like $q -and $f.Path.Substring(0, $f.Path.LastIndexOf('\')) -eq $dir) { [void]$targets.Add($f.Path) } }
        return , $targets
    }
    if (Test-ModelDir $q) {
        [void]$targets.Add($q)
        if ($recurse) { foreach ($f in (Get-FileEntries)) { if ($f.Path.StartsWith("$q\")) { [void]$targets.Add($f.Path) } } }
        return , $targets
    }
    foreach ($f in (Get-FileEntries)) { if ($f.Path -eq $q) { [void]$targets.Add($f.Path) } }
    return , $targets
}

function Invoke-Icacls {
    param([string[]]$argv)
    $global:LASTEXITCODE = 0
    if ($argv.Count -lt 1) { 'Invalid parameter'; $global:LASTEXITCODE = 87; return }
    $path = $argv[0]
    $ops = New-Object System.Collections.ArrayList
    $recurse = $false; $continue = $false; $quiet = $false
    $i = 1
    while ($i -lt $argv.Count) {
        $a = [string]$argv[$i]
        switch -Regex ($a) {
            '^/t$' { $recurse = $true; $i++; continue }
            '^/c$' { $continue = $true; $i++; continue }
            '^/q$' { $quiet = $true; $i++; continue }
            '^/l$' { $i++; continue }
            '^/(grant(:r)?|deny)$' {
                $specs = New-Object System.Collections.ArrayList
                $i++
                while ($i -lt $argv.Count -and -not ([string]$argv[$i]).StartsWith('/')) { [void]$specs.Add([string]$argv[$i]); $i++ }
                [void]$ops.Add(@{ Op = $a.TrimStart('/'); Specs = $specs }); continue
            }
            '^/remove(:[gd])?$' {
                $specs = New-Object System.Collections.ArrayList
                $i++
                while ($i -lt $argv.Count -and -not ([string]$argv[$i]).StartsWith('/')) { [void]$specs.Add([string]$argv[$i]); $i++ }
                [void]$ops.Add(@{ Op = $a.TrimStart('/'); Specs = $specs }); continue
            }
            '^/(save|restore)$' { [void]$ops.Add(@{ Op = $a.TrimStart('/'); File = [string]$argv[$i + 1] }); $i += 2; continue }
            '^/setowner$' { [void]$ops.Add(@{ Op = 'setowner'; Sid = [string]$argv[$i + 1] }); $i += 2; continue }
            '^/reset$' { [void]$ops.Add(@{ Op = 'reset' }); $i++; continue }
            '^/inheritance:[edr]$' { [void]$ops.Add(@{ Op = 'inheritance' }); $i++; continue }
            default { "Invalid parameter `"$a`""; $global:LASTEXITCODE = 87; return }
        }
    }
    $restore = $ops | Where-Object { $_.Op -eq 'restore' } | Select-Object -First 1
    if ($restore) {
        $dir = ConvertTo-FilePath $path
        if (-not (Test-ModelDir $dir)) { "$($path): The system cannot find the file specified."; 'Successfully processed 0 files; Failed processing 1 files'; $global:LASTEXITCODE = 2; return }
        $f = $script:M.Files[(ConvertTo-FilePath $restore.File).ToLowerInvariant()]
        if ($null -eq $f) { "$($restore.File): The system cannot find the file specified."; 'Successfully processed 0 files; Failed processing 1 files'; $global:LASTEXITCODE = 2; return }
        $lines = @($f.Content -split "`r?`n" | Where-Object { $_ -ne '' })
        $ok = 0; $bad = 0
        for ($j = 0; $j + 1 -lt $lines.Count; $j += 2) {
            $target = "$dir\$($lines[$j])"
            $item = Get-AclItem $target
            if ($null -eq $item) { "$($target): The system cannot find the file specified."; $bad++; $global:LASTEXITCODE = 2; if (-not $continue) { break } ; continue }
            $cur = Get-ItemAcl $item
            if (-not (Test-ModelAccess $cur.Acl $cur.Owner $script:SYSTEM_TOKEN 0x40000)) { "$($target): Access is denied."; $bad++; $global:LASTEXITCODE = 5; if (-not $continue) { break }; continue }
            $entries = @(($lines[$j + 1] -replace '^D:', '').Split(';') | Where-Object { $_ -ne '' })
            Set-ItemAcl $item (ConvertTo-ModelList $entries) $null
            if (-not $quiet) { "processed file: $target" }
            $ok++
        }
        "Successfully processed $ok files; Failed processing $bad files"
        return
    }
    $targets = Resolve-IcaclsTargets $path $recurse
    if ($targets.Count -eq 0) { "$($path): The system cannot find the file specified."; 'Successfully processed 0 files; Failed processing 1 files'; $global:LASTEXITCODE = 2; return }
    $ok = 0; $bad = 0
    $saveText = New-Object System.Text.StringBuilder
    foreach ($t in $targets) {
        $item = Get-AclItem $t
        if ($null -eq $item) { if (-not $quiet) { "processed file: $t" }; $ok++; continue }   # files without a modelled ACL
        $cur = Get-ItemAcl $item
        if ($ops.Count -eq 0 -or ($ops | Where-Object { $_.Op -eq 'save' })) {
            if (-not (Test-ModelAccess $cur.Acl $cur.Owner $script:SYSTEM_TOKEN 0x20000)) { "$($t): Access is denied."; $bad++; $global:LASTEXITCODE = 5; if (-not $continue) { break }; continue }
            if ($ops.Count -eq 0) {
                $first = $true
                foreach ($e in @($cur.Acl)) {
                    $a = Get-AceParts $e
                    $n = if ($script:WELL_KNOWN.Contains($a.Sid)) { $script:WELL_KNOWN[$a.Sid] } else { $a.Sid }
                    $line = '{0}:{1}({2})' -f $n, $(if ($a.Deny) { '(DENY)' } else { '' }), $(if ($a.Right -eq 'special') { 'S,RD,WD,RA,WA,RC' } else { $a.Right })
                    if ($first) { "$t $line"; $first = $false } else { (' ' * ($t.Length + 1)) + $line }
                }
            } else {
                # names relative to the folder /restore is later given: for `dir\*` that folder, for a folder
                # itself its parent ("icacls d:\data /save f /t" then "icacls d:\ /restore f": the file lists
                # `data` and `data\...`; TechNet wiki "How to Back Up and Restore NTFS and Share Permissions")
                $given = ConvertTo-FilePath $path
                $rel = $given.Substring(0, $given.LastIndexOf('\'))
                $base = $t.Substring($rel.Length + 1)
                [void]$saveText.Append("$base`r`nD:$((@($cur.Acl)) -join ';')`r`n")
                if (-not $quiet) { "processed file: $t" }
            }
            $ok++
            continue
        }
        $needOwner = @($ops | Where-Object { $_.Op -eq 'setowner' }).Count -gt 0
        # changing the DACL needs WRITE_DAC (owner: implicit); /setowner uses SeRestorePrivilege (SYSTEM holds it)
        if (-not $needOwner -and -not (Test-ModelAccess $cur.Acl $cur.Owner $script:SYSTEM_TOKEN 0x40000)) {
            "$($t): Access is denied."; $bad++; $global:LASTEXITCODE = 5
            if (-not $continue) { break }
            continue
        }
        $acl = ConvertTo-ModelList $cur.Acl
        $owner = $null
        $failed = $false
        foreach ($op in $ops) {
            switch -Regex ($op.Op) {
                '^(grant(:r)?|deny)$' {
                    foreach ($s in $op.Specs) {
                        $k = $s.LastIndexOf(':')
                        $sid = if ($k -gt 0) { Resolve-AccountSid $s.Substring(0, $k) } else { $null }
                        if (-not $sid) { 'No mapping between account names and security IDs was done.'; $global:LASTEXITCODE = 1332; $failed = $true; break }
                        $acl = Edit-AclGrant $acl $sid (ConvertFrom-IcaclsPerm $s.Substring($k + 1)) ($op.Op -eq 'grant:r') ($op.Op -eq 'deny')
                    }
                }
                '^remove' {
                    foreach ($s in $op.Specs) {
                        $sid = Resolve-AccountSid $s
                        $acl = ConvertTo-ModelList @($acl | Where-Object {
                                $a = Get-AceParts $_
                                -not ($a.Sid -eq $sid -and ($op.Op -eq 'remove' -or ($op.Op -eq 'remove:d' -and $a.Deny) -or ($op.Op -eq 'remove:g' -and -not $a.Deny)))
                            })
                    }
                }
                '^setowner$' { $owner = Resolve-AccountSid $op.Sid }
                '^reset$' {
                    # [S] reset = the inherited default: MachineKeys -> KB 278381's folder ACL [S20];
                    # the key file -> the folder's entries (as if inheritable)
                    if ($item.Kind -eq 'mk') { $acl = ConvertTo-ModelList @('S-1-5-32-544:F', 'S-1-1-0:special') } else { $acl = ConvertTo-ModelList $script:M.W.machineKeysAcl }
                }
                default { }
            }
            if ($failed) { break }
        }
        if ($failed) { $bad++; if (-not $continue) { break }; continue }
        Set-ItemAcl $item $acl $owner
        if (-not $quiet) { "processed file: $t" }
        $ok++
    }
    $save = $ops | Where-Object { $_.Op -eq 'save' } | Select-Object -First 1
    if ($save) { Set-ModelFileContent $save.File $saveText.ToString() $false }
    "Successfully processed $ok files; Failed processing $bad files"
}

# a native command gets each element of an array argument as its own argument (offline-machinekeys.ps1
# passes its grants as one array): flatten as PowerShell's native argument binder does
function ConvertTo-NativeArgv($a) { return , [string[]]@(foreach ($x in $a) { foreach ($y in @($x)) { [string]$y } }) }
function icacls.exe { Invoke-Icacls -argv (ConvertTo-NativeArgv $args) }
function icacls { Invoke-Icacls -argv (ConvertTo-NativeArgv $args) }

# takeown.exe [S18c]: /a gives the Administrators group ownership, else the current user (SYSTEM).
function Invoke-Takeown {
    param([string[]]$argv)
    $path = $null; $admins = $false; $recurse = $false
    for ($i = 0; $i -lt $argv.Count; $i++) {
        switch -Regex ([string]$argv[$i]) {
            '^/f$' { $path = [string]$argv[$i + 1]; $i++ }
            '^/a$' { $admins = $true }
            '^/r$' { $recurse = $true }
            '^/d$' { $i++ }
        }
    }
    $targets = if ($path) { Resolve-IcaclsTargets $path $recurse } else { @() }
    if ($targets.Count -eq 0) { 'ERROR: The system cannot find the file specified.'; $global:LASTEXITCODE = 1; return }
    foreach ($t in $targets) {
        $item = Get-AclItem $t
        if ($item) { Set-ItemAcl $item $null $(if ($admins) { 'S-1-5-32-544' } else { 'S-1-5-18' }) }
        if ($admins) { "SUCCESS: The file (or folder): `"$t`" now owned by the administrators group." } else { "SUCCESS: The file (or folder): `"$t`" now owned by user `"NT AUTHORITY\SYSTEM`"." }
    }
    $global:LASTEXITCODE = 0
}

function takeown.exe { Invoke-Takeown -argv (ConvertTo-NativeArgv $args) }
function takeown { Invoke-Takeown -argv (ConvertTo-NativeArgv $args) }

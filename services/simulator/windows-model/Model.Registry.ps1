# Registry: HKLM keys the scripts read and write, projected from the fleet state (one truth).
# Value kinds as Windows returns them through the registry provider: REG_DWORD -> [int]
# (Microsoft.Win32.RegistryKey.GetValue returns Int32), REG_BINARY -> [byte[]], REG_SZ -> [string] [S5][S10].

$script:REG = @{
    RdpTcp = 'SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
    TS = 'SYSTEM\CurrentControlSet\Control\Terminal Server'
    Schannel = 'SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols'
    TSPolicy = 'SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services'
    CredSsp = 'SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\CredSSP\Parameters'
    Crypto = 'SOFTWARE\Microsoft\Cryptography'
}
# Keys that exist on every modelled Windows (their ancestors too).
$script:REG_ALWAYS = @(
    $script:REG.RdpTcp, $script:REG.TS, $script:REG.Schannel, $script:REG.TSPolicy, $script:REG.Crypto,
    'SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System',
    'SOFTWARE\Policies\Microsoft\Cryptography'
)
$script:RDPTCP_VALUES = @('SecurityLayer', 'UserAuthentication', 'fAllowSecProtocolNegotiation', 'fEnableWinStation', 'fLogonDisabled', 'MinEncryptionLevel', 'LanAdapter')
$script:TS_VALUES = @('fDenyTSConnections', 'TSEnabled', 'TSUserEnabled', 'TSServerDrainMode')

# 'HKLM:\X', 'HKEY_LOCAL_MACHINE\X', 'Registry::HKEY_LOCAL_MACHINE\X' -> 'X' (relative to HKLM); $null if not HKLM.
function ConvertTo-RegRelative([string]$p) {
    $q = $p -replace '^(?i)Microsoft\.PowerShell\.Core\\', ''
    $q = $q -replace '^(?i)Registry::', ''
    if ($q -match '^(?i)(HKLM:|HKEY_LOCAL_MACHINE):?\\?(.*)$') {
        # issue #15: in an offline run, hives loaded from the attached disk (Model.Offline.ps1)
        return (ConvertFrom-OfflineRegRelative ($Matches[2].TrimEnd('\') -replace '\\+', '\'))
    }
    return $null
}

function Test-RegUnder([string]$rel, [string]$root) {
    return $rel.Equals($root, [StringComparison]::OrdinalIgnoreCase)
}

function Split-RegValuePath([string]$full) {
    $i = $full.LastIndexOf('\')
    if ($i -lt 0) { return @('', $full) }
    return @($full.Substring(0, $i), $full.Substring($i + 1))
}

function ConvertTo-RegValue($value, [string]$kind) {
    switch ($kind) {
        'DWord' { return [int]$value }
        'QWord' { return [long]$value }
        # the comma keeps the array whole (a function's output is unrolled)
        'Binary' { return , ([byte[]]$value) }
        'MultiString' { return , ([string[]]$value) }
        default { return [string]$value }
    }
}

function Get-RegKindOf($value) {
    if ($value -is [byte[]]) { return 'Binary' }
    if ($value -is [int] -or $value -is [int16] -or $value -is [byte]) { return 'DWord' }
    if ($value -is [long]) { return 'QWord' }
    if ($value -is [string[]]) { return 'MultiString' }
    return 'String'
}

function ConvertFrom-HexBytes([string]$hex) {
    $b = New-Object byte[] ($hex.Length / 2)
    for ($i = 0; $i -lt $b.Length; $i++) { $b[$i] = [Convert]::ToByte($hex.Substring($i * 2, 2), 16) }
    return , $b
}

# Every key that exists (relative paths, original case).
function Get-RegKeyList {
    # cached per run; every registry write goes through Set-RegValue/Remove-RegValue/New-RegKey, which clear it
    if ($null -ne $script:M.RegKeys) { return , $script:M.RegKeys }
    $w = $script:M.W
    $keys = New-Object System.Collections.ArrayList
    foreach ($k in $script:REG_ALWAYS) { [void]$keys.Add($k) }
    foreach ($v in @($w.schannelServer.Keys)) {
        [void]$keys.Add("$($script:REG.Schannel)\$v")
        [void]$keys.Add("$($script:REG.Schannel)\$v\Server")
    }
    if ($null -ne $w.credSsp.allowEncryptionOracle) { [void]$keys.Add($script:REG.CredSsp) }
    foreach ($p in @($w.policyValues.Keys)) { [void]$keys.Add((Split-RegValuePath $p)[0]) }
    foreach ($e in @($script:M.ExtraKeys.Values)) { [void]$keys.Add($e.Path) }
    # issue #15: a loaded SYSTEM hive has Select (offline runs, Model.Offline.ps1)
    if ($null -ne $script:M.Offline) { [void]$keys.Add('SYSTEM\Select') }
    # ancestors exist too
    $all = New-Object System.Collections.Generic.HashSet[string] ([StringComparer]::OrdinalIgnoreCase)
    foreach ($k in $keys) {
        $parts = $k.Split('\')
        for ($i = 1; $i -le $parts.Length; $i++) { [void]$all.Add(($parts[0..($i - 1)] -join '\')) }
    }
    $script:M.RegKeys = $all
    return , $all
}

function Test-RegKey([string]$rel) {
    if ($rel -eq '') { return $true }
    return (Get-RegKeyList).Contains($rel)
}

# The key's values: ordered name -> @{ Kind; Value }; $null when the key does not exist.
function Get-RegValues([string]$rel) {
    if (-not (Test-RegKey $rel)) { return $null }
    $w = $script:M.W
    $v = [ordered]@{}
    if (Test-RegUnder $rel $script:REG.RdpTcp) {
        # PortNumber: DWORD [S10]; SSLCertificateSHA1Hash: REG_BINARY [S5]
        $v.PortNumber = @{ Kind = 'DWord'; Value = [int]$w.rdpPort }
        if ($w.sslCertificateSHA1Hash) { $v.SSLCertificateSHA1Hash = @{ Kind = 'Binary'; Value = (ConvertFrom-HexBytes $w.sslCertificateSHA1Hash) } }
        foreach ($n in $script:RDPTCP_VALUES) {
            if ($w.rdpTcp.Contains($n) -and $null -ne $w.rdpTcp[$n]) { $v[$n] = @{ Kind = 'DWord'; Value = [int]$w.rdpTcp[$n] } }
        }
    } elseif (Test-RegUnder $rel $script:REG.TS) {
        foreach ($n in $script:TS_VALUES) {
            if ($null -ne $w.terminalServer[$n]) { $v[$n] = @{ Kind = 'DWord'; Value = [int]$w.terminalServer[$n] } }
        }
    } elseif ($rel -match '^(?i)SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\([^\\]+)\\Server$') {
        $x = $w.schannelServer[$Matches[1]]
        foreach ($n in 'Enabled', 'DisabledByDefault') {
            if ($null -ne $x -and $null -ne $x[$n]) { $v[$n] = @{ Kind = 'DWord'; Value = [int]$x[$n] } }
        }
    } elseif (Test-RegUnder $rel $script:REG.CredSsp) {
        if ($null -ne $w.credSsp.allowEncryptionOracle) { $v.AllowEncryptionOracle = @{ Kind = 'DWord'; Value = [int]$w.credSsp.allowEncryptionOracle } }
    } elseif (Test-RegUnder $rel $script:REG.Crypto) {
        $v.MachineGuid = @{ Kind = 'String'; Value = [string]$w.machineGuid }
    }
    # issue #15: the attached disk's SYSTEM\Select: Windows boots from ControlSet001 (Model.Offline.ps1)
    if ($null -ne $script:M.Offline -and (Test-RegUnder $rel 'SYSTEM\Select')) {
        foreach ($n in 'Current', 'Default', 'LastKnownGood') { $v[$n] = @{ Kind = 'DWord'; Value = 1 } }
        $v.Failed = @{ Kind = 'DWord'; Value = 0 }
    }
    # Group Policy values live in the registry too (policyValues), and win over the field [S7][B3].
    foreach ($p in @($w.policyValues.Keys)) {
        $kv = Split-RegValuePath $p
        if ($kv[0].Equals($rel, [StringComparison]::OrdinalIgnoreCase)) {
            $val = $w.policyValues[$p]
            $kind = if ($val -is [string]) { 'String' } else { 'DWord' }
            $v[$kv[1]] = @{ Kind = $kind; Value = (ConvertTo-RegValue $val $kind) }
        }
    }
    $extra = $script:M.ExtraKeys[$rel.ToLowerInvariant()]
    if ($null -ne $extra) { foreach ($n in @($extra.Values.Keys)) { $v[$n] = $extra.Values[$n] } }
    return $v
}

function Find-PolicyValueKey([string]$rel, [string]$name) {
    foreach ($p in @($script:M.W.policyValues.Keys)) {
        if ($p.Equals("$rel\$name", [StringComparison]::OrdinalIgnoreCase)) { return $p }
    }
    return $null
}

function Set-RegValue([string]$rel, [string]$name, $value, [string]$kind) {
    $script:M.RegKeys = $null
    $w = $script:M.W
    $pk = Find-PolicyValueKey $rel $name
    if ($pk) {
        # a local write over a policy value: it holds until Group Policy refreshes [S4]
        $w.policyValues[$pk] = $(if ($kind -eq 'String') { [string]$value } else { [int]$value })
        return
    }
    if (Test-RegUnder $rel $script:REG.RdpTcp) {
        if ($name -eq 'PortNumber') { $w.rdpPort = [int]$value; return }
        if ($name -eq 'SSLCertificateSHA1Hash') {
            $w.sslCertificateSHA1Hash = $(if ($value -is [byte[]]) { ([BitConverter]::ToString($value) -replace '-', '') } else { ([string]$value -replace '[^0-9A-Fa-f]', '').ToUpperInvariant() })
            return
        }
        if ($script:RDPTCP_VALUES -contains $name) { $w.rdpTcp[$name] = [int]$value; return }
    } elseif (Test-RegUnder $rel $script:REG.TS) {
        if ($script:TS_VALUES -contains $name) { $w.terminalServer[$name] = [int]$value; return }
    } elseif ($rel -match '^(?i)SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\([^\\]+)\\Server$' -and ($name -eq 'Enabled' -or $name -eq 'DisabledByDefault')) {
        $ver = $Matches[1]
        if ($null -eq $w.schannelServer[$ver]) { $w.schannelServer[$ver] = [ordered]@{} }
        $w.schannelServer[$ver][$name] = [int]$value
        return
    } elseif ((Test-RegUnder $rel $script:REG.CredSsp) -and $name -eq 'AllowEncryptionOracle') {
        $w.credSsp.allowEncryptionOracle = [int]$value
        return
    } elseif ((Test-RegUnder $rel $script:REG.Crypto) -and $name -eq 'MachineGuid') {
        $w.machineGuid = [string]$value
        return
    } elseif ($rel -like 'SOFTWARE\Policies\*') {
        # a value written under a policy key is a policy value (the fleet's policyValues)
        $w.policyValues["$rel\$name"] = $(if ($kind -eq 'String') { [string]$value } else { [int]$value })
        return
    }
    $e = Get-RegExtra $rel
    $e.Values[$name] = @{ Kind = $kind; Value = (ConvertTo-RegValue $value $kind) }
}

function Get-RegExtra([string]$rel) {
    $k = $rel.ToLowerInvariant()
    if ($null -eq $script:M.ExtraKeys[$k]) { $script:M.ExtraKeys[$k] = @{ Path = $rel; Values = [ordered]@{} } }
    return $script:M.ExtraKeys[$k]
}

# $true when the value existed and is gone.
function Remove-RegValue([string]$rel, [string]$name) {
    $script:M.RegKeys = $null
    $w = $script:M.W
    $vals = Get-RegValues $rel
    if ($null -eq $vals -or -not $vals.Contains($name)) { return $false }
    $pk = Find-PolicyValueKey $rel $name
    if ($pk) { $w.policyValues.Remove($pk); return $true }
    if (Test-RegUnder $rel $script:REG.RdpTcp) {
        if ($name -eq 'SSLCertificateSHA1Hash') { $w.sslCertificateSHA1Hash = $null; return $true }
        if ($name -eq 'PortNumber') { throw 'model: removing RDP-Tcp PortNumber is not modelled' }
        if ($script:RDPTCP_VALUES -contains $name) {
            if ('SecurityLayer', 'UserAuthentication', 'fAllowSecProtocolNegotiation' -contains $name) { $w.rdpTcp.Remove($name) } else { $w.rdpTcp[$name] = $null }
            return $true
        }
    } elseif (Test-RegUnder $rel $script:REG.TS) {
        $w.terminalServer[$name] = $null; return $true
    } elseif ($rel -match '^(?i)SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\([^\\]+)\\Server$') {
        $w.schannelServer[$Matches[1]].Remove($name); return $true
    } elseif (Test-RegUnder $rel $script:REG.CredSsp) {
        $w.credSsp.allowEncryptionOracle = $null; return $true
    }
    $e = $script:M.ExtraKeys[$rel.ToLowerInvariant()]
    if ($null -ne $e) { $e.Values.Remove($name) }
    return $true
}

function New-RegKey([string]$rel) {
    $script:M.RegKeys = $null
    if ($rel -match '^(?i)SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\([^\\]+)\\Server$') {
        $ver = $Matches[1]
        if ($null -eq $script:M.W.schannelServer[$ver]) { $script:M.W.schannelServer[$ver] = [ordered]@{} }
        return
    }
    [void](Get-RegExtra $rel)
}

function Get-RegDisplayPath([string]$rel) { return "HKEY_LOCAL_MACHINE\$rel" }

function New-RegItemObject([string]$rel, $values, [string[]]$names) {
    $o = [ordered]@{}
    foreach ($n in @($values.Keys)) {
        if ($names -and -not ($names | Where-Object { $_ -like $n -or $n -like $_ })) { continue }
        $o[$n] = $values[$n].Value
    }
    $parent = (Split-RegValuePath $rel)[0]
    $o.PSPath = "Microsoft.PowerShell.Core\Registry::HKEY_LOCAL_MACHINE\$rel"
    $o.PSParentPath = "Microsoft.PowerShell.Core\Registry::HKEY_LOCAL_MACHINE\$parent"
    $o.PSChildName = (Split-RegValuePath $rel)[1]
    $o.PSDrive = 'HKLM'
    $o.PSProvider = 'Microsoft.PowerShell.Core\Registry'
    return [pscustomobject]$o
}

function Write-PathNotFound($cmdlet, [string]$path, [string]$cmdType) {
    # ItemNotFoundException "Cannot find path '...' because it does not exist.", non-terminating
    # unless -ErrorAction Stop (SessionStateException.cs; the provider cmdlets write it as an error).
    $ex = [System.Management.Automation.ItemNotFoundException]::new("Cannot find path '$path' because it does not exist.")
    Write-ModelError $cmdlet ((New-ModelErrorRecord $ex "PathNotFound,Microsoft.PowerShell.Commands.$cmdType" 'ObjectNotFound' $path))
}

function Write-PropertyNotFound($cmdlet, [string]$rel, [string]$name, [string]$cmdType) {
    $ex = [System.Management.Automation.PSArgumentException]::new("Property $name does not exist at path $(Get-RegDisplayPath $rel).")
    Write-ModelError $cmdlet ((New-ModelErrorRecord $ex "System.Management.Automation.PSArgumentException,Microsoft.PowerShell.Commands.$cmdType" 'InvalidArgument' $name))
}

function Test-NotModelledPath($cmdlet, [string]$p) {
    if (-not (Get-ModelPathKind $p)) {
        $cmdlet.ThrowTerminatingError((New-ModelErrorRecord ([System.NotSupportedException]::new("model: path '$p' is outside the modelled Windows")) 'ModelPathNotSupported' 'NotImplemented' $p))
    }
}

# ---------------------------------------------------------------------------------------------
# Item cmdlets (registry part; Model.Files.ps1 and Model.Certificates.ps1 handle their drives)
# ---------------------------------------------------------------------------------------------
function Get-ItemProperty {
    [CmdletBinding(DefaultParameterSetName = 'Path')]
    param(
        [Parameter(ParameterSetName = 'Path', Mandatory, Position = 0)] [string[]]$Path,
        [Parameter(ParameterSetName = 'LiteralPath', Mandatory)] [Alias('PSPath')] [string[]]$LiteralPath,
        [Parameter(Position = 1)] [string[]]$Name
    )
    $paths = if ($PSCmdlet.ParameterSetName -eq 'Path') { $Path } else { $LiteralPath }
    foreach ($p in $paths) {
        Test-NotModelledPath $PSCmdlet $p
        $rel = ConvertTo-RegRelative $p
        if ($null -eq $rel) { throw "model: Get-ItemProperty supports registry paths only ('$p')" }
        $vals = Get-RegValues $rel
        if ($null -eq $vals) { Write-PathNotFound $PSCmdlet $p 'GetItemPropertyCommand'; continue }
        if ($Name) {
            # -Name with an absent value: "Property X does not exist at path ..." (non-terminating)
            $missing = @($Name | Where-Object { $_ -notmatch '[*?]' -and -not $vals.Contains($_) })
            foreach ($n in $missing) { Write-PropertyNotFound $PSCmdlet $rel $n 'GetItemPropertyCommand' }
            if ($missing.Count -eq $Name.Count) { continue }
        }
        New-RegItemObject $rel $vals $Name
    }
}

function Test-Path {
    [CmdletBinding(DefaultParameterSetName = 'Path')]
    param(
        [Parameter(ParameterSetName = 'Path', Mandatory, Position = 0, ValueFromPipeline)] [string[]]$Path,
        [Parameter(ParameterSetName = 'LiteralPath', Mandatory)] [Alias('PSPath')] [string[]]$LiteralPath,
        [Microsoft.PowerShell.Commands.TestPathType]$PathType = 'Any',
        [switch]$IsValid
    )
    process {
        $paths = if ($PSCmdlet.ParameterSetName -eq 'Path') { $Path } else { $LiteralPath }
        foreach ($p in $paths) {
            $kind = Get-ModelPathKind $p
            if (-not $kind) { Microsoft.PowerShell.Management\Test-Path -LiteralPath $p -PathType $PathType; continue }
            if ($IsValid) { $true; continue }
            switch ($kind) {
                'Registry' {
                    # registry keys are containers; values are not items
                    $ok = Test-RegKey (ConvertTo-RegRelative $p)
                    ($ok -and $PathType -ne 'Leaf')
                }
                'Cert' { Test-CertPath $p $PathType }
                'File' {
                    # issue #15: the attached disk's hives and BCD stores (offline runs, Model.Offline.ps1)
                    $off = Test-OfflinePath $p
                    if ($null -ne $off) { $off } else { Test-FilePath $p $PathType ($PSCmdlet.ParameterSetName -eq 'Path') }
                }
            }
        }
    }
}

function Set-ItemProperty {
    [CmdletBinding(DefaultParameterSetName = 'Path', SupportsShouldProcess)]
    param(
        [Parameter(ParameterSetName = 'Path', Mandatory, Position = 0)] [string[]]$Path,
        [Parameter(ParameterSetName = 'LiteralPath', Mandatory)] [Alias('PSPath')] [string[]]$LiteralPath,
        [Parameter(Mandatory, Position = 1)] [string]$Name,
        [Parameter(Position = 2)] [AllowNull()] $Value,
        [Microsoft.Win32.RegistryValueKind]$Type = 'Unknown',
        [switch]$Force,
        [switch]$PassThru
    )
    $paths = if ($PSCmdlet.ParameterSetName -eq 'Path') { $Path } else { $LiteralPath }
    foreach ($p in $paths) {
        Test-NotModelledPath $PSCmdlet $p
        $rel = ConvertTo-RegRelative $p
        $vals = Get-RegValues $rel
        if ($null -eq $vals) { Write-PathNotFound $PSCmdlet $p 'SetItemPropertyCommand'; continue }
        # -Type matters for a new value [S39]; without it the kind follows the .NET type
        $kind = if ($Type -ne 'Unknown') { [string]$Type } elseif ($vals.Contains($Name)) { $vals[$Name].Kind } else { Get-RegKindOf $Value }
        try { $conv = ConvertTo-RegValue $Value $kind } catch {
            Write-ModelError $PSCmdlet ((New-ModelErrorRecord ([System.ArgumentException]::new("The type of the value object did not match the specified RegistryValueKind or the object could not be properly converted.")) 'System.ArgumentException,Microsoft.PowerShell.Commands.SetItemPropertyCommand' 'InvalidArgument' $Value))
            continue
        }
        if ($PSCmdlet.ShouldProcess($p, 'Set Property')) { Set-RegValue $rel $Name $conv $kind }
        if ($PassThru) { New-RegItemObject $rel (Get-RegValues $rel) @($Name) }
    }
}

function New-ItemProperty {
    [CmdletBinding(DefaultParameterSetName = 'Path', SupportsShouldProcess)]
    param(
        [Parameter(ParameterSetName = 'Path', Mandatory, Position = 0)] [string[]]$Path,
        [Parameter(ParameterSetName = 'LiteralPath', Mandatory)] [Alias('PSPath')] [string[]]$LiteralPath,
        [Parameter(Mandatory, Position = 1)] [string]$Name,
        [Alias('Type')] [string]$PropertyType = 'String',
        [Parameter(Position = 2)] [AllowNull()] $Value,
        [switch]$Force
    )
    $paths = if ($PSCmdlet.ParameterSetName -eq 'Path') { $Path } else { $LiteralPath }
    foreach ($p in $paths) {
        Test-NotModelledPath $PSCmdlet $p
        $rel = ConvertTo-RegRelative $p
        $vals = Get-RegValues $rel
        if ($null -eq $vals) { Write-PathNotFound $PSCmdlet $p 'NewItemPropertyCommand'; continue }
        if ($vals.Contains($Name) -and -not $Force) {
            # RegistryProvider.NewProperty: "The property already exists." unless -Force
            Write-ModelError $PSCmdlet ((New-ModelErrorRecord ([System.IO.IOException]::new('The property already exists.')) 'System.IO.IOException,Microsoft.PowerShell.Commands.NewItemPropertyCommand' 'ResourceExists' $Name))
            continue
        }
        $kind = switch -Regex ($PropertyType) { '^(?i)dword$' { 'DWord' } '^(?i)qword$' { 'QWord' } '^(?i)binary$' { 'Binary' } '^(?i)multistring$' { 'MultiString' } '^(?i)expandstring$' { 'ExpandString' } default { 'String' } }
        Set-RegValue $rel $Name (ConvertTo-RegValue $Value $kind) $kind
        New-RegItemObject $rel (Get-RegValues $rel) @($Name)
    }
}

function Remove-ItemProperty {
    [CmdletBinding(DefaultParameterSetName = 'Path', SupportsShouldProcess)]
    param(
        [Parameter(ParameterSetName = 'Path', Mandatory, Position = 0)] [string[]]$Path,
        [Parameter(ParameterSetName = 'LiteralPath', Mandatory)] [Alias('PSPath')] [string[]]$LiteralPath,
        [Parameter(Mandatory, Position = 1)] [string[]]$Name,
        [switch]$Force
    )
    $paths = if ($PSCmdlet.ParameterSetName -eq 'Path') { $Path } else { $LiteralPath }
    foreach ($p in $paths) {
        Test-NotModelledPath $PSCmdlet $p
        $rel = ConvertTo-RegRelative $p
        if (-not (Test-RegKey $rel)) { Write-PathNotFound $PSCmdlet $p 'RemoveItemPropertyCommand'; continue }
        foreach ($n in $Name) {
            if (-not (Remove-RegValue $rel $n)) { Write-PropertyNotFound $PSCmdlet $rel $n 'RemoveItemPropertyCommand' }
        }
    }
}

function New-Item {
    [CmdletBinding(DefaultParameterSetName = 'pathSet', SupportsShouldProcess)]
    param(
        [Parameter(ParameterSetName = 'pathSet', Mandatory, Position = 0)] [string[]]$Path,
        [Parameter(ParameterSetName = 'nameSet', Position = 0)] [string[]]$ParentPath,
        [Parameter(ParameterSetName = 'nameSet', Mandatory)] [string]$Name,
        [Alias('Type')] [string]$ItemType,
        [Parameter(ValueFromPipeline)] $Value,
        [switch]$Force
    )
    $targets = if ($PSCmdlet.ParameterSetName -eq 'pathSet') { $Path } else { @($ParentPath | ForEach-Object { Join-Path $_ $Name }) }
    foreach ($p in $targets) {
        Test-NotModelledPath $PSCmdlet $p
        switch (Get-ModelPathKind $p) {
            'Registry' {
                $rel = ConvertTo-RegRelative $p
                if (Test-RegKey $rel) {
                    if (-not $Force) {
                        # RegistryProvider.NewItem: "A key at this path already exists."
                        Write-ModelError $PSCmdlet ((New-ModelErrorRecord ([System.IO.IOException]::new('A key at this path already exists.')) 'System.IO.IOException,Microsoft.PowerShell.Commands.NewItemCommand' 'ResourceExists' $p))
                        continue
                    }
                } else {
                    $parent = (Split-RegValuePath $rel)[0]
                    if (-not $Force -and -not (Test-RegKey $parent)) { Write-PathNotFound $PSCmdlet $p 'NewItemCommand'; continue }
                    New-RegKey $rel
                }
                [pscustomobject]@{ Name = (Get-RegDisplayPath $rel); PSPath = "Microsoft.PowerShell.Core\Registry::HKEY_LOCAL_MACHINE\$rel"; PSChildName = (Split-RegValuePath $rel)[1] }
            }
            'File' { New-ModelFile $PSCmdlet $p $ItemType $Value $Force }
            default { throw "model: New-Item on '$p' is not modelled" }
        }
    }
}

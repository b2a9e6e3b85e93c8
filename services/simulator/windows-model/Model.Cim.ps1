# CIM: Get-CimInstance (and Get-WmiObject) for the classes the scripts query.
# A class listed in the state's damage.cimClasses fails as damaged WMI does (provider load failure,
# HRESULT 0x80041013, a non-terminating CimException): SCRIPT-REVIEW A8.

function Test-CimDamaged([string]$class) {
    foreach ($c in $script:M.W.damage.cimClasses) { if ($c -eq $class) { return $true } }
    return $false
}

function Write-CimFailure($cmdlet, [string]$class, [string]$command) {
    # Microsoft.Management.Infrastructure.CimException does not exist on Linux: a COMException
    # carries the same HResult and message.
    $ex = [System.Runtime.InteropServices.COMException]::new('Provider load failure ', -2147217389)
    $id = if ($command) { "HRESULT 0x80041013,$command" } else { 'HRESULT 0x80041013,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand' }
    Write-ModelError $cmdlet ((New-ModelErrorRecord $ex $id 'NotSpecified' $class))
}

# WQL WHERE clauses the scripts use: `A = 'x'`, `A = 5`, `A LIKE '%x%'`, `A <> 'x'`, joined by OR or AND.
function Test-WqlFilter($obj, [string]$filter) {
    if (-not $filter) { return $true }
    $orParts = [regex]::Split($filter, '\s+(?i:OR)\s+')
    foreach ($op in $orParts) {
        $all = $true
        foreach ($cond in [regex]::Split($op, '\s+(?i:AND)\s+')) {
            $c = $cond.Trim().Trim('(', ')').Trim()
            if ($c -notmatch "^(\w+)\s*(=|<>|!=|(?i:LIKE))\s*('(?:[^']|'')*'|-?[0-9]+|(?i:TRUE|FALSE))$") { throw "model: WQL condition not modelled: $c" }
            $prop = $Matches[1]; $opr = $Matches[2].ToUpperInvariant(); $raw = $Matches[3]
            $val = if ($raw.StartsWith("'")) { $raw.Substring(1, $raw.Length - 2).Replace("''", "'") } else { $raw }
            $have = [string]$obj.$prop
            $ok = switch ($opr) {
                '=' { $have -eq $val }
                '<>' { $have -ne $val }
                '!=' { $have -ne $val }
                'LIKE' { $have -like ($val.Replace('%', '*').Replace('_', '?')) }
            }
            if (-not $ok) { $all = $false; break }
        }
        if ($all) { return $true }
    }
    return $false
}

function Get-CimObjects([string]$ns, [string]$class) {
    $w = $script:M.W
    $nsl = $ns.ToLowerInvariant().Replace('/', '\')
    switch ($class) {
        'Win32_OperatingSystem' {
            if ($nsl -ne 'root\cimv2') { return $null }
            return , @([pscustomobject]@{
                    PSTypeName = 'Microsoft.Management.Infrastructure.CimInstance#root/cimv2/Win32_OperatingSystem'
                    Caption = 'Microsoft Windows Server 2019 Datacenter'; Version = '10.0.17763'; BuildNumber = '17763'
                    LastBootUpTime = $script:M.Boot.ToLocalTime(); LocalDateTime = $script:M.Now.ToLocalTime()
                    SystemDrive = 'C:'
                })
        }
        'Win32_Service' {
            if ($nsl -ne 'root\cimv2') { return $null }
            Update-ModelPending
            $list = [System.Collections.Generic.List[object]]::new()
            foreach ($n in (Get-ModelServiceNames)) { $list.Add((New-Win32ServiceObject $n)) }
            return , $list.ToArray()
        }
        'Win32_ComputerSystem' {
            if ($nsl -ne 'root\cimv2') { return $null }
            # PartOfDomain true/false [S17]
            return , @([pscustomobject]@{
                    PSTypeName = 'Microsoft.Management.Infrastructure.CimInstance#root/cimv2/Win32_ComputerSystem'
                    Name = $env:COMPUTERNAME; PartOfDomain = [bool]$w.domainJoined
                    Domain = $(if ($w.domainJoined) { 'contoso.com' } else { 'WORKGROUP' })
                })
        }
        'Win32_LogicalDisk' {
            if ($nsl -ne 'root\cimv2') { return $null }
            return , @([pscustomobject]@{
                    PSTypeName = 'Microsoft.Management.Infrastructure.CimInstance#root/cimv2/Win32_LogicalDisk'
                    DeviceID = 'C:'; DriveType = [uint32]3; FreeSpace = [uint64]([double]$w.systemDrive.freeMB * 1MB); Size = [uint64](128GB)
                })
        }
        'Win32_TSGeneralSetting' {
            if ($nsl -ne 'root\cimv2\terminalservices') { return $null }
            # SSLCertificateSHA1Hash: the certificate in use: the registry binding, else the Remote
            # Desktop store's self-signed one; HashType 0 none, 1 self-signed, 3 custom [S14]
            $c = $w.rdpCertificate
            $hash = if ($w.sslCertificateSHA1Hash) { $w.sslCertificateSHA1Hash } elseif ($null -ne $c -and $c.store -eq 'Remote Desktop') { $c.thumbprint } else { '0000000000000000000000000000000000000000' }
            $type = if ($w.sslCertificateSHA1Hash) { 3 } elseif ($null -ne $c -and $c.store -eq 'Remote Desktop') { 1 } else { 0 }
            return , @([pscustomobject]@{
                    PSTypeName = 'Microsoft.Management.Infrastructure.CimInstance#root/cimv2/TerminalServices/Win32_TSGeneralSetting'
                    TerminalName = 'RDP-Tcp'; SSLCertificateSHA1Hash = $hash; SSLCertificateSHA1HashType = [uint32]$type
                    SecurityLayer = [uint32](Get-Or $w.rdpTcp 'SecurityLayer' 1); UserAuthenticationRequired = [uint32](Get-Or $w.rdpTcp 'UserAuthentication' 0)
                    MinEncryptionLevel = [uint32](Get-Or $w.rdpTcp 'MinEncryptionLevel' 2)
                })
        }
        'Win32_TerminalServiceSetting' {
            # TerminalServerMode 1 = Remote Desktop Session Host role installed, 0 = remote administration
            if ($nsl -ne 'root\cimv2\terminalservices') { return $null }
            return , @([pscustomobject]@{
                    PSTypeName = 'Microsoft.Management.Infrastructure.CimInstance#root/cimv2/TerminalServices/Win32_TerminalServiceSetting'
                    ServerName = $env:COMPUTERNAME; TerminalServerMode = [uint32]$(if ($w.rdsh.installed) { 1 } else { 0 })
                })
        }
        'RSOP_RegistryPolicySetting' {
            if ($nsl -ne 'root\rsop\computer') { return $null }
            # RSOP lists Administrative Templates registry policy, winning GPO at precedence 1 [S34];
            # Group Policy Preferences never appear here (SCRIPT-REVIEW B).
            $paths = New-Object System.Collections.ArrayList
            foreach ($p in @($w.policyManagedKeys) + @($w.policyValues.Keys)) {
                if ($p -and -not ($paths | Where-Object { $_ -eq $p })) { [void]$paths.Add($p) }
            }
            return , @($paths | ForEach-Object {
                    $kv = Split-RegValuePath $_
                    [pscustomobject]@{
                        PSTypeName = 'Microsoft.Management.Infrastructure.CimInstance#root/rsop/computer/RSOP_RegistryPolicySetting'
                        registryKey = $kv[0]; valueName = $kv[1]; precedence = [uint32]1; GPOID = 'cn={31B2F340-016D-11D2-945F-00C04FB984F9},cn=policies,cn=system,DC=contoso,DC=com'
                        valueType = [uint32]4; value = [byte[]]@(0, 0, 0, 0)
                    }
                })
        }
        default { return $null }
    }
}

function Get-CimInstance {
    [CmdletBinding(DefaultParameterSetName = 'ClassNameComputerSet')]
    param(
        [Parameter(ParameterSetName = 'ClassNameComputerSet', Mandatory, Position = 0)] [string]$ClassName,
        [Parameter(ParameterSetName = 'QuerySet', Mandatory)] [string]$Query,
        [string]$Namespace = 'root\cimv2',
        [string]$Filter,
        [uint32]$OperationTimeoutSec,
        [string[]]$Property,
        [string[]]$ComputerName,
        [switch]$KeyOnly,
        [switch]$Shallow
    )
    if ($PSCmdlet.ParameterSetName -eq 'QuerySet') {
        if ($Query -notmatch '^(?i)\s*SELECT\s+.+?\s+FROM\s+(\w+)(\s+WHERE\s+(.+))?$') { throw "model: WQL query not modelled: $Query" }
        $ClassName = $Matches[1]; $Filter = $Matches[3]
    }
    if (Test-CimDamaged $ClassName) { Write-CimFailure $PSCmdlet $ClassName $null; return }
    $objs = Get-CimObjects $Namespace $ClassName
    if ($null -eq $objs) {
        # unknown class or wrong namespace: "Invalid class" 0x80041010 / "Invalid namespace" 0x8004100E
        $ex = [System.Runtime.InteropServices.COMException]::new('Invalid class ', -2147217392)
        Write-ModelError $PSCmdlet ((New-ModelErrorRecord $ex 'HRESULT 0x80041010,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand' 'MetadataError' $ClassName))
        return
    }
    foreach ($o in $objs) { if (Test-WqlFilter $o $Filter) { $o } }
}

function Get-WmiObject {
    [CmdletBinding()]
    param([Parameter(Mandatory, Position = 0)] [Alias('ClassName')] [string]$Class, [string]$Namespace = 'root\cimv2', [string]$Filter)
    Get-CimInstance -ClassName $Class -Namespace $Namespace -Filter $Filter
}

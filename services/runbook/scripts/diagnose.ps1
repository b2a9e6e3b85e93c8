# rdp-doctor-script: diagnose
# RDP Doctor: read-only diagnosis of "An internal error has occurred" (Windows PowerShell 4.0 and 5.1, runs as SYSTEM).
# Changes nothing. Every step has its own try/catch and records an error code in "err" instead of failing.
# Prints ONE compact ASCII JSON line, last, and always exits 0 (Run Command keeps only the last 4,096 bytes).
# Since: optional start of the event window, yyyyMMddHHmmss UTC, clamped to the last 24 hours.
param(
    [string]$Since = ''
)

$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
$VerbosePreference = 'SilentlyContinue'
if ($PSVersionTable.PSVersion.Major -lt 6) {
    # Windows PowerShell wraps some arrays as {"value":[...],"Count":n} in ConvertTo-Json
    Remove-TypeData -TypeName System.Array -ErrorAction SilentlyContinue
}
$inv = [System.Globalization.CultureInfo]::InvariantCulture
$errs = New-Object System.Collections.ArrayList

function Add-Err([string]$code) {
    if ($errs.Count -lt 5 -and -not $errs.Contains($code)) {
        [void]$errs.Add($code)
    }
}

# HResult of a caught error. An exception thrown by a .NET method reaches the script wrapped in a
# MethodInvocationException whose own HResult is not the cause's: use the inner one (SCRIPT-REVIEW A1).
function Get-Hex($e) {
    try {
        $x = $e.Exception
        if ($null -ne $x.InnerException) {
            $x = $x.InnerException
        }
        return ('{0:X8}' -f $x.HResult)
    } catch {
        return 'x'
    }
}

# CAPI machine key file name of a key container: MD5 of the lower-case name with its terminating NUL,
# as four little-endian DWORDs in hex, "_", MachineGuid (TSSecKeySet1 -> f686aace6942fb7f7ceb231212eef4a4_<guid>).
function Get-CapiName([string]$container, [string]$guid) {
    try {
        $md5 = [System.Security.Cryptography.MD5]::Create()
        $h = $md5.ComputeHash([System.Text.Encoding]::ASCII.GetBytes($container.ToLowerInvariant() + [char]0))
        $t = ''
        for ($i = 0; $i -lt 16; $i += 4) {
            for ($j = 3; $j -ge 0; $j--) {
                $t += $h[$i + $j].ToString('x2')
            }
        }
        return ($t + '_' + $guid)
    } catch {
        return $null
    }
}

function Format-Utc($d) {
    if ($null -eq $d) {
        return $null
    }
    return ([datetime]$d).ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", $inv)
}

function Get-Clean([string]$s) {
    $t = $s -replace '[^A-Za-z0-9._$ -]', '_'
    if ($t.Length -gt 32) {
        $t = $t.Substring(0, 32)
    }
    return $t
}

function Get-Dword($obj, [string]$name) {
    if ($null -eq $obj) {
        return $null
    }
    $x = $obj.$name
    if ($null -eq $x) {
        return $null
    }
    try {
        return [int]$x
    } catch {
        return $null
    }
}

# FileSystemRights -> the strongest of F, M, RX, R the ACE fully contains; W = Write without Read; else special.
# Generic bits (inherited templates) are mapped to their file-specific rights first.
function Get-Right([long]$m) {
    if (($m -band 268435456) -ne 0) { $m = $m -bor 2032127 }
    if (($m -band 2147483648) -ne 0) { $m = $m -bor 1179785 }
    if (($m -band 1073741824) -ne 0) { $m = $m -bor 1179926 }
    if (($m -band 536870912) -ne 0) { $m = $m -bor 1179808 }
    $m = $m -bor 1048576
    if (($m -band 2032127) -eq 2032127) { return 'F' }
    if (($m -band 1245631) -eq 1245631) { return 'M' }
    if (($m -band 1179817) -eq 1179817) { return 'RX' }
    if (($m -band 1179785) -eq 1179785) { return 'R' }
    if (($m -band 278) -eq 278) { return 'W' }
    return 'special'
}

# ACL as SID:right (never localized names). Deny ACEs get ":deny"; a Deny that includes ReadData is reported as R.
# Inherit-only ACEs do not apply to the object itself and are skipped. Denies and the SIDs the runbook reads go first.
function Get-AclList([string]$path) {
    $first = New-Object System.Collections.ArrayList
    $rest = New-Object System.Collections.ArrayList
    $known = @('S-1-5-20', 'S-1-5-11', 'S-1-1-0', 'S-1-5-18', 'S-1-5-32-544')
    $acl = Get-Acl -LiteralPath $path -ErrorAction Stop
    foreach ($r in $acl.GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier])) {
        if (([int]$r.PropagationFlags -band 2) -ne 0) {
            continue
        }
        $m = ([long]$r.FileSystemRights.value__) -band 4294967295
        $right = Get-Right $m
        $sid = [string]$r.IdentityReference.Value
        # a SID is S-1-<digits and dashes>; a long (capability) SID is clipped to the schema's 64 characters (A11)
        if ($sid -notmatch '^S-1-[0-9-]+$') {
            continue
        }
        if ($sid.Length -gt 64) {
            $sid = $sid.Substring(0, 64)
        }
        $deny = ([string]$r.AccessControlType -eq 'Deny')
        if ($deny -and (($m -band 1) -ne 0) -and ($right -eq 'W' -or $right -eq 'special')) {
            $right = 'R'
        }
        $e = '{0}:{1}' -f $sid, $right
        if ($deny) {
            $e = $e + ':deny'
        }
        if ($first.Contains($e) -or $rest.Contains($e)) {
            continue
        }
        if ($deny -or ($known -contains $sid)) {
            [void]$first.Add($e)
        } else {
            [void]$rest.Add($e)
        }
    }
    return ,@(@($first) + @($rest) | Select-Object -First 5)
}

function Get-Events([hashtable]$filter, [int]$max) {
    try {
        return @(Get-WinEvent -FilterHashtable $filter -MaxEvents $max -ErrorAction Stop)
    } catch {
        if ([string]$_.FullyQualifiedErrorId -like 'NoMatchingEventsFound*') {
            return @()
        }
        throw
    }
}

$now = (Get-Date).ToUniversalTime()
$from = $now.AddHours(-24)
if ($Since -match '^[0-9]{14}$') {
    try {
        $styles = [System.Globalization.DateTimeStyles]'AssumeUniversal, AdjustToUniversal'
        $s = [datetime]::ParseExact($Since, 'yyyyMMddHHmmss', $inv, $styles)
        if ($s -gt $from -and $s -lt $now) {
            $from = $s
        }
    } catch {
        Add-Err 'since'
    }
}

$boot = $null
try {
    $boot = Format-Utc (Get-CimInstance -ClassName Win32_OperatingSystem -OperationTimeoutSec 30 -ErrorAction Stop).LastBootUpTime
} catch {
    Add-Err 'boot'
}

# RDP-Tcp listener settings: port, certificate binding, security values
$ts = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
$tsv = $null
$port = $null
$rdpTcp = $null
try {
    $tsv = Get-ItemProperty -LiteralPath $ts -ErrorAction Stop
    $port = Get-Dword $tsv 'PortNumber'
    if ($null -eq $port -or $port -lt 1 -or $port -gt 65535) {
        $port = 3389
        Add-Err 'portdefault'
    }
    $rdpTcp = [ordered]@{
        SecurityLayer = (Get-Dword $tsv 'SecurityLayer')
        UserAuthentication = (Get-Dword $tsv 'UserAuthentication')
        fAllowSecProtocolNegotiation = (Get-Dword $tsv 'fAllowSecProtocolNegotiation')
    }
} catch {
    Add-Err ('rdptcp:' + (Get-Hex $_))
}

# Who listens on the RDP port, and which services each listening process hosts
$listeners = $null
if ($port) {
    try {
        $pids = @()
        if (Get-Command -Name Get-NetTCPConnection -ErrorAction SilentlyContinue) {
            # zero matches is the non-terminating CmdletizationQuery_NotFound_LocalPort error; any other
            # error (damaged WMI) must not read as "nothing listens" (A8)
            $tcpErr = $null
            $pids = @(Get-NetTCPConnection -LocalPort $port -State Listen -ErrorAction SilentlyContinue -ErrorVariable tcpErr | Select-Object -ExpandProperty OwningProcess)
            foreach ($e in @($tcpErr)) {
                if ([string]$e.FullyQualifiedErrorId -notlike 'CmdletizationQuery_NotFound*') {
                    throw $e
                }
            }
        } else {
            foreach ($line in @(netstat.exe -ano)) {
                if ($line -match '^\s*TCP\s+\S+:([0-9]+)\s+(0\.0\.0\.0:0|\[::\]:0)\s+\S+\s+([0-9]+)\s*$') {
                    if ([int]$Matches[1] -eq $port) {
                        $pids += [int]$Matches[3]
                    }
                }
            }
        }
        $list = New-Object System.Collections.ArrayList
        foreach ($p in @($pids | Sort-Object -Unique | Select-Object -First 3)) {
            $proc = '?'
            try {
                $proc = (Get-Process -Id $p -ErrorAction Stop).ProcessName
            } catch {
                $proc = '?'
            }
            $names = @()
            try {
                $names = @(Get-CimInstance -ClassName Win32_Service -Filter ('ProcessId={0}' -f [int]$p) -OperationTimeoutSec 30 -ErrorAction Stop | Select-Object -ExpandProperty Name)
            } catch {
                Add-Err 'listen:svc'
            }
            $sorted = @(@($names | Where-Object { $_ -eq 'TermService' }) + @($names | Where-Object { $_ -ne 'TermService' } | Sort-Object))
            $svc = @($sorted | Select-Object -First 3 | ForEach-Object { Get-Clean ([string]$_) })
            [void]$list.Add([ordered]@{ pid = [int]$p; proc = (Get-Clean ([string]$proc)); svc = $svc })
        }
        $listeners = @($list)
    } catch {
        $listeners = $null
        Add-Err ('listen:' + (Get-Hex $_))
    }
}

# TermService, SessionEnv, UmRdpService: state and start mode
$services = $null
try {
    $found = @(Get-CimInstance -ClassName Win32_Service -Filter "Name='TermService' OR Name='SessionEnv' OR Name='UmRdpService'" -OperationTimeoutSec 30 -ErrorAction Stop)
    $services = [ordered]@{}
    foreach ($n in 'TermService', 'SessionEnv', 'UmRdpService') {
        $s = $found | Where-Object { $_.Name -eq $n } | Select-Object -First 1
        if ($s) {
            $st = Get-Clean ([string]$s.State)
            $sm = Get-Clean ([string]$s.StartMode)
            if ($st.Length -gt 16) {
                $st = $st.Substring(0, 16)
            }
            if ($sm.Length -gt 16) {
                $sm = $sm.Substring(0, 16)
            }
            $services[$n] = [ordered]@{ state = $st; start = $sm }
        } else {
            $services[$n] = $null
        }
    }
} catch {
    $services = $null
    Add-Err ('svc:' + (Get-Hex $_))
}

# RDP certificate: the one SSLCertificateSHA1Hash names (Remote Desktop store, then My), else the Remote Desktop store's newest
$cert = $null
$sslHash = $null
$keyPath = $null
try {
    if ($null -ne $tsv -and $null -ne $tsv.SSLCertificateSHA1Hash) {
        $rawHash = $tsv.SSLCertificateSHA1Hash
        if ($rawHash -is [string]) {
            $sslHash = ($rawHash -replace '[^0-9A-Fa-f]', '').ToUpperInvariant()
        } else {
            $sslHash = ([BitConverter]::ToString([byte[]]$rawHash)) -replace '-', ''
        }
        if ($sslHash.Length -gt 64) {
            $sslHash = $sslHash.Substring(0, 64)
        }
        if ($sslHash.Length -eq 0) {
            $sslHash = $null
        }
    }
    $rd = @(Get-ChildItem -LiteralPath 'Cert:\LocalMachine\Remote Desktop' -ErrorAction SilentlyContinue)
    $my = @(Get-ChildItem -LiteralPath 'Cert:\LocalMachine\My' -ErrorAction SilentlyContinue)
    $want = $sslHash
    if (-not $want) {
        try {
            $w = Get-CimInstance -Namespace 'root\cimv2\TerminalServices' -ClassName Win32_TSGeneralSetting -Filter "TerminalName='RDP-Tcp'" -OperationTimeoutSec 30 -ErrorAction Stop | Select-Object -First 1
            if ($w) {
                $want = [string]$w.SSLCertificateSHA1Hash
            }
        } catch {
            Add-Err 'certwmi'
        }
    }
    $c = $null
    $store = $null
    if ($want) {
        $c = $rd | Where-Object { $_.Thumbprint -eq $want } | Select-Object -First 1
        if ($c) {
            $store = 'Remote Desktop'
        } else {
            $c = $my | Where-Object { $_.Thumbprint -eq $want } | Select-Object -First 1
            if ($c) {
                $store = 'My'
            }
        }
    }
    if (-not $c -and $rd.Count -gt 0) {
        $c = $rd | Sort-Object -Property NotAfter -Descending | Select-Object -First 1
        $store = 'Remote Desktop'
    }
    if ($c) {
        $keyFile = $false
        if ($c.HasPrivateKey) {
            # HasPrivateKey reads certificate properties only: find the key file itself (CAPI and CNG names)
            $names = @()
            $noKeyset = $false
            try {
                # the getter method, not the property: a property read turns the exception into $null
                # (about_Operators); the method's MethodInvocationException carries it (A1)
                $pk = $c.get_PrivateKey()
                if ($pk) {
                    $n = $pk.CspKeyContainerInfo.UniqueKeyContainerName
                    if ($n) {
                        $names += [string]$n
                    }
                }
            } catch {
                if ((Get-Hex $_) -eq '80090016') {
                    $noKeyset = $true
                }
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
                if ((Get-Hex $_) -eq '80090016') {
                    $noKeyset = $true
                }
            }
            if (-not $noKeyset -and $names.Count -eq 0) {
                # SYSTEM could not open the key (its ACL may shut SYSTEM out): name the file from the key's
                # container instead (A2). certutil prints the key-provider info without opening the key; every
                # value is tried (labels are localized), plus the self-signed RDP key's container TSSecKeySet1.
                try {
                    $guid = [string](Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Cryptography' -Name MachineGuid -ErrorAction Stop).MachineGuid
                    $cands = @()
                    foreach ($line in @(certutil.exe -store -v $store ([string]$c.Thumbprint) 2>$null)) {
                        foreach ($m in [regex]::Matches([string]$line, '[0-9a-fA-F]{32}_[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}')) {
                            $cands += $m.Value
                        }
                        if ([string]$line -match '[=:]\s*(\S.{0,126})$') {
                            $cands += (Get-CapiName $Matches[1].Trim() $guid)
                        }
                    }
                    if ($store -eq 'Remote Desktop') {
                        $cands += ('f686aace6942fb7f7ceb231212eef4a4_' + $guid)
                    }
                    foreach ($x in $cands) {
                        if ($x -and -not ($names -contains $x)) {
                            $names += $x
                        }
                    }
                } catch {
                    Add-Err 'keyprov'
                }
            }
            $dirs = @((Join-Path $env:ProgramData 'Microsoft\Crypto\RSA\MachineKeys'), (Join-Path $env:ProgramData 'Microsoft\Crypto\Keys'))
            foreach ($n in $names) {
                foreach ($d in $dirs) {
                    if ($keyPath) {
                        continue
                    }
                    try {
                        $p = $n
                        if (-not [System.IO.Path]::IsPathRooted($n)) {
                            $p = Join-Path $d $n
                        }
                        if (Test-Path -LiteralPath $p -PathType Leaf) {
                            $keyPath = $p
                        }
                    } catch {
                        Add-Err 'keypath'
                    }
                }
            }
            if ($keyPath) {
                $keyFile = $true
            } elseif ($noKeyset -or $names.Count -gt 0) {
                $keyFile = $false
            } else {
                $keyFile = $null
                Add-Err 'keyname'
            }
        }
        $cert = [ordered]@{
            thumb = ([string]$c.Thumbprint).ToUpperInvariant()
            notAfter = (Format-Utc $c.NotAfter)
            hasKey = [bool]$c.HasPrivateKey
            store = $store
            keyFile = $keyFile
        }
    }
} catch {
    $cert = $null
    Add-Err ('cert:' + (Get-Hex $_))
}

# ACLs of the MachineKeys folder and of the RDP certificate's key file
$mkAcl = $null
try {
    $mkAcl = Get-AclList (Join-Path $env:ProgramData 'Microsoft\Crypto\RSA\MachineKeys')
} catch {
    Add-Err ('mkacl:' + (Get-Hex $_))
}
$keyAcl = $null
if ($keyPath) {
    try {
        $keyAcl = Get-AclList $keyPath
    } catch {
        Add-Err ('keyacl:' + (Get-Hex $_))
    }
}

# SCHANNEL server protocol values; null = value absent (the OS default applies)
$tls = $null
try {
    $base = 'HKLM:\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols'
    $tls = [ordered]@{}
    foreach ($p in 'TLS 1.0', 'TLS 1.1', 'TLS 1.2') {
        $v = Get-ItemProperty -LiteralPath ('{0}\{1}\Server' -f $base, $p) -ErrorAction SilentlyContinue
        $tls[$p] = [ordered]@{ Enabled = (Get-Dword $v 'Enabled'); DisabledByDefault = (Get-Dword $v 'DisabledByDefault') }
    }
} catch {
    $tls = $null
    Add-Err ('tls:' + (Get-Hex $_))
}

# Windows Firewall rule, by its non-localized Name, in the effective (ActiveStore) policy
$fw = $null
try {
    if (Get-Command -Name Get-NetFirewallRule -ErrorAction SilentlyContinue) {
        # a missing rule is the non-terminating CmdletizationQuery_NotFound_Name error; any other error
        # (firewall service stopped, damaged WMI) must not read as "rule missing" (A8)
        $fwErr = $null
        $rule = Get-NetFirewallRule -Name 'RemoteDesktop-UserMode-In-TCP' -PolicyStore ActiveStore -ErrorAction SilentlyContinue -ErrorVariable fwErr | Select-Object -First 1
        foreach ($e in @($fwErr)) {
            if ([string]$e.FullyQualifiedErrorId -notlike 'CmdletizationQuery_NotFound*') {
                throw $e
            }
        }
        if ($rule) {
            $pf = Get-NetFirewallPortFilter -AssociatedNetFirewallRule $rule -PolicyStore ActiveStore -ErrorAction Stop
            $ports = @(@($pf.LocalPort) | Select-Object -First 4 | ForEach-Object { $x = Get-Clean ([string]$_); if ($x.Length -gt 16) { $x = $x.Substring(0, 16) }; $x })
            $fw = [ordered]@{ found = $true; enabled = ([string]$rule.Enabled -eq 'True'); ports = $ports }
        } else {
            $fw = [ordered]@{ found = $false; enabled = $false; ports = @() }
        }
    } else {
        Add-Err 'fw:nocmd'
    }
} catch {
    $fw = $null
    Add-Err ('fw:' + (Get-Hex $_))
}

$domain = $null
try {
    $domain = [bool](Get-CimInstance -ClassName Win32_ComputerSystem -OperationTimeoutSec 30 -ErrorAction Stop).PartOfDomain
} catch {
    Add-Err 'domain'
}

# Policy-owned values: the Terminal Services policy key (overrides RDP-Tcp), the SSL cipher-order policy,
# and SCHANNEL values that RSOP reports as set by Group Policy (Administrative Templates only; Preferences are not in RSOP)
$policy = New-Object System.Collections.ArrayList
function Add-Policy([string]$entry) {
    $e = $entry -replace '[^A-Za-z0-9 ._=\\-]', '_'
    if ($e.Length -gt 48) {
        $e = $e.Substring(0, 48)
    }
    if ($policy.Count -lt 6 -and -not $policy.Contains($e)) {
        [void]$policy.Add($e)
    }
}
try {
    $gp = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services' -ErrorAction SilentlyContinue
    foreach ($n in 'UserAuthentication', 'SecurityLayer', 'MinEncryptionLevel', 'fDenyTSConnections') {
        $x = Get-Dword $gp $n
        if ($null -ne $x) {
            Add-Policy ('TS\{0}={1}' -f $n, $x)
        }
    }
    if (Test-Path -LiteralPath 'HKLM:\SOFTWARE\Policies\Microsoft\Cryptography\Configuration\SSL\00010002') {
        Add-Policy 'SSL\00010002'
    }
} catch {
    Add-Err 'policy'
}
$rsop = 'none'
try {
    $rs = @(Get-CimInstance -Namespace 'root\rsop\computer' -ClassName RSOP_RegistryPolicySetting -Filter "registryKey LIKE '%SCHANNEL%'" -OperationTimeoutSec 30 -ErrorAction Stop)
    $rsop = 'ok'
    foreach ($s in $rs) {
        $k = [string]$s.registryKey
        $i = $k.IndexOf('Protocols\')
        if ($s.precedence -eq 1 -and $s.valueName -and $i -ge 0) {
            Add-Policy ('SCHANNEL\{0}\{1}' -f $k.Substring($i + 10), $s.valueName)
        }
    }
} catch {
    $rsop = 'error'
}

# Event counts in the window (default: last 24 hours); -MaxEvents caps the cost, a count equal to the cap means "at least"
$events = [ordered]@{ '1057' = $null; '1058' = $null; '1006' = $null; '36870' = $null; '36871' = $null; '36872' = $null; '4625' = $null }
$logons = $null
$start = $from.ToLocalTime()
$rcm = 'Microsoft-Windows-TerminalServices-RemoteConnectionManager'
try {
    # by log name: a query by provider alone reads every log the provider is linked to, and one
    # misconfigured link fails it (GetWinEventCommand, A10). 1006 is modelled in System [S].
    $list = @(Get-Events @{ LogName = 'System'; ProviderName = $rcm; Id = 1057, 1058, 1006; StartTime = $start } 2000)
    foreach ($id in 1057, 1058, 1006) {
        $events[[string]$id] = @($list | Where-Object { $_.Id -eq $id }).Count
    }
} catch {
    Add-Err 'ev:rcm'
}
try {
    $list = @(Get-Events @{ LogName = 'System'; ProviderName = 'Schannel'; Id = 36870, 36871, 36872; StartTime = $start } 2000)
    foreach ($id in 36870, 36871, 36872) {
        $events[[string]$id] = @($list | Where-Object { $_.Id -eq $id }).Count
    }
} catch {
    Add-Err 'ev:schannel'
}
try {
    $list = @(Get-Events @{ LogName = 'Security'; Id = 4625; StartTime = $start } 5000)
    # failed logons over the network: logon type 3 (with NLA) or 10 (RemoteInteractive); data index 10 =
    # LogonType, 19 = IpAddress [S22]. Console (2) and service failures are not remote (A9).
    $net = @($list | Where-Object { $t = [string]$_.Properties[10].Value; $t -eq '3' -or $t -eq '10' })
    $events['4625'] = $net.Count
    $ips = New-Object System.Collections.Specialized.OrderedDictionary
    foreach ($e in $net) {
        $ip = [string]$e.Properties[19].Value
        if ($ip -match '^[0-9A-Fa-f:.]{1,45}$') {
            $ips[$ip] = 1 + [int]$ips[$ip]
        }
    }
    if ($ips.Count -eq 0 -and $net.Count -gt 0) {
        # under NLA the source address is "-": RdpCoreTS 140 names the client address [S]
        try {
            foreach ($e in @(Get-Events @{ LogName = 'Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational'; Id = 140; StartTime = $start } 5000)) {
                $ip = [string]$e.Properties[0].Value
                if ($ip -match '^[0-9A-Fa-f:.]{1,45}$') {
                    $ips[$ip] = 1 + [int]$ips[$ip]
                }
            }
        } catch {
            Add-Err 'ev:140'
        }
    }
    # most failures first; ties in order of the newest event (deterministic)
    $rank = 0
    $order = @(foreach ($k in $ips.Keys) {
            New-Object PSObject -Property @{ ip = [string]$k; count = [int]$ips[$k]; rank = $rank }
            $rank++
        })
    $logons = @($order | Sort-Object -Property @{ Expression = 'count'; Descending = $true }, @{ Expression = 'rank'; Descending = $false } | Select-Object -First 5 | ForEach-Object { [ordered]@{ ip = $_.ip; count = $_.count } })
} catch {
    Add-Err 'ev:4625'
}

# --- S1b: guest firewall, domain, CredSSP, licensing, disk ---
# Guest firewall: the active profile (Get-NetConnectionProfile NetworkCategory; DomainAuthenticated = Domain),
# its Enabled / "block all incoming" (AllowInboundRules False) / DefaultInboundAction, and the enabled inbound
# Allow rules of the ActiveStore (Group Policy included) whose profile includes the active one and whose port
# filter covers TCP to the RDP port [S26]. One Get-NetFirewallPortFilter -All, joined by InstanceID: no per-rule query.
$host1b = [ordered]@{ fw = $null; sc = $null; ao = $null; rdsh = $null; mb = $null; aud = $null }
try {
    $cat = [string](@(Get-NetConnectionProfile -ErrorAction Stop | Select-Object -ExpandProperty NetworkCategory) | Select-Object -First 1)
    $act = 'Public'
    if ($cat -like 'Domain*') { $act = 'Domain' } elseif ($cat -eq 'Private') { $act = 'Private' }
    $prof = Get-NetFirewallProfile -Name $act -PolicyStore ActiveStore -ErrorAction Stop | Select-Object -First 1
    $pp = [string]$port
    $filters = @{}
    foreach ($f in @(Get-NetFirewallPortFilter -All -PolicyStore ActiveStore -ErrorAction Stop)) {
        $pr = [string]$f.Protocol
        if ($pr -ne 'TCP' -and $pr -ne 'Any' -and $pr -ne '6') { continue }
        foreach ($lp in @($f.LocalPort)) {
            $x = [string]$lp
            $ok = ($x -eq 'Any')
            if ($x -match '^([0-9]+)-([0-9]+)$') { $ok = ([int]$Matches[1] -le $port -and [int]$Matches[2] -ge $port) }
            if ($ok -or $x -eq $pp) { $filters[[string]$f.InstanceID] = $true }
        }
    }
    $nAllow = 0
    foreach ($r in @(Get-NetFirewallRule -PolicyStore ActiveStore -ErrorAction Stop)) {
        if ([string]$r.Enabled -ne 'True' -or [string]$r.Direction -ne 'Inbound' -or [string]$r.Action -ne 'Allow') { continue }
        $rp = [string]$r.Profile
        if ($rp -ne 'Any' -and -not (@($rp -split ',\s*') -contains $act)) { continue }
        if ($filters.ContainsKey([string]$r.Name)) { $nAllow++ }
    }
    $host1b.fw = [ordered]@{ p = $act; on = ([string]$prof.Enabled -eq 'True'); blk = ([string]$prof.AllowInboundRules -eq 'False'); def = $(if ([string]$prof.DefaultInboundAction -eq 'Allow') { 'Allow' } else { 'Block' }); n = $nAllow }
} catch {
    Add-Err 'hfw'
}
# Secure channel, domain members only; Test-ComputerSecureChannel can hang when no DC answers: a job, 30 s at most
if ($domain) {
    try {
        $job = Start-Job -ScriptBlock { Test-ComputerSecureChannel -ErrorAction Stop }
        if (Wait-Job -Job $job -Timeout 30) {
            $host1b.sc = [bool](@(Receive-Job -Job $job -ErrorAction Stop) | Select-Object -Last 1)
        } else {
            Add-Err 'hsc:timeout'
            Stop-Job -Job $job -ErrorAction SilentlyContinue
        }
        Remove-Job -Job $job -Force -ErrorAction SilentlyContinue
    } catch {
        Add-Err 'hsc'
    }
}
# CredSSP policy value (absent = 1, Mitigated); RD Session Host licensing: TerminalServerMode 1 = RDSH role,
# GetSpecifiedLicenseServerList, GetGracePeriodDays (0 = over) of Win32_TerminalServiceSetting
try {
    $cs = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\CredSSP\Parameters' -ErrorAction SilentlyContinue
    $host1b.ao = Get-Dword $cs 'AllowEncryptionOracle'
    $tss = Get-CimInstance -Namespace 'root\cimv2\TerminalServices' -ClassName Win32_TerminalServiceSetting -OperationTimeoutSec 30 -ErrorAction Stop | Select-Object -First 1
    if ($tss -and [int]$tss.TerminalServerMode -eq 1) {
        $ls = @((Invoke-CimMethod -InputObject $tss -MethodName GetSpecifiedLicenseServerList -OperationTimeoutSec 30 -ErrorAction Stop).SpecifiedLSList | Where-Object { $_ })
        $gd = (Invoke-CimMethod -InputObject $tss -MethodName GetGracePeriodDays -OperationTimeoutSec 30 -ErrorAction Stop).DaysLeft
        $host1b.rdsh = [ordered]@{ ls = $ls.Count; gd = $(if ($null -eq $gd) { $null } else { [int]$gd }) }
    }
} catch {
    Add-Err 'hrdsh'
}
# Free space on the system drive (Win32_LogicalDisk, MB)
try {
    $sd = $env:SystemDrive
    if (-not $sd) { $sd = 'C:' }
    $ld = Get-CimInstance -ClassName Win32_LogicalDisk -Filter ("DeviceID='{0}'" -f $sd) -OperationTimeoutSec 30 -ErrorAction Stop | Select-Object -First 1
    if ($ld) { $host1b.mb = [int]([math]::Floor([double]$ld.FreeSpace / 1048576)) }
} catch {
    Add-Err 'hdisk'
}
# Failed-logon auditing: "auditpol /get /subcategory:{GUID} /r" prints CSV (Machine Name,Policy Target,Subcategory,
# Subcategory GUID,Inclusion Setting,Exclusion Setting); Logon = {0CCE9215-...}. The setting is text, English
# words only are read (localized Windows: null, "unknown") [S]
try {
    $apArgs = @('/get', '/subcategory:{0CCE9215-69AE-11D9-BED3-505054503030}', '/r')
    $ap = @(& auditpol.exe @apArgs 2>$null | Where-Object { [string]$_ -match '0CCE9215' })
    if ($ap.Count -gt 0) {
        $sv = ([string]$ap[0]).Split(',')
        if ($sv.Count -ge 5) {
            $inc = $sv[4].Trim()
            if ($inc -match 'Failure') { $host1b.aud = $true } elseif ($inc -eq 'Success' -or $inc -eq 'No Auditing') { $host1b.aud = $false }
        }
    }
} catch {
    Add-Err 'haud'
}
# --- end S1b ---

$out = [ordered]@{
    v = 1
    id = 'diagnose'
    ps = ('{0}.{1}' -f $PSVersionTable.PSVersion.Major, $PSVersionTable.PSVersion.Minor)
    at = (Format-Utc $now)
    since = (Format-Utc $from)
    boot = $boot
    port = $port
    listeners = $listeners
    services = $services
    cert = $cert
    sslHash = $sslHash
    mkAcl = $mkAcl
    keyAcl = $keyAcl
    tls = $tls
    rdpTcp = $rdpTcp
    fw = $fw
    domain = $domain
    policy = @($policy)
    rsop = $rsop
    events = $events
    logons = $logons
    host = $host1b
    err = @($errs)
}
# --- CONTRACTS 1b: remote desktop switched off, TermService config ---
# rs: Terminal Server fDenyTSConnections/TSEnabled/TSServerDrainMode, the Terminal Services policy's
# fDenyTSConnections (it wins), RDP-Tcp fEnableWinStation/fLogonDisabled (null = absent: Windows' default),
# TermService's account (Win32_Service.StartName), and Service Control Manager 7031/7034 naming TermService.
$rs = [ordered]@{ dn = $null; gdn = $null; en = $null; dr = $null; ws = (Get-Dword $tsv 'fEnableWinStation'); ld = (Get-Dword $tsv 'fLogonDisabled'); acct = $null; crash = $null }
try {
    $tsk = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server' -ErrorAction Stop
    $rs.dn = Get-Dword $tsk 'fDenyTSConnections'
    $rs.en = Get-Dword $tsk 'TSEnabled'
    $rs.dr = Get-Dword $tsk 'TSServerDrainMode'
    $gpk = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services' -ErrorAction SilentlyContinue
    $rs.gdn = Get-Dword $gpk 'fDenyTSConnections'
} catch {
    Add-Err 'rsreg'
}
# 7031/7034 carry the service's display name (localized): compare with the VM's own, and the English one
$tsNames = @('TermService', 'Remote Desktop Services')
try {
    $tss = Get-CimInstance -ClassName Win32_Service -Filter "Name='TermService'" -OperationTimeoutSec 30 -ErrorAction Stop | Select-Object -First 1
    if ($tss) {
        $tsNames += [string]$tss.DisplayName
        if ($tss.StartName) {
            $a = ([string]$tss.StartName) -replace '[^A-Za-z0-9 ._$@\\-]', '_'
            if ($a.Length -gt 40) {
                $a = $a.Substring(0, 40)
            }
            $rs.acct = $a
        }
    }
} catch {
    Add-Err 'rsacct'
}
try {
    $scm = @(Get-Events @{ LogName = 'System'; ProviderName = 'Service Control Manager'; Id = 7031, 7034; StartTime = $start } 2000)
    $rs.crash = @($scm | Where-Object { $tsNames -contains [string]$_.Properties[0].Value }).Count
} catch {
    Add-Err 'ev:scm'
}
$out.rs = $rs
$out.err = @($errs)
# --- end CONTRACTS 1b: remote desktop switched off, TermService config ---
try {
    $json = ConvertTo-Json -InputObject $out -Depth 6 -Compress
    if ($json.Length -gt 3500) {
        # never let the 4,096-byte tail cut the line: drop the optional lists first
        $out.logons = $null
        $out.keyAcl = $null
        $out.mkAcl = $null
        $json = ConvertTo-Json -InputObject $out -Depth 6 -Compress
    }
} catch {
    $json = '{"v":1,"id":"diagnose","fatal":"json"}'
}
Write-Output $json
exit 0

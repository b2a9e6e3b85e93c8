# The modelled Windows' own behaviours, each with the source it is modelled from (see the comments
# in services/simulator/windows-model/*.ps1). Probes run as scripts under the runner, like the
# project's scripts, and print one JSON line of observations.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $probe = Join-Path ([System.IO.Path]::GetTempPath()) "model-probe-$([guid]::NewGuid().ToString('N')).ps1"
    Set-Content -LiteralPath $probe -Value @'
param([string]$Case = '')
$o = [ordered]@{}
function Hex($e) { $x = $e.Exception; if ($x.InnerException) { $x = $x.InnerException }; '{0:X8}' -f $x.HResult }
switch ($Case) {
    'privatekey' {
        $c = @(Get-ChildItem -LiteralPath 'Cert:\LocalMachine\Remote Desktop')[0]
        $o.property = ($null -eq $c.PrivateKey)
        try { $null = $c.get_PrivateKey(); $o.method = 'none' } catch { $o.method = $_.Exception.GetType().Name; $o.inner = Hex $_ }
    }
    'registry' {
        $ts = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
        $v = Get-ItemProperty -LiteralPath $ts
        $o.port = $v.PortNumber.GetType().Name
        $o.missingValue = ($null -eq $v.NoSuchValue)
        Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\NoSuchKey' -ErrorAction SilentlyContinue -ErrorVariable e1
        $o.missingKey = [string]$e1[0].FullyQualifiedErrorId
        try { Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\NoSuchKey' -ErrorAction Stop; $o.stop = 'no' } catch { $o.stop = $_.Exception.GetType().Name }
        Set-ItemProperty -LiteralPath $ts -Name SSLCertificateSHA1Hash -Value ([byte[]](1, 2, 255)) -Type Binary
        $o.hash = [BitConverter]::ToString((Get-ItemProperty -LiteralPath $ts).SSLCertificateSHA1Hash)
        New-Item -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.3\Server' -Force | Out-Null
        New-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.3\Server' -Name Enabled -Value 1 -PropertyType DWord -Force | Out-Null
        Remove-ItemProperty -LiteralPath $ts -Name SSLCertificateSHA1Hash
        Remove-ItemProperty -LiteralPath $ts -Name SSLCertificateSHA1Hash -ErrorAction SilentlyContinue -ErrorVariable e2
        $o.removeMissing = [string]$e2[0].Exception.GetType().Name
    }
    'icacls' {
        $mk = 'C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys'
        $null = icacls.exe $mk /grant '*S-1-5-18:(F)'
        $o.grant = $LASTEXITCODE
        $o.rules = @((Get-Acl -LiteralPath $mk).GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier]) | ForEach-Object { '{0}:{1}' -f $_.IdentityReference.Value, $_.AccessControlType })
        $null = icacls.exe $mk /remove:d '*S-1-5-18'
        $o.afterRemove = @((Get-Acl -LiteralPath $mk).GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier]) | ForEach-Object { '{0}:{1}' -f $_.IdentityReference.Value, $_.AccessControlType })
    }
    'icaclsDenied' {
        $mk = 'C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys'
        $null = icacls.exe $mk /grant '*S-1-5-18:(F)'
        $o.before = $LASTEXITCODE
        $null = takeown.exe /f $mk /a
        $null = icacls.exe $mk /grant '*S-1-5-18:(F)'
        $o.after = $LASTEXITCODE
    }
    'events' {
        Get-WinEvent -FilterHashtable @{ LogName = 'System'; Id = 1057 } -ErrorAction SilentlyContinue -ErrorVariable e3
        $o.none = [string]$e3[0].FullyQualifiedErrorId
        $o.capped = @(Get-WinEvent -FilterHashtable @{ LogName = 'System'; ProviderName = 'Schannel'; Id = 36871 } -MaxEvents 5).Count
        $since = (Get-Date).AddHours(-2)
        $o.window = @(Get-WinEvent -FilterHashtable @{ LogName = 'System'; Id = 36871; StartTime = $since } -ErrorAction SilentlyContinue).Count
        try { $null = Get-WinEvent -FilterHashtable @{ ProviderName = 'Microsoft-Windows-TerminalServices-RemoteConnectionManager'; Id = 1006 } -ErrorAction Stop; $o.byProvider = 'ok' } catch { $o.byProvider = [string]$_.FullyQualifiedErrorId }
    }
    'services' {
        $o.query = (sc.exe query NoSuchService | Out-String).Length -gt 0
        $o.notFound = $LASTEXITCODE
        $null = sc.exe stop TermService
        $o.dependents = $LASTEXITCODE
        $null = sc.exe start SessionEnv
        $o.running = $LASTEXITCODE
        $null = sc.exe config TermService start= disabled
        $null = sc.exe start TermService
        $o.disabled = $LASTEXITCODE
        $o.state = (Get-CimInstance -ClassName Win32_Service -Filter "Name='UmRdpService'").State
    }
    'pending' {
        $null = sc.exe stop UmRdpService
        $o.sc = $LASTEXITCODE
        $o.state = (Get-CimInstance -ClassName Win32_Service -Filter "Name='UmRdpService'").State
        Start-Sleep -Seconds 30
        $o.later = (Get-CimInstance -ClassName Win32_Service -Filter "Name='UmRdpService'").State
        Stop-Service -Name UmRdpService
        $o.never = 'reached'
    }
    'firewall' {
        $r = Get-NetFirewallRule -Name 'RemoteDesktop-UserMode-In-TCP' -PolicyStore ActiveStore
        $o.enabledString = [string]$r.Enabled
        $o.truthy = [bool]$r.Enabled
        $o.ports = @((Get-NetFirewallPortFilter -AssociatedNetFirewallRule $r).LocalPort)
        Get-NetFirewallRule -Name 'Nope' -ErrorAction SilentlyContinue -ErrorVariable e4
        $o.missing = [string]$e4[0].FullyQualifiedErrorId
        Set-NetFirewallRule -Name 'RemoteDesktop-UserMode-In-TCP' -LocalPort 3390 -Enabled True
    }
    'cert' {
        $c = @(Get-ChildItem -LiteralPath 'Cert:\LocalMachine\Remote Desktop')[0]
        try { Remove-Item -LiteralPath $c.PSPath -DeleteKey -ErrorAction Stop; $o.removed = 'ok' } catch { $o.removed = Hex $_ }
        $o.left = @(Get-ChildItem -LiteralPath 'Cert:\LocalMachine\Remote Desktop').Count
        Restart-Service -Name SessionEnv -Force
        $o.renewed = @(Get-ChildItem -LiteralPath 'Cert:\LocalMachine\Remote Desktop').Count
        $o.clock = (Get-Date -Format 'yyyyMMddHHmmss')
    }
}
ConvertTo-Json -InputObject $o -Compress -Depth 4
'@
    $keyMissing = New-ModelWindows @{ rdpCertificate = @{ key = 'missing' } }
    $cases = [ordered]@{
        privatekey = @{ Windows = $keyMissing; Script = $probe; Parameters = @{ Case = 'privatekey' } }
        registry = @{ Windows = (New-ModelWindows); Script = $probe; Parameters = @{ Case = 'registry' } }
        icacls = @{ Windows = (New-ModelWindows @{ machineKeysAcl = @('S-1-5-18:F:deny', 'S-1-5-32-544:F', 'S-1-1-0:special') }); Script = $probe; Parameters = @{ Case = 'icacls' } }
        icaclsDenied = @{ Windows = (New-ModelWindows @{ machineKeysAcl = @('S-1-5-20:R'); machineKeysOwner = 'S-1-5-21-1-2-3-1001' }); Script = $probe; Parameters = @{ Case = 'icaclsDenied' } }
        events = @{ Windows = (New-ModelWindows @{ events24h = @{ '36871' = 48 }; damage = @{ eventLogs = @('Microsoft-Windows-TerminalServices-RemoteConnectionManager/Admin') } }); Script = $probe; Parameters = @{ Case = 'events' } }
        services = @{ Windows = (New-ModelWindows); Script = $probe; Parameters = @{ Case = 'services' } }
        pending = @{ Windows = (New-ModelWindows @{ services = @{ UmRdpService = @{ state = 'Running'; hangs = $true } } }); Script = $probe; Parameters = @{ Case = 'pending' } }
        firewall = @{ Windows = (New-ModelWindows); Script = $probe; Parameters = @{ Case = 'firewall' } }
        cert = @{ Windows = $keyMissing; Script = $probe; Parameters = @{ Case = 'cert' } }
    }
    $names = @($cases.Keys)
    $res = @(Invoke-ModelBatch @($names | ForEach-Object { $cases[$_] }))
    Remove-Item -LiteralPath $probe -ErrorAction SilentlyContinue
    $script:P = @{}
    for ($i = 0; $i -lt $names.Count; $i++) { $script:P[$names[$i]] = $res[$i] }
}

Describe 'modelled Windows' {
    It 'PrivateKey: a property read gives $null, get_PrivateKey() throws MethodInvocationException with NTE_BAD_KEYSET inside (about_Operators, [S5])' {
        $j = $P.privatekey.Json
        $j.property | Should -BeTrue
        $j.method | Should -Be 'MethodInvocationException'
        $j.inner | Should -Be '80090016'
    }
    It 'registry: DWORD as Int32, missing value $null, missing key PathNotFound (non-terminating; -ErrorAction Stop throws ItemNotFoundException), REG_BINARY as byte[]' {
        $j = $P.registry.Json
        $j.port | Should -Be 'Int32'
        $j.missingValue | Should -BeTrue
        $j.missingKey | Should -BeLike 'PathNotFound,*'
        $j.stop | Should -Be 'ItemNotFoundException'
        $j.hash | Should -Be '01-02-FF'
        $j.removeMissing | Should -Be 'PSArgumentException'
        $P.registry.Windows.schannelServer.'TLS 1.3'.Enabled | Should -Be 1
        $P.registry.Windows.sslCertificateSHA1Hash | Should -BeNullOrEmpty
    }
    It 'icacls /grant adds rights and keeps the explicit Deny; /remove:d removes it ([S18b], SCRIPT-REVIEW A6)' {
        $j = $P.icacls.Json
        $j.grant | Should -Be 0
        $j.rules | Should -Contain 'S-1-5-18:Deny'
        $j.rules | Should -Contain 'S-1-5-18:Allow'
        $j.afterRemove | Should -Not -Contain 'S-1-5-18:Deny'
    }
    It 'icacls is denied (exit 5) when neither SYSTEM nor Administrators may change the ACL; takeown /a fixes it ([S18c])' {
        $P.icaclsDenied.Json.before | Should -Be 5
        $P.icaclsDenied.Json.after | Should -Be 0
        $P.icaclsDenied.Windows.machineKeysOwner | Should -Be 'S-1-5-32-544'
    }
    It 'Get-WinEvent: zero matches is NoMatchingEventsFound, MaxEvents keeps the newest, StartTime filters, a bad provider link fails a provider query ([I6], [S21], A10)' {
        $j = $P.events.Json
        $j.none | Should -BeLike 'NoMatchingEventsFound*'
        $j.capped | Should -Be 5
        $j.window | Should -Be 5
        $j.byProvider | Should -BeLike 'LogInfoUnavailable*'
    }
    It 'sc.exe: 1060 not found, 1051 dependents running, 1056 already running, 1058 disabled ([S9], winerror.h)' {
        $j = $P.services.Json
        $j.notFound | Should -Be 1060
        $j.dependents | Should -Be 1051
        $j.running | Should -Be 1056
        $j.disabled | Should -Be 1058
        $j.state | Should -Be 'Running'
    }
    It 'a hanging service stays Stop Pending for sc.exe and a bounded poll; Stop-Service waits forever: the run is hung (A5)' {
        $P.pending.Hung | Should -BeTrue
        $P.pending.Stdout | Should -Not -Match 'reached'
        $P.pending.Windows.services.UmRdpService.state | Should -Be 'StopPending'
    }
    It 'firewall: Enabled prints True and is truthy either way; LocalPort strings; NotFound id ([B4], [S26])' {
        $j = $P.firewall.Json
        $j.enabledString | Should -Be 'True'
        $j.truthy | Should -BeTrue
        $j.ports | Should -Be @('3389')
        $j.missing | Should -BeLike 'CmdletizationQuery_NotFound_Name*'
        $P.firewall.Windows.firewallRdpRule.localPort | Should -Be @('3390')
    }
    It 'Remove-Item -DeleteKey deletes the certificate, then fails on the missing key; SessionEnv restart issues a new one (A3, [S5])' {
        $j = $P.cert.Json
        $j.removed | Should -Be '80090016'
        $j.left | Should -Be 0
        $j.renewed | Should -Be 1
        $P.cert.Windows.rdpCertificate.key | Should -Be 'ok'
    }
}

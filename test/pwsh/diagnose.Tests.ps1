# diagnose.ps1 under the modelled Windows: the SCRIPT-REVIEW section A items, each finding's evidence
# path, and the rules for scripts that run as SYSTEM (read-only, no prompt, one ASCII JSON line <= 3.5 KB).
BeforeDiscovery {
    $script:FindingCases = @(
        @{ Name = 'rdp-port-conflict: another process on the port'; Vm = 'vm-portclash-03'; Check = { param($j) $j.listeners[0].svc -notcontains 'TermService' } }
        @{ Name = 'rdp-cert-expired: NotAfter in the past'; Vm = 'vm-certexpired-04'; Check = { param($j) $j.cert.notAfter -eq '2026-09-30T00:00:00Z' } }
        @{ Name = 'machinekeys-acl-broken: key file without Network Service'; Vm = 'vm-machinekeys-05'; Check = { param($j) $j.cert.keyFile -and ($j.keyAcl -notcontains 'S-1-5-20:R') } }
        @{ Name = 'tls-disabled: TLS 1.2 Enabled=0 and 36871'; Vm = 'vm-tlsoff-06'; Check = { param($j) $j.tls.'TLS 1.2'.Enabled -eq 0 -and $j.events.'36871' -eq 30 } }
        @{ Name = 'brute-force-suspected: 4625 at the cap'; Vm = 'vm-exposed-02'; Check = { param($j) $j.events.'4625' -eq 5000 } }
        @{ Name = 'cert-key-errors-logged: 1057 and 36870'; Vm = 'vm-machinekeys-05'; Check = { param($j) $j.events.'1057' -eq 2 -and $j.events.'36870' -eq 12 } }
    )
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $long = 'S-1-15-3-1024-1065365936-1281604716-3511738428-1654721687-432734479-3232135806-4053264122-3456934681'
    $cases = [ordered]@{
        healthy = @{ Windows = (New-ModelWindows) }
        # A1: a missing key (NTE_BAD_KEYSET) must read as "no key file", not "could not tell"
        keyMissing = @{ Windows = (New-ModelWindows @{ rdpCertificate = @{ key = 'missing' } }) }
        # A2: the key file's ACL shuts SYSTEM (and Administrators) out: the file is still found
        systemShutOut = @{ Windows = (New-ModelWindows @{ rdpKeyFileAcl = @('S-1-5-20:R') }) }
        keyUnreadable = @{ Windows = (New-ModelWindows @{ rdpCertificate = @{ key = 'unreadable' } }) }
        # A8: damaged WMI for the listener and firewall providers is an error, not "none"
        tcpCimBroken = @{ Windows = (New-ModelWindows @{ damage = @{ cimClasses = @('MSFT_NetTCPConnection') } }) }
        fwCimBroken = @{ Windows = (New-ModelWindows @{ damage = @{ cimClasses = @('MSFT_NetFirewallRule') } }) }
        # A9: NLA on: RDP failures are type 3 with source "-"; console failures (type 2) are not RDP
        nlaLogons = @{ Windows = (New-ModelWindows @{ events24h = @{ '4625' = 170 }; failedLogonSources = @(@{ ip = '203.0.113.50'; count = 150 }) }) }
        # A10: a misconfigured log linked to RemoteConnectionManager must not hide 1006
        rcmLogBroken = @{ Windows = (New-ModelWindows @{ events24h = @{ '1006' = 3 }; damage = @{ eventLogs = @('Microsoft-Windows-TerminalServices-RemoteConnectionManager/Admin') } }) }
        # A11: a capability SID longer than the schema's 60 characters among the first ACEs
        longSid = @{ Windows = (New-ModelWindows @{ machineKeysAcl = @('S-1-5-32-544:F', "$($long):R", 'S-1-1-0:special') }) }
        # B: -Since after the events stopped: 0, though the log still holds them
        sinceAfterStop = @{ Windows = (New-ModelWindows @{ events24h = @{ '36871' = 30 }; eventsStoppedAt = @{ '36871' = '2026-11-30T10:00:00Z' } }); Parameters = @{ Since = '20261130101500' } }
        sincePlain = @{ Windows = (New-ModelWindows @{ events24h = @{ '36871' = 30 }; eventsStoppedAt = @{ '36871' = '2026-11-30T10:00:00Z' } }) }
        # steps that fail end in err with a clear code
        svcBroken = @{ Windows = (New-ModelWindows @{ damage = @{ cimClasses = @('Win32_Service') } }) }
        osBroken = @{ Windows = (New-ModelWindows @{ damage = @{ cimClasses = @('Win32_OperatingSystem', 'Win32_ComputerSystem') } }) }
        rsopBroken = @{ Windows = (New-ModelWindows @{ damage = @{ cimClasses = @('RSOP_RegistryPolicySetting') } }) }
        badSince = @{ Windows = (New-ModelWindows); Parameters = @{ Since = '20261399999999' } }
        # non-ASCII and JSON metacharacters in names
        metachars = @{ Windows = (New-ModelWindows @{ listeners = @(@{ port = 3389; pid = 4242; process = "j`u{00e4}va<&>`"\'"; services = @("Tomcat`u{2603}`"<x>", 'TermService') }) }) }
        # the worst case: every list at its cap, every name at its longest
        worst = @{
            Windows = (New-ModelWindows @{
                    listeners = @(1..4 | ForEach-Object { @{ port = 3389; pid = 5000 + $_; process = ('p' * 40); services = @(('a' * 40), ('b' * 40), ('c' * 40), ('d' * 40)) } })
                    machineKeysAcl = @(1..7 | ForEach-Object { "S-1-5-21-1111111111-2222222222-3333333333-4444444444-55555555555-$($_):R:deny" })
                    rdpKeyFileAcl = @(1..7 | ForEach-Object { "S-1-5-21-1111111111-2222222222-3333333333-4444444444-55555555555-$($_):special" })
                    policyValues = @{
                        'SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services\UserAuthentication' = 1
                        'SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services\SecurityLayer' = 2
                        'SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services\MinEncryptionLevel' = 3
                        'SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services\fDenyTSConnections' = 0
                        'SOFTWARE\Policies\Microsoft\Cryptography\Configuration\SSL\00010002\Functions' = 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384'
                    }
                    policyManagedKeys = @('SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server\DisabledByDefault', 'SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.1\Server\DisabledByDefault')
                    rdpTcp = @{ UserAuthentication = 0 }
                    events24h = @{ '4625' = 5200; '1057' = 2000; '1058' = 2000; '36870' = 2000; '36871' = 2000; '36872' = 2000 }
                    failedLogonSources = @(1..6 | ForEach-Object { @{ ip = "2001:0db8:85a3:0000:0000:8a2e:0370:$(7330 + $_)"; count = 800 + $_ } })
                    firewallRdpRule = @{ enabled = $true; localPort = @('3389-3390', '13389-13390', '23389-23390', '33389-33390', 'Any') }
                    damage = @{ cimClasses = @('Win32_OperatingSystem', 'Win32_ComputerSystem', 'Win32_TSGeneralSetting', 'MSFT_NetFirewallRule') }
                }); Parameters = @{ Since = '20261399999999' }
        }
    }
    foreach ($vm in 'vm-exposed-02', 'vm-portclash-03', 'vm-certexpired-04', 'vm-machinekeys-05', 'vm-tlsoff-06') {
        $cases[$vm] = @{ Windows = (Get-DemoWindows $vm) }
    }
    $noop = Join-Path ([System.IO.Path]::GetTempPath()) "noop-$([guid]::NewGuid().ToString('N')).ps1"
    Set-Content -LiteralPath $noop -Value 'exit 0'
    $cases['healthyNoop'] = @{ Windows = $cases.healthy.Windows; Script = $noop }
    $names = @($cases.Keys)
    $results = @(Invoke-ModelBatch @($names | ForEach-Object { $cases[$_] }))
    Remove-Item -LiteralPath $noop -ErrorAction SilentlyContinue
    $script:R = @{}
    for ($i = 0; $i -lt $names.Count; $i++) { $script:R[$names[$i]] = $results[$i] }
    $script:AclRe = '^S-1-[0-9-]{1,60}:(F|M|RX|R|W|special)(:deny)?$'
}

Describe 'diagnose.ps1: SCRIPT-REVIEW section A' {
    It 'A1: a missing key (NTE_BAD_KEYSET, wrapped by the get_PrivateKey() call) gives keyFile=false, no keyname error' {
        $j = $R.keyMissing.Json
        $j.cert.hasKey | Should -BeTrue
        $j.cert.keyFile | Should -BeFalse
        $j.cert.keyFile | Should -Not -BeNullOrEmpty
        $j.err | Should -Not -Contain 'keyname'
    }
    It 'A2: the key file is found when its ACL shuts SYSTEM out (container name, not an opened key)' {
        $j = $R.systemShutOut.Json
        $j.cert.keyFile | Should -BeTrue
        $j.keyAcl | Should -Be @('S-1-5-20:R')
        $j.err | Should -BeNullOrEmpty
    }
    It 'A2: a key the provider cannot open (access denied) still has its file found' {
        $R.keyUnreadable.Json.cert.keyFile | Should -BeTrue
    }
    It 'A8: a failed TCP connection query is an error, not "nothing listens"' {
        $j = $R.tcpCimBroken.Json
        $j.listeners | Should -BeNullOrEmpty
        $j.Contains('listeners') | Should -BeTrue
        $null -eq $j.listeners | Should -BeTrue
        @($j.err | Where-Object { $_ -like 'listen:*' }).Count | Should -Be 1
    }
    It 'A8: a failed firewall query is an error, not "rule missing"' {
        $j = $R.fwCimBroken.Json
        $null -eq $j.fw | Should -BeTrue
        @($j.err | Where-Object { $_ -like 'fw:*' }).Count | Should -Be 1
    }
    It 'A9: under NLA the failed RDP logons are counted by logon type and their sources come from RdpCoreTS 140' {
        $j = $R.nlaLogons.Json
        $j.events.'4625' | Should -Be 150
        $j.logons.Count | Should -Be 1
        $j.logons[0].ip | Should -Be '203.0.113.50'
        $j.logons[0].count | Should -Be 150
    }
    It 'A10: 1006 is counted from its log by name, a misconfigured linked log does not fail it' {
        $j = $R.rcmLogBroken.Json
        $j.events.'1006' | Should -Be 3
        $j.err | Should -Not -Contain 'ev:1006'
    }
    It 'A11: every ACL entry fits the schema, even for a long capability SID' {
        $j = $R.longSid.Json
        $j.mkAcl.Count | Should -BeGreaterThan 0
        foreach ($e in $j.mkAcl) { $e | Should -Match $AclRe }
        $j.mkAcl | Should -Contain 'S-1-5-32-544:F'
    }
}

Describe 'diagnose.ps1: the event window' {
    It 'honours -Since: events that stopped before it count 0; the plain run still counts them' {
        $R.sinceAfterStop.Json.events.'36871' | Should -Be 0
        $R.sinceAfterStop.Json.since | Should -Be '2026-11-30T10:15:00Z'
        $R.sincePlain.Json.events.'36871' | Should -Be 30
    }
}

Describe 'diagnose.ps1: evidence of each finding on its demo VM' {
    It '<Name>' -ForEach $FindingCases {
        $j = $R[$Vm].Json
        $j | Should -Not -BeNullOrEmpty
        (& $Check $j) | Should -BeTrue
    }
}

Describe 'diagnose.ps1: rules for a script that runs as SYSTEM' {
    It 'prints one ASCII JSON line, last, and nothing on stderr (healthy VM)' {
        $lines = @($R.healthy.Stdout -split "`r`n" | Where-Object { $_ -ne '' })
        $lines.Count | Should -Be 1
        $lines[0] | Should -Match '^\{.*\}$'
        $R.healthy.Stderr | Should -BeNullOrEmpty
        $R.healthy.Json.err | Should -BeNullOrEmpty
        $R.healthy.Json.ps | Should -Be '5.1'
    }
    It 'changes nothing: the state after equals the state after a no-op script' {
        ($R.healthy.Windows | ConvertTo-Json -Depth 40 -Compress) | Should -Be ($R.healthyNoop.Windows | ConvertTo-Json -Depth 40 -Compress)
    }
    It 'uses no write verb (static check of every command it calls)' {
        $ast = [System.Management.Automation.Language.Parser]::ParseFile((Resolve-ModelScript 'diagnose'), [ref]$null, [ref]$null)
        $own = @($ast.FindAll({ param($a) $a -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true) | ForEach-Object { $_.Name })
        $calls = @($ast.FindAll({ param($a) $a -is [System.Management.Automation.Language.CommandAst] }, $true) | ForEach-Object { $_.GetCommandName() } | Where-Object { $_ -and $own -notcontains $_ })
        $writers = @($calls | Where-Object { $_ -match '^(Set|New|Remove|Stop|Start|Restart|Clear|Enable|Disable|Install|Uninstall|Register|Unregister|Rename|Move|Copy|Write-EventLog|Out-File|Add-Content|Set-Content)' -or $_ -match '^(icacls|takeown|sc|reg|netsh|bcdedit|wevtutil)(\.exe)?$' })
        # Remove-TypeData changes this PowerShell session only; New-Object creates an object (ConvertTo-Json array wrapping, WINDOWS.md §9);
        # Start-Job/Stop-Job/Remove-Job manage the script's own background job (the bounded secure-channel test), nothing on the VM
        $sessionOnly = @('Remove-TypeData', 'New-Object', 'Start-Job', 'Stop-Job', 'Remove-Job')
        @($writers | Where-Object { $sessionOnly -notcontains $_ }) | Should -BeNullOrEmpty
    }
    It 'never prompts: it finishes with stdin closed, not hung, no virtual time spent' {
        $R.healthy.Hung | Should -BeFalse
        $R.healthy.VirtualSeconds | Should -Be 0
    }
    It 'worst case (every section at its cap): one valid JSON line of at most 3,500 bytes' {
        $line = @($R.worst.Stdout -split "`r`n" | Where-Object { $_ -ne '' })[-1]
        [System.Text.Encoding]::UTF8.GetByteCount($line) | Should -BeLessOrEqual 3500
        $R.worst.Json | Should -Not -BeNullOrEmpty
        $R.worst.Json.err.Count | Should -Be 5
        $R.worst.Json.listeners.Count | Should -Be 3
        $R.worst.Json.policy.Count | Should -Be 6
    }
    It 'a failed step ends in err with a clear code and the line stays valid JSON: <Case>' -ForEach @(
        @{ Case = 'svcBroken'; Code = 'svc:*'; Section = 'services' }
        @{ Case = 'osBroken'; Code = 'boot'; Section = 'boot' }
        @{ Case = 'osBroken'; Code = 'domain'; Section = 'domain' }
        @{ Case = 'badSince'; Code = 'since'; Section = $null }
        @{ Case = 'tcpCimBroken'; Code = 'listen:*'; Section = 'listeners' }
    ) {
        $j = $R[$Case].Json
        $j | Should -Not -BeNullOrEmpty
        @($j.err | Where-Object { $_ -like $Code }).Count | Should -Be 1
        foreach ($e in $j.err) { $e | Should -Match '^[A-Za-z0-9:._-]{1,24}$' }
        if ($Section) { $null -eq $j[$Section] | Should -BeTrue }
    }
    It 'reports a failed RSOP query as rsop=error' {
        $R.rsopBroken.Json.rsop | Should -Be 'error'
        $R.healthy.Json.rsop | Should -Be 'ok'
    }
    It 'non-ASCII and JSON metacharacters in names never break the line' {
        $line = @($R.metachars.Stdout -split "`r`n" | Where-Object { $_ -ne '' })[-1]
        $line | Should -Match '^[\x20-\x7E]+$'
        $j = $R.metachars.Json
        $j.listeners[0].proc | Should -Match '^[A-Za-z0-9._$ -]+$'
        $j.listeners[0].svc[0] | Should -Be 'TermService'
    }
}

# diagnose.ps1's block "CONTRACTS 1b: remote desktop switched off, TermService config" (rs) under the modelled
# Windows: each fact on the demo VMs of its cause, the policy value beside the key's, absent values as null,
# the account as Win32_Service shows it, 7031/7034 counted only when they name Remote Desktop Services.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $pol = 'SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services\fDenyTSConnections'
    $cases = [ordered]@{
        healthy = @{ Windows = (New-ModelWindows) }
        policyDeny = @{ Windows = (New-ModelWindows @{ policyValues = @{ $pol = 1 } }) }
        absent = @{ Windows = (New-ModelWindows @{ terminalServer = @{ fDenyTSConnections = $null; TSEnabled = $null; TSServerDrainMode = $null }; rdpTcp = @{ fEnableWinStation = $null; fLogonDisabled = $null } }) }
        drain = @{ Windows = (New-ModelWindows @{ terminalServer = @{ TSEnabled = 0; TSServerDrainMode = 2 }; rdpTcp = @{ fLogonDisabled = 1 } }) }
        svcBroken = @{ Windows = (New-ModelWindows @{ damage = @{ cimClasses = @('Win32_Service') }; events24h = @{ '7031' = 2 } }) }
        oldEvents = @{ Windows = (New-ModelWindows @{ events24h = @{ '7034' = 4 }; eventsStoppedAt = @{ '7034' = '2026-11-30T10:00:00Z' } }); Parameters = @{ Since = '20261130101500' } }
    }
    foreach ($vm in 'vm-rdpoff-21', 'vm-listener-22', 'vm-svcdisabled-23', 'vm-svcaccount-24', 'vm-svccrash-25') {
        $cases[$vm] = @{ Windows = (Get-DemoWindows $vm) }
    }
    $names = @($cases.Keys)
    $results = @(Invoke-ModelBatch @($names | ForEach-Object { $cases[$_] }))
    $script:R = @{}
    for ($i = 0; $i -lt $names.Count; $i++) { $script:R[$names[$i]] = $results[$i] }
}

Describe 'diagnose.ps1: Remote Desktop switched off and TermService config (rs)' {
    It 'a healthy VM: the Windows defaults, Network Service, no crash; one read-only ASCII line' {
        $r = $R.healthy
        $r.Stderr | Should -BeNullOrEmpty
        $r.Json.rs | Should -Not -BeNullOrEmpty
        $r.Json.rs.dn | Should -Be 0
        $r.Json.rs.gdn | Should -BeNullOrEmpty
        $r.Json.rs.en | Should -Be 1
        $r.Json.rs.dr | Should -Be 0
        $r.Json.rs.ws | Should -Be 1
        $r.Json.rs.ld | Should -Be 0
        $r.Json.rs.acct | Should -Be 'NT Authority\NetworkService'
        $r.Json.rs.crash | Should -Be 0
        $r.Json.err.Count | Should -Be 0
    }

    It 'vm-rdpoff-21: fDenyTSConnections = 1 in the Terminal Server key' {
        $R['vm-rdpoff-21'].Json.rs.dn | Should -Be 1
    }

    It 'the policy value is read beside the key (it wins in the findings)' {
        $R.policyDeny.Json.rs.gdn | Should -Be 1
        $R.policyDeny.Json.rs.dn | Should -Be 0
    }

    It 'absent values are null, not 0' {
        $rs = $R.absent.Json.rs
        foreach ($k in 'dn', 'en', 'dr', 'ws', 'ld') { $rs[$k] | Should -BeNullOrEmpty -Because $k }
    }

    It 'vm-listener-22 and a draining server: the listener and server values' {
        $R['vm-listener-22'].Json.rs.ws | Should -Be 0
        $R.drain.Json.rs.en | Should -Be 0
        $R.drain.Json.rs.dr | Should -Be 2
        $R.drain.Json.rs.ld | Should -Be 1
    }

    It 'vm-svcdisabled-23: the start mode Disabled is in services; vm-svcaccount-24: the account' {
        $R['vm-svcdisabled-23'].Json.services.TermService.start | Should -Be 'Disabled'
        $R['vm-svcdisabled-23'].Json.services.TermService.state | Should -Be 'Stopped'
        $R['vm-svcaccount-24'].Json.rs.acct | Should -Be 'LocalSystem'
    }

    It 'vm-svccrash-25: 7031 and 7034 naming Remote Desktop Services are counted' {
        $R['vm-svccrash-25'].Json.rs.crash | Should -Be 4
    }

    It 'events before -Since are not counted' {
        $R.oldEvents.Json.rs.crash | Should -Be 0
    }

    It 'a broken Win32_Service: acct null and rsacct in err; the events are still matched by the English name' {
        $r = $R.svcBroken
        $r.Json.rs.acct | Should -BeNullOrEmpty
        $r.Json.err | Should -Contain 'rsacct'
        $r.Json.rs.crash | Should -Be 2
    }

    It 'never waits on anything (no hang)' {
        foreach ($n in $R.Keys) {
            $R[$n].Hung | Should -BeFalse
        }
    }
}

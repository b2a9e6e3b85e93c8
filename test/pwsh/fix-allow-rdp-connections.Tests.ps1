BeforeAll {
    . (Join-Path $PSScriptRoot 'FixTestHelpers.ps1')
    $S = 'fix-allow-rdp-connections'
    $Pol = 'SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services\fDenyTSConnections'
}

Describe 'fix-allow-rdp-connections' {
    It 'switches Remote Desktop on (fDenyTSConnections <v> -> 0), records the before-value, no restart; a second run is a noop' -ForEach @(@{ v = 1 }, @{ v = 2 }, @{ v = -1 }) {
        $w = New-FixWindows { param($w) $w.terminalServer = @{ fDenyTSConnections = $v } }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Status.ok | Should -BeTrue
        $r.Status.changed | Should -Be @('fDenyTSConnections')
        $r.Status.before.fDenyTSConnections | Should -Be $v
        $r.Status.needsRestart | Should -BeFalse
        $r.Windows.terminalServer.fDenyTSConnections | Should -Be 0
        Assert-Idempotent $r $S | Out-Null
    }

    It 'is a noop when Remote Desktop is on or the value is absent (<case>)' -ForEach @(
        @{ case = 'default'; ts = $null }, @{ case = 'absent'; ts = @{ fDenyTSConnections = $null } }, @{ case = '0'; ts = @{ fDenyTSConnections = 0 } }
    ) {
        $w = New-FixWindows { param($w) if ($ts) { $w.terminalServer = $ts } }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'noop'
        $r.Status.ok | Should -BeTrue
        Assert-Unchanged $r $w
    }

    It 'never fights Group Policy: a denying policy value is named, nothing changes' {
        $w = New-FixWindows { param($w) $w.terminalServer = @{ fDenyTSConnections = 1 }; $w.policyValues = @{ $Pol = 1 } }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'policy-denies'
        $r.Status.ok | Should -BeFalse
        $r.Status.policy | Should -Be 'TS\fDenyTSConnections=1'
        $r.Status.changed.Count | Should -Be 0
        Assert-Unchanged $r $w
    }

    It 'a policy that allows wins over the local value: the local value is still set right' {
        $w = New-FixWindows { param($w) $w.terminalServer = @{ fDenyTSConnections = 1 }; $w.policyValues = @{ $Pol = 0 } }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Status.policy | Should -Be 'TS\fDenyTSConnections=0'
        $r.Windows.policyValues[$Pol] | Should -Be 0
        $r.Windows.terminalServer.fDenyTSConnections | Should -Be 0
    }

    It 'changes nothing else on the demo VM vm-rdpoff-21' {
        $w = Get-DemoWindows 'vm-rdpoff-21'
        $r = Invoke-Fix -Windows $w -Script $S
        $r.Status.status | Should -Be 'done'
        $expected = Copy-ModelData $r.Canonical
        $expected.terminalServer.fDenyTSConnections = 0
        (ConvertTo-StateJson $r.Windows) | Should -Be (ConvertTo-StateJson $expected)
    }
}

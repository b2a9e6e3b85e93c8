BeforeAll {
    . (Join-Path $PSScriptRoot 'FixTestHelpers.ps1')
    $S = 'fix-start-termservice'
}

Describe 'fix-start-termservice' {
    It 'leaves a running, listening TermService alone: noop, nothing changed' {
        $w = New-FixWindows
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'noop'
        $r.Status.ok | Should -BeTrue
        $r.Status.before.state | Should -Be 'Running'
        Assert-Unchanged $r $w
    }

    It 'starts a stopped TermService, which then listens; a second run is a noop' {
        $w = New-FixWindows { param($w) $w.services.TermService = 'Stopped'; $w.services.UmRdpService = 'Stopped'; $w.listeners = @() }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Status.action | Should -Be 'started'
        $r.Status.listening | Should -BeTrue
        $r.Status.before.state | Should -Be 'Stopped'
        (Get-FixService $r.Windows 'TermService').state | Should -Be 'Running'
        Assert-Idempotent $r $S | Out-Null
    }

    It 'sets a disabled TermService to Manual (the Windows default) before it starts it' {
        $w = New-FixWindows { param($w) $w.services.TermService = @{ state = 'Stopped'; startMode = 'Disabled' }; $w.listeners = @() }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Status.before.startMode | Should -Be 'Disabled'
        (Get-FixService $r.Windows 'TermService').startMode | Should -Be 'Manual'
        (Get-FixService $r.Windows 'TermService').state | Should -Be 'Running'
    }

    It 'restarts a TermService that runs without listening' {
        $w = New-FixWindows { param($w) $w.listeners = @() }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.action | Should -Be 'restarted'
        $r.Status.status | Should -Be 'done'
        $r.Status.listening | Should -BeTrue
    }

    It 'reports <cause> instead of restarting blindly, and changes nothing (A16)' -ForEach @(
        @{ cause = 'fDenyTSConnections'; mutate = { param($w) $w.terminalServer = @{ fDenyTSConnections = 1 } } }
        @{ cause = 'policy:fDenyTSConnections'; mutate = { param($w) $w.policyValues = @{ 'SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services\fDenyTSConnections' = 1 }; $w.policyManagedKeys = @('SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services\fDenyTSConnections') } }
        @{ cause = 'fEnableWinStation'; mutate = { param($w) $w.rdpTcp.fEnableWinStation = 0 } }
        @{ cause = 'LanAdapter'; mutate = { param($w) $w.rdpTcp.LanAdapter = 2 } }
    ) {
        $w = New-FixWindows { param($w) $w.listeners = @(); & $mutate $w }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'blocked-by-config'
        $r.Status.ok | Should -BeFalse
        $r.Status.causes | Should -Contain $cause
        Assert-Unchanged $r $w
    }

    It 'gives up on a TermService stuck in Starting within bounded virtual time, names it, isolates it (A5)' {
        $w = New-FixWindows { param($w) $w.services.TermService = @{ state = 'Stopped'; hangs = $true }; $w.listeners = @() }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'timeout'
        $r.Status.svcError | Should -Be 'TermService:timeout'
        $r.Status.isolated | Should -BeTrue
        $r.Status.ok | Should -BeFalse
        $r.Run.virtualSeconds | Should -BeLessOrEqual 300
        (Get-FixService $r.Windows 'TermService').ownProcess | Should -BeTrue
    }
}

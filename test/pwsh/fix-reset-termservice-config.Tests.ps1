BeforeAll {
    . (Join-Path $PSScriptRoot 'FixTestHelpers.ps1')
    $S = 'fix-reset-termservice-config'
}

Describe 'fix-reset-termservice-config' {
    It 'sets <case> back to Microsoft defaults, records the before-values, needs a restart; a second run is a noop' -ForEach @(
        @{ case = 'a disabled service'; svc = @{ state = 'Stopped'; startMode = 'Disabled'; ownProcess = $true }; changed = @('start') },
        @{ case = 'another account'; svc = @{ state = 'Running'; startName = 'LocalSystem'; ownProcess = $true }; changed = @('account') },
        @{ case = 'a shared process'; svc = @{ state = 'Running' }; changed = @('type') },
        @{ case = 'everything'; svc = @{ state = 'Stopped'; startMode = 'Disabled'; startName = '.\rdpadmin' }; changed = @('start', 'account', 'type') }
    ) {
        $w = New-FixWindows { param($w) $w.services.TermService = $svc }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Status.ok | Should -BeTrue
        $r.Status.changed | Should -Be $changed
        $r.Status.needsRestart | Should -BeTrue
        $t = Get-FixService $r.Windows 'TermService'
        $t.startMode | Should -Not -Be 'Disabled'
        $t.startName | Should -Be 'NT Authority\NetworkService'
        $t.ownProcess | Should -BeTrue
        # the service itself is neither started nor stopped here (the VM restart does it)
        $t.state | Should -Be $svc.state
        Assert-Idempotent $r $S | Out-Null
    }

    It 'a disabled service becomes Manual (demand), as Windows ships it; Auto stays Auto' {
        $w = New-FixWindows { param($w) $w.services.TermService = @{ state = 'Stopped'; startMode = 'Disabled'; ownProcess = $true } }
        (Get-FixService (Invoke-Fix -Windows $w -Script $S).Windows 'TermService').startMode | Should -Be 'Manual'
        $w = New-FixWindows { param($w) $w.services.TermService = @{ state = 'Running'; startMode = 'Auto'; ownProcess = $true } }
        $r = Invoke-Fix -Windows $w -Script $S
        $r.Status.status | Should -Be 'noop'
        Assert-Unchanged $r $w
    }

    It 'accepts the forms Windows writes Network Service in: <a>' -ForEach @(@{ a = 'NT AUTHORITY\NetworkService' }, @{ a = 'nt authority\network service' }, @{ a = 'NT Authority\NETWORK SERVICE' }) {
        $w = New-FixWindows { param($w) $w.services.TermService = @{ state = 'Running'; startName = $a; ownProcess = $true } }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'noop'
        Assert-Unchanged $r $w
    }

    It 'answers not-found without TermService, and failed (with the HResult) when WMI is broken, changing nothing' {
        $w = New-FixWindows { param($w) $w.services = @{ SessionEnv = 'Running' }; $w.listeners = @() }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'not-found'
        $r.Status.ok | Should -BeFalse
        $w = New-FixWindows { param($w) $w.damage = @{ cimClasses = @('Win32_Service') } }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'failed'
        $r.Status.error | Should -Be '80041013'
        Assert-Unchanged $r $w
    }
}

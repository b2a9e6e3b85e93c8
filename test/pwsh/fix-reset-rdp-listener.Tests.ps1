BeforeAll {
    . (Join-Path $PSScriptRoot 'FixTestHelpers.ps1')
    $S = 'fix-reset-rdp-listener'
}

Describe 'fix-reset-rdp-listener' {
    It 'puts back only the wrong values (<case>), records them, needs a restart; a second run is a noop' -ForEach @(
        @{ case = 'listener disabled'; ts = @{}; tcp = @{ fEnableWinStation = 0 }; changed = @('fEnableWinStation') },
        @{ case = 'logons disabled'; ts = @{}; tcp = @{ fLogonDisabled = 1 }; changed = @('fLogonDisabled') },
        @{ case = 'server disabled and draining'; ts = @{ TSEnabled = 0; TSServerDrainMode = 2 }; tcp = @{}; changed = @('TSEnabled', 'TSServerDrainMode') },
        @{ case = 'everything'; ts = @{ TSEnabled = 0; TSServerDrainMode = 1 }; tcp = @{ fEnableWinStation = 0; fLogonDisabled = 1 }; changed = @('fEnableWinStation', 'fLogonDisabled', 'TSEnabled', 'TSServerDrainMode') }
    ) {
        $w = New-FixWindows { param($w) $w.terminalServer = $ts; foreach ($k in $tcp.Keys) { $w.rdpTcp[$k] = $tcp[$k] } }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Status.ok | Should -BeTrue
        $r.Status.changed | Should -Be $changed
        $r.Status.needsRestart | Should -BeTrue
        foreach ($k in $tcp.Keys) { $r.Status.before[$k] | Should -Be $tcp[$k] }
        $r.Windows.rdpTcp.fEnableWinStation | Should -Be 1
        $r.Windows.rdpTcp.fLogonDisabled | Should -Be 0
        $r.Windows.terminalServer.TSEnabled | Should -Be 1
        $r.Windows.terminalServer.TSServerDrainMode | Should -Be 0
        Assert-Idempotent $r $S | Out-Null
    }

    It 'leaves absent values absent (Windows defaults) and changes nothing: noop' {
        $w = New-FixWindows { param($w) $w.terminalServer = @{ TSEnabled = $null; TSServerDrainMode = $null }; $w.rdpTcp.fEnableWinStation = $null; $w.rdpTcp.fLogonDisabled = $null }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'noop'
        $r.Status.needsRestart | Should -BeFalse
        Assert-Unchanged $r $w
    }

    It 'leaves Remote Desktop itself (fDenyTSConnections) alone: that is another finding' {
        $w = New-FixWindows { param($w) $w.terminalServer = @{ fDenyTSConnections = 1; TSEnabled = 0 } }
        $r = Invoke-Fix -Windows $w -Script $S
        $r.Status.changed | Should -Be @('TSEnabled')
        $r.Windows.terminalServer.fDenyTSConnections | Should -Be 1
    }
}

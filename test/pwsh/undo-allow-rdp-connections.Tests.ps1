BeforeAll {
    . (Join-Path $PSScriptRoot 'FixTestHelpers.ps1')
    $S = 'undo-allow-rdp-connections'
}

Describe 'undo-allow-rdp-connections' {
    It 'round trip: the fix, then the undo of its before-value, leaves the state as it was (<v>)' -ForEach @(@{ v = 1 }, @{ v = 2 }) {
        $w = New-FixWindows { param($w) $w.terminalServer = @{ fDenyTSConnections = $v } }
        $fix = Invoke-Fix -Windows $w -Script 'fix-allow-rdp-connections'
        $fix.Status.status | Should -Be 'done'
        $p = @{ DenyTSConnections = [string]$fix.Status.before.fDenyTSConnections }
        $u = Invoke-Fix -Windows $fix.Windows -Script $S -Parameters $p
        Assert-FixLine $u
        $u.Status.status | Should -Be 'done'
        $u.Status.needsRestart | Should -BeFalse
        (ConvertTo-StateJson $u.Windows) | Should -Be (ConvertTo-StateJson $fix.Canonical)
        Assert-Idempotent $u $S $p | Out-Null
    }

    It 'absent removes the value; keep changes nothing' {
        $w = New-FixWindows { param($w) $w.terminalServer = @{ fDenyTSConnections = 0 } }
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ DenyTSConnections = 'absent' }
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Windows.terminalServer.fDenyTSConnections | Should -BeNullOrEmpty
        $k = Invoke-Fix -Windows $w -Script $S -Parameters @{ DenyTSConnections = 'keep' }
        $k.Status.status | Should -Be 'noop'
        Assert-Unchanged $k $w
    }

    It 'refuses <v>, changing nothing' -ForEach @(@{ v = 'yes' }, @{ v = '-1' }, @{ v = '4294967296' }, @{ v = '' }, @{ v = '1 ' }) {
        $w = New-FixWindows { param($w) $w.terminalServer = @{ fDenyTSConnections = 0 } }
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ DenyTSConnections = $v }
        Assert-FixLine $r
        $r.Status.status | Should -Be 'bad-param'
        $r.Status.ok | Should -BeFalse
        Assert-Unchanged $r $w
    }
}

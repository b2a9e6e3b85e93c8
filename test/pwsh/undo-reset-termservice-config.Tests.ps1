BeforeAll {
    . (Join-Path $PSScriptRoot 'FixTestHelpers.ps1')
    $S = 'undo-reset-termservice-config'
    # the undo's parameters from the fix's printed line, as services/runbook/causes/termservice-config.ts maps them
    function Get-UndoParams($status) {
        $p = @{}
        if (@($status.changed) -contains 'start') { $p.StartMode = $status.before.start }
        if (@($status.changed) -contains 'account') { $p.Account = ConvertTo-B64Param $status.before.account }
        if (@($status.changed) -contains 'type') { $p.Type = $status.before.type }
        return $p
    }
}

Describe 'undo-reset-termservice-config' {
    It 'round trip: the fix, then the undo of its before-values, leaves the state as it was (<case>)' -ForEach @(
        @{ case = 'disabled, LocalService, shared'; svc = @{ state = 'Stopped'; startMode = 'Disabled'; startName = 'NT AUTHORITY\LocalService' } },
        @{ case = 'LocalSystem'; svc = @{ state = 'Running'; startMode = 'Auto'; startName = 'LocalSystem'; ownProcess = $true } }
    ) {
        $w = New-FixWindows { param($w) $w.services.TermService = $svc }
        $fix = Invoke-Fix -Windows $w -Script 'fix-reset-termservice-config'
        $fix.Status.status | Should -Be 'done'
        $p = Get-UndoParams $fix.Status
        $u = Invoke-Fix -Windows $fix.Windows -Script $S -Parameters $p
        Assert-FixLine $u
        $u.Status.status | Should -Be 'done'
        $u.Status.needsRestart | Should -BeTrue
        (ConvertTo-StateJson $u.Windows) | Should -Be (ConvertTo-StateJson $fix.Canonical)
        Assert-Idempotent $u $S $p | Out-Null
    }

    It 'refuses <case>, changing nothing' -ForEach @(
        @{ case = 'an account with a password'; p = @{ Account = 'b64.Q09OVE9TT1xzdmMtcmRw' } },
        @{ case = 'a start mode Windows has not here'; p = @{ StartMode = 'Boot' } },
        @{ case = 'a type'; p = @{ Type = 'kernel' } },
        @{ case = 'broken Base64'; p = @{ Account = 'b64.!!' } }
    ) {
        $w = New-FixWindows { }
        $r = Invoke-Fix -Windows $w -Script $S -Parameters $p
        Assert-FixLine $r
        $r.Status.status | Should -Be 'bad-param'
        Assert-Unchanged $r $w
    }
}

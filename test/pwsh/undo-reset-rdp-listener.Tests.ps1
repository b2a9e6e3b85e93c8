BeforeAll {
    . (Join-Path $PSScriptRoot 'FixTestHelpers.ps1')
    $S = 'undo-reset-rdp-listener'
    $Map = @(@('fEnableWinStation', 'EnableWinStation'), @('fLogonDisabled', 'LogonDisabled'), @('TSEnabled', 'TSEnabled'), @('TSServerDrainMode', 'TSServerDrainMode'))
    # the undo's parameters from the fix's printed line, as services/runbook/causes/rdp-off.ts maps them (changed values only)
    function Get-UndoParams($status) {
        $p = @{}
        foreach ($x in $Map) {
            if (@($status.changed) -notcontains $x[0]) { continue }
            $v = $status.before[$x[0]]
            $p[$x[1]] = $(if ($null -eq $v) { 'absent' } else { [string]$v })
        }
        return $p
    }
}

Describe 'undo-reset-rdp-listener' {
    It 'round trip: the fix, then the undo of its before-values, leaves the state as it was; a second undo is a noop' {
        $w = New-FixWindows { param($w) $w.terminalServer = @{ TSEnabled = 0; TSServerDrainMode = 2 }; $w.rdpTcp.fEnableWinStation = 0; $w.rdpTcp.fLogonDisabled = 1 }
        $fix = Invoke-Fix -Windows $w -Script 'fix-reset-rdp-listener'
        $fix.Status.status | Should -Be 'done'
        $p = Get-UndoParams $fix.Status
        $p.Count | Should -Be 4
        $u = Invoke-Fix -Windows $fix.Windows -Script $S -Parameters $p
        Assert-FixLine $u
        $u.Status.status | Should -Be 'done'
        $u.Status.needsRestart | Should -BeTrue
        (ConvertTo-StateJson $u.Windows) | Should -Be (ConvertTo-StateJson $fix.Canonical)
        Assert-Idempotent $u $S $p | Out-Null
    }

    It 'refuses <name>=<v>, changing nothing' -ForEach @(@{ name = 'EnableWinStation'; v = 'off' }, @{ name = 'TSEnabled'; v = '-1' }, @{ name = 'TSServerDrainMode'; v = '99999999999' }) {
        $w = New-FixWindows { }
        $p = @{ LogonDisabled = '1' }
        $p[$name] = $v
        $r = Invoke-Fix -Windows $w -Script $S -Parameters $p
        Assert-FixLine $r
        $r.Status.status | Should -Be 'bad-param'
        Assert-Unchanged $r $w
    }
}

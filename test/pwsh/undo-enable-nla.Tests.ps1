BeforeAll {
    . (Join-Path $PSScriptRoot 'FixTestHelpers.ps1')
    $S = 'undo-enable-nla'
    # the undo's parameters from fix-enable-nla's printed line, as services/runbook/undo.ts maps them (changed values only)
    function Get-UndoParams($status) {
        $p = @{}
        foreach ($x in @(@('UserAuthentication', 'UserAuthentication'), @('fAllowSecProtocolNegotiation', 'AllowSecProtocolNegotiation'), @('SecurityLayer', 'SecurityLayer'))) {
            if (@($status.changed) -notcontains $x[0]) { continue }
            $v = $status.before[$x[0]]
            $p[$x[1]] = $(if ($null -eq $v) { 'absent' } else { [string]$v })
        }
        return $p
    }
}

Describe 'undo-enable-nla' {
    It 'puts the RDP-Tcp values back, removes one that was absent; needs a restart; a second run is a noop' {
        $w = New-FixWindows { param($w) $w.rdpTcp = @{ SecurityLayer = 1; UserAuthentication = 1; fAllowSecProtocolNegotiation = 1 } }
        $p = @{ UserAuthentication = '0'; AllowSecProtocolNegotiation = 'absent'; SecurityLayer = '0' }
        $r = Invoke-Fix -Windows $w -Script $S -Parameters $p
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Status.ok | Should -BeTrue
        $r.Status.changed | Should -Be @('UserAuthentication', 'fAllowSecProtocolNegotiation', 'SecurityLayer')
        $r.Status.needsRestart | Should -BeTrue
        $r.Windows.rdpTcp.UserAuthentication | Should -Be 0
        $r.Windows.rdpTcp.SecurityLayer | Should -Be 0
        $r.Windows.rdpTcp.Contains('fAllowSecProtocolNegotiation') | Should -BeFalse
        Assert-Idempotent $r $S $p | Out-Null
    }

    It 'keeps the values it is not given (keep), and is a noop when they are as before' {
        $w = New-FixWindows { param($w) $w.rdpTcp = @{ SecurityLayer = 2; UserAuthentication = 0 } }
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ UserAuthentication = '0'; AllowSecProtocolNegotiation = 'absent' }
        Assert-FixLine $r
        $r.Status.status | Should -Be 'noop'
        $r.Status.ok | Should -BeTrue
        $r.Status.needsRestart | Should -BeFalse
        Assert-Unchanged $r $w
    }

    It 'refuses <name>=<v>, changing nothing' -ForEach @(
        @{ name = 'UserAuthentication'; v = 'on' }, @{ name = 'SecurityLayer'; v = '-1' }, @{ name = 'AllowSecProtocolNegotiation'; v = '4294967296' },
        @{ name = 'SecurityLayer'; v = '' }, @{ name = 'UserAuthentication'; v = '0 ' }
    ) {
        $w = New-FixWindows { param($w) $w.rdpTcp = @{ SecurityLayer = 1; UserAuthentication = 1; fAllowSecProtocolNegotiation = 1 } }
        $p = @{ UserAuthentication = '0'; AllowSecProtocolNegotiation = 'absent'; SecurityLayer = '0' }
        $p[$name] = $v
        $r = Invoke-Fix -Windows $w -Script $S -Parameters $p
        Assert-FixLine $r
        $r.Status.status | Should -Be 'bad-param'
        $r.Status.ok | Should -BeFalse
        Assert-Unchanged $r $w
    }

    It 'round trip: fix-enable-nla then the undo of its before-values leaves the state as it was (<case>)' -ForEach @(
        @{ case = 'SecurityLayer 0, NLA off, negotiation absent'; tcp = @{ SecurityLayer = 0; UserAuthentication = 0 } },
        @{ case = 'all three absent'; tcp = @{} },
        @{ case = 'NLA off only'; tcp = @{ SecurityLayer = 2; UserAuthentication = 0; fAllowSecProtocolNegotiation = 1 } }
    ) {
        $w = New-FixWindows { param($w) $w.rdpTcp = $tcp }
        $fix = Invoke-Fix -Windows $w -Script 'fix-enable-nla'
        $fix.Status.status | Should -Be 'done'
        $p = Get-UndoParams $fix.Status
        $u = Invoke-Fix -Windows $fix.Windows -Script $S -Parameters $p
        Assert-FixLine $u
        $u.Status.status | Should -Be 'done'
        (ConvertTo-StateJson $u.Windows) | Should -Be (ConvertTo-StateJson $fix.Canonical)
        Assert-Idempotent $u $S $p | Out-Null
    }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'FixTestHelpers.ps1')
    $S = 'undo-enable-tls'
    # the undo's parameters from fix-enable-tls's printed before-values, as services/runbook/undo.ts maps them
    function Get-UndoParams($before) {
        $p = @{}
        foreach ($x in @(@('TLS 1.0', 'Tls10'), @('TLS 1.1', 'Tls11'), @('TLS 1.2', 'Tls12'))) {
            if (-not $before.Contains($x[0])) { continue }
            foreach ($n in 'Enabled', 'DisabledByDefault') {
                $v = $before[$x[0]][$n]
                $p[$x[1] + $n] = $(if ($null -eq $v) { 'absent' } else { [string]$v })
            }
        }
        return $p
    }
}

Describe 'undo-enable-tls' {
    It 'puts a value back and removes one that was absent; needs a restart; a second run is a noop' {
        $w = New-FixWindows { param($w) $w.schannelServer['TLS 1.2'] = @{ Enabled = 1; DisabledByDefault = 0 } }
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Tls12Enabled = '0'; Tls12DisabledByDefault = 'absent' }
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Status.ok | Should -BeTrue
        $r.Status.changed | Should -Be @('TLS 1.2\Enabled', 'TLS 1.2\DisabledByDefault')
        $r.Status.needsRestart | Should -BeTrue
        $r.Windows.schannelServer['TLS 1.2'].Enabled | Should -Be 0
        $r.Windows.schannelServer['TLS 1.2'].Contains('DisabledByDefault') | Should -BeFalse
        $again = Assert-Idempotent $r $S @{ Tls12Enabled = '0'; Tls12DisabledByDefault = 'absent' }
        $again.Status.needsRestart | Should -BeFalse
    }

    It 'creates the protocol key for a value that was there before' {
        $w = New-FixWindows { param($w) $w.schannelServer.Remove('TLS 1.1') }
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Tls11Enabled = '0' }
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Windows.schannelServer['TLS 1.1'].Enabled | Should -Be 0
    }

    It 'keeps what it is not told to restore, and does nothing when the values are as before' {
        $w = New-FixWindows { param($w) $w.schannelServer['TLS 1.0'] = @{ Enabled = 0 } }
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Tls10Enabled = '0'; Tls12Enabled = 'absent' }
        Assert-FixLine $r
        $r.Status.status | Should -Be 'noop'
        $r.Status.ok | Should -BeTrue
        @($r.Status.changed).Count | Should -Be 0
        Assert-Unchanged $r $w
    }

    It 'treats 0xFFFFFFFF (read back as -1) as 4294967295: a second run is a noop' {
        $w = New-FixWindows { param($w) $w.schannelServer['TLS 1.2'] = @{ Enabled = 1 } }
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Tls12Enabled = '4294967295' }
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Windows.schannelServer['TLS 1.2'].Enabled | Should -Be -1
        Assert-Idempotent $r $S @{ Tls12Enabled = '4294967295' } | Out-Null
    }

    It 'refuses <name>=<v>, changing nothing' -ForEach @(
        @{ name = 'Tls12Enabled'; v = 'yes' }, @{ name = 'Tls12Enabled'; v = '-1' }, @{ name = 'Tls10DisabledByDefault'; v = '4294967296' },
        @{ name = 'Tls11Enabled'; v = '12345678901' }, @{ name = 'Tls11Enabled'; v = '' }, @{ name = 'Tls12Enabled'; v = "1`n" }
    ) {
        $w = New-FixWindows { param($w) $w.schannelServer['TLS 1.2'] = @{ Enabled = 1; DisabledByDefault = 0 } }
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Tls12DisabledByDefault = 'absent'; $name = $v }
        Assert-FixLine $r
        $r.Status.status | Should -Be 'bad-param'
        $r.Status.ok | Should -BeFalse
        Assert-Unchanged $r $w
    }

    It 'round trip: fix-enable-tls then the undo of its before-values leaves the state as it was (<case>)' -ForEach @(
        @{ case = 'Enabled 0, DisabledByDefault absent'; tls = @{ 'TLS 1.2' = @{ Enabled = 0 } }; fix = @{ Tls10 = '0'; Tls11 = '0' } },
        @{ case = 'both absent, 1.0 and 1.1 ticked'; tls = @{ 'TLS 1.0' = @{}; 'TLS 1.1' = @{ Enabled = 0; DisabledByDefault = 1 }; 'TLS 1.2' = @{ DisabledByDefault = 1 } }; fix = @{ Tls10 = '1'; Tls11 = '1' } },
        @{ case = 'no TLS 1.2 key at all'; tls = @{ 'TLS 1.0' = @{}; 'TLS 1.1' = @{} }; fix = @{ Tls10 = '0'; Tls11 = '0' } }
    ) {
        $w = New-FixWindows { param($w) $w.schannelServer = $tls }
        $fix = Invoke-Fix -Windows $w -Script 'fix-enable-tls' -Parameters $fix
        $fix.Status.status | Should -Be 'done'
        $p = Get-UndoParams $fix.Status.before
        $u = Invoke-Fix -Windows $fix.Windows -Script $S -Parameters $p
        Assert-FixLine $u
        $u.Status.status | Should -Be 'done'
        foreach ($k in 'TLS 1.0', 'TLS 1.1', 'TLS 1.2') {
            $want = $fix.Canonical.schannelServer[$k]
            $got = $u.Windows.schannelServer[$k]
            foreach ($n in 'Enabled', 'DisabledByDefault') {
                "$k $n $(if ($null -ne $got -and $got.Contains($n)) { $got[$n] } else { 'absent' })" | Should -Be "$k $n $(if ($null -ne $want -and $want.Contains($n)) { $want[$n] } else { 'absent' })"
            }
        }
        $rest = { param($x) $c = Copy-ModelData $x; $c.Remove('schannelServer'); ConvertTo-StateJson $c }
        (& $rest $u.Windows) | Should -Be (& $rest $fix.Canonical)
        Assert-Idempotent $u $S $p | Out-Null
    }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'FixTestHelpers.ps1')
    $S = 'fix-enable-tls'
}

Describe 'fix-enable-tls' {
    It 'turns TLS 1.2 server on, prints the before-values, re-reads them; a second run is a noop' {
        $w = New-FixWindows { param($w) $w.schannelServer['TLS 1.2'] = @{ Enabled = 0; DisabledByDefault = 1 } }
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Tls10 = '0'; Tls11 = '0' }
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Status.changed | Should -Be @('TLS 1.2')
        $r.Status.before.'TLS 1.2'.Enabled | Should -Be 0
        $r.Status.needsRestart | Should -BeTrue
        $r.Windows.schannelServer['TLS 1.2'].Enabled | Should -Be 1
        $r.Windows.schannelServer['TLS 1.2'].DisabledByDefault | Should -Be 0
        Assert-Idempotent $r $S @{ Tls10 = '0'; Tls11 = '0' } | Out-Null
    }

    It 'leaves TLS 1.0 and 1.1 alone unless asked' {
        $w = New-FixWindows { param($w) $w.schannelServer['TLS 1.0'] = @{ Enabled = 0 } }
        $r = Invoke-Fix -Windows $w -Script $S
        $r.Windows.schannelServer['TLS 1.0'].Enabled | Should -Be 0
        $r2 = Invoke-Fix -Windows $w -Script $S -Parameters @{ Tls10 = '1' }
        $r2.Status.changed | Should -Contain 'TLS 1.0'
    }

    It 'refuses <v>' -ForEach @(@{ v = 'yes' }, @{ v = '2' }, @{ v = "1'" }) {
        $w = New-FixWindows { param($w) $w.schannelServer['TLS 1.2'] = @{ Enabled = 0 } }
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Tls10 = $v }
        Assert-FixLine $r
        $r.Status.status | Should -Be 'bad-param'
        Assert-Unchanged $r $w
    }
}

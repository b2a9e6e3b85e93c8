BeforeAll {
    . (Join-Path $PSScriptRoot 'FixTestHelpers.ps1')
    $S = 'fix-enable-nla'
}

Describe 'fix-enable-nla' {
    It 'requires NLA, keeps SecurityLayer 2, prints the before-values; a second run is a noop' {
        $w = New-FixWindows { param($w) $w.rdpTcp.UserAuthentication = 0 }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Status.changed | Should -Be @('UserAuthentication')
        $r.Status.before.UserAuthentication | Should -Be 0
        $r.Windows.rdpTcp.UserAuthentication | Should -Be 1
        $r.Windows.rdpTcp.SecurityLayer | Should -Be 2
        Assert-Idempotent $r $S | Out-Null
    }

    It 'raises SecurityLayer 0 to 1' {
        $w = New-FixWindows { param($w) $w.rdpTcp.SecurityLayer = 0 }
        $r = Invoke-Fix -Windows $w -Script $S
        $r.Status.changed | Should -Contain 'SecurityLayer'
        $r.Windows.rdpTcp.SecurityLayer | Should -Be 1
    }

    It 'refuses on a domain-joined VM whose secure channel is broken, and changes nothing (A14)' {
        $w = New-FixWindows { param($w) $w.rdpTcp.UserAuthentication = 0; $w.domainJoined = $true; $w.secureChannel = $false }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'secure-channel-broken'
        $r.Status.ok | Should -BeFalse
        Assert-Unchanged $r $w
    }

    It 'goes ahead on a domain-joined VM with a healthy secure channel' {
        $w = New-FixWindows { param($w) $w.rdpTcp.UserAuthentication = 0; $w.domainJoined = $true; $w.secureChannel = $true }
        $r = Invoke-Fix -Windows $w -Script $S
        $r.Status.status | Should -Be 'done'
    }
}

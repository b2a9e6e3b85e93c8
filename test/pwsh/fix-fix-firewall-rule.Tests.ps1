BeforeAll {
    . (Join-Path $PSScriptRoot 'FixTestHelpers.ps1')
    $S = 'fix-fix-firewall-rule'
}

Describe 'fix-fix-firewall-rule' {
    It 'enables the rule on the RDP port, prints the before-values; a second run is a noop' {
        $w = New-FixWindows { param($w) $w.firewallRdpRule = @{ enabled = $false; localPort = 3389 } }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Status.action | Should -Be 'updated'
        $r.Status.before.enabled | Should -BeFalse
        $r.Windows.firewallRdpRule.enabled | Should -BeTrue
        Assert-Idempotent $r $S | Out-Null
    }

    It 'moves the rule to the configured port' {
        $w = New-FixWindows { param($w) $w.rdpPort = 3390; $w.listeners[0].port = 3390 }
        $r = Invoke-Fix -Windows $w -Script $S
        $r.Status.action | Should -Be 'updated'
        @($r.Windows.firewallRdpRule.localPort | ForEach-Object { [string]$_ }) | Should -Be @('3390')
    }

    It 'creates the rule when it is missing' {
        $w = New-FixWindows { param($w) $w.firewallRdpRule = $null }
        $r = Invoke-Fix -Windows $w -Script $S
        $r.Status.action | Should -Be 'created'
        $r.Status.before | Should -BeNullOrEmpty
        $r.Windows.firewallRdpRule.enabled | Should -BeTrue
    }

    It 'leaves a right rule alone' {
        $w = New-FixWindows
        $r = Invoke-Fix -Windows $w -Script $S
        $r.Status.status | Should -Be 'noop'
        Assert-Unchanged $r $w
    }
}

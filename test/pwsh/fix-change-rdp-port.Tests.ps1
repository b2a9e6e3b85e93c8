BeforeAll {
    . (Join-Path $PSScriptRoot 'FixTestHelpers.ps1')
    $S = 'fix-change-rdp-port'
}

Describe 'fix-change-rdp-port' {
    It 'moves RDP to the new port: firewall, registry, TermService, then the built-in rule; a second run is a noop' {
        $w = New-FixWindows
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Port = '3390' }
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Status.oldPort | Should -Be 3389
        $r.Status.listening | Should -BeTrue
        $r.Status.firewall | Should -Be 'moved'
        $r.Status.before.port | Should -Be 3389
        $r.Status.before.rule.localPort | Should -Be @('3389')
        $r.Status.before.Contains('udp') | Should -BeTrue
        $r.Windows.rdpPort | Should -Be 3390
        @($r.Windows.firewallRdpRule.localPort | ForEach-Object { [string]$_ }) | Should -Be @('3390')
        @($r.Windows.firewall.rules | Where-Object { $_.name -eq 'RDPDoctor-RDP-In-TCP' }).Count | Should -Be 0
        Assert-Idempotent $r $S @{ Port = '3390' } | Out-Null
    }

    It 'creates the built-in rule, restricted to TermService, when it is missing' {
        $w = New-FixWindows { param($w) $w.firewallRdpRule = $null }
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Port = '3390' }
        $r.Status.status | Should -Be 'done'
        $r.Status.firewall | Should -Be 'created'
        $r.Windows.firewallRdpRule.enabled | Should -BeTrue
    }

    It 'refuses <port> with <status> and changes nothing' -ForEach @(
        @{ port = '80'; status = 'bad-param' }
        @{ port = 'abc'; status = 'bad-param' }
        @{ port = '5985'; status = 'bad-param' }
        @{ port = '3390; Stop-Computer'; status = 'bad-param' }
        @{ port = ''; status = 'bad-param' }
        @{ port = '70000'; status = 'bad-param' }
        @{ port = '50000'; status = 'dynamic-range' }
    ) {
        $w = New-FixWindows
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Port = $port }
        Assert-FixLine $r
        $r.Status.status | Should -Be $status
        Assert-Unchanged $r $w
    }

    It 'refuses a port another process listens on' {
        $w = New-FixWindows { param($w) $w.listeners += @{ port = 3390; pid = 4242; process = 'java'; services = @('TomcatAgent') }; $w.services.TomcatAgent = 'Running' }
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Port = '3390' }
        $r.Status.status | Should -Be 'port-in-use'
        Assert-Unchanged $r $w
    }

    It 'keeps the old port allowed when TermService is stuck: timeout, the new-port rule stays beside the old one (A5, A12)' {
        $w = New-FixWindows { param($w) $w.services.TermService = @{ state = 'Running'; hangs = $true } }
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Port = '3390' }
        Assert-FixLine $r
        $r.Status.status | Should -Be 'timeout'
        $r.Status.svcError | Should -Be 'TermService:timeout'
        @($r.Windows.firewallRdpRule.localPort | ForEach-Object { [string]$_ }) | Should -Be @('3389')
        @($r.Windows.firewall.rules | Where-Object { $_.name -eq 'RDPDoctor-RDP-In-TCP' }).Count | Should -Be 1
        $r.Run.virtualSeconds | Should -BeLessOrEqual 300
    }
}

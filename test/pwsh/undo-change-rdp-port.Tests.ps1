BeforeAll {
    . (Join-Path $PSScriptRoot 'FixTestHelpers.ps1')
    $S = 'undo-change-rdp-port'
    # the undo's parameters from fix-change-rdp-port's status line, as services/runbook/undo-more.ts maps them
    function Get-UndoParams($st) {
        $b = $st.before
        $p = @{ Port = [string]$b.port }
        if ($st.firewall -eq 'created') { $p.RuleExists = '0' }
        elseif ($st.firewall -eq 'moved') { $p.RuleExists = '1'; $p.RuleEnabled = $(if ($b.rule.enabled) { 'True' } else { 'False' }); $p.RuleLocalPort = (@($b.rule.localPort) -join '.') }
        if ($null -ne $b.udp) { $p.UdpLocalPort = (@($b.udp.localPort) -join '.') }
        return $p
    }
    $Udp = { param($w) $w.firewall = @{ rules = @(@{ name = 'RemoteDesktop-UserMode-In-UDP'; protocol = 'UDP'; localPort = 3389 }) } }
}

Describe 'undo-change-rdp-port' {
    It 'puts back the port, the TCP and UDP rules, TermService listening on the old port; a second run is a noop' {
        $w = New-FixWindows $Udp
        $fix = Invoke-Fix -Windows $w -Script 'fix-change-rdp-port' -Parameters @{ Port = '3390' }
        $fix.Status.status | Should -Be 'done'
        $p = Get-UndoParams $fix.Status
        $r = Invoke-Fix -Windows $fix.Windows -Script $S -Parameters $p
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Status.listening | Should -BeTrue
        $r.Status.firewall | Should -Be @('tcp', 'udp')
        (ConvertTo-StateJson $r.Windows) | Should -Be (ConvertTo-StateJson $fix.Canonical)
        Assert-Idempotent $r $S $p | Out-Null
    }

    It 'puts back a port under 1025 (443), and removes the built-in rule the fix created' {
        $w = New-FixWindows { param($w) $w.rdpPort = 443; $w.listeners = @(@{ port = 443; pid = 1104; process = 'svchost'; services = @('TermService') }); $w.firewallRdpRule = $null }
        $fix = Invoke-Fix -Windows $w -Script 'fix-change-rdp-port' -Parameters @{ Port = '3390' }
        $fix.Status.firewall | Should -Be 'created'
        $r = Invoke-Fix -Windows $fix.Windows -Script $S -Parameters (Get-UndoParams $fix.Status)
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Windows.rdpPort | Should -Be 443
        $r.Windows.firewallRdpRule | Should -BeNullOrEmpty
        (ConvertTo-StateJson $r.Windows) | Should -Be (ConvertTo-StateJson $fix.Canonical)
    }

    It 'refuses the WinRM ports and bad values, changing nothing: <port>' -ForEach @(
        @{ port = '5985' }, @{ port = '47001' }, @{ port = '0' }, @{ port = '70000' }, @{ port = '3389;x' }
    ) {
        $w = New-FixWindows
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Port = $port }
        Assert-FixLine $r
        $r.Status.status | Should -Be 'bad-param'
        Assert-Unchanged $r $w
    }

    It 'does not take a port another program holds now' {
        $w = New-FixWindows
        $fix = Invoke-Fix -Windows $w -Script 'fix-change-rdp-port' -Parameters @{ Port = '3390' }
        $busy = Copy-ModelData $fix.Windows
        $busy.listeners = @($busy.listeners) + @(@{ port = 3389; pid = 4242; process = 'java'; services = @('TomcatAgent') })
        $r = Invoke-Fix -Windows $busy -Script $S -Parameters (Get-UndoParams $fix.Status)
        Assert-FixLine $r
        $r.Status.status | Should -Be 'port-in-use'
        $r.Status.ok | Should -BeFalse
        $r.Windows.rdpPort | Should -Be 3390
    }

    It 'bounds a TermService that never stops: status timeout, no hang' {
        $w = New-FixWindows
        $fix = Invoke-Fix -Windows $w -Script 'fix-change-rdp-port' -Parameters @{ Port = '3390' }
        $stuck = Copy-ModelData $fix.Windows
        $stuck.services.TermService = @{ state = 'Running'; hangs = $true }
        $r = Invoke-Fix -Windows $stuck -Script $S -Parameters (Get-UndoParams $fix.Status)
        Assert-FixLine $r
        $r.Status.status | Should -Be 'timeout'
        $r.Status.ok | Should -BeFalse
    }
}

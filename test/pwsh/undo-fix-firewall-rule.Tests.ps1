BeforeAll {
    . (Join-Path $PSScriptRoot 'FixTestHelpers.ps1')
    $S = 'undo-fix-firewall-rule'
    # the undo's parameters from fix-fix-firewall-rule's printed before-values, as services/runbook/undo.ts maps them
    function Get-UndoParams($before) {
        if ($null -eq $before) { return @{ Exists = '0' } }
        return @{ Exists = '1'; Enabled = $(if ($before.enabled) { 'True' } else { 'False' }); LocalPort = (@($before.localPort) -join '.') }
    }
}

Describe 'undo-fix-firewall-rule' {
    It 'puts Enabled and the ports back; a second run is a noop' {
        $w = New-FixWindows
        $p = @{ Exists = '1'; Enabled = 'False'; LocalPort = '3389.3390' }
        $r = Invoke-Fix -Windows $w -Script $S -Parameters $p
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Status.ok | Should -BeTrue
        $r.Status.action | Should -Be 'updated'
        $r.Windows.firewallRdpRule.enabled | Should -BeFalse
        @($r.Windows.firewallRdpRule.localPort | ForEach-Object { [string]$_ }) | Should -Be @('3389', '3390')
        Assert-Idempotent $r $S $p | Out-Null
    }

    It 'removes the rule the fix created (Exists 0); a second run is a noop' {
        $w = New-FixWindows
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Exists = '0' }
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Status.action | Should -Be 'removed'
        $r.Windows.firewallRdpRule | Should -BeNullOrEmpty
        Assert-Idempotent $r $S @{ Exists = '0' } | Out-Null
    }

    It 'is a noop when the rule is as before' {
        $w = New-FixWindows
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Exists = '1'; Enabled = 'True'; LocalPort = '3389' }
        Assert-FixLine $r
        $r.Status.status | Should -Be 'noop'
        $r.Status.ok | Should -BeTrue
        $r.Status.action | Should -Be 'none'
        Assert-Unchanged $r $w
    }

    It 'reports rule-missing when the rule to put back is gone, and changes nothing' {
        $w = New-FixWindows { param($w) $w.firewallRdpRule = $null }
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Exists = '1'; Enabled = 'False'; LocalPort = '3389' }
        Assert-FixLine $r
        $r.Status.status | Should -Be 'rule-missing'
        $r.Status.ok | Should -BeFalse
        $r.Status.step | Should -Be 'missing'
        Assert-Unchanged $r $w
    }

    It 'refuses <label>, changing nothing' -ForEach @(
        @{ label = 'Exists=2'; p = @{ Exists = '2' } }, @{ label = 'Exists=yes'; p = @{ Exists = 'yes' } },
        @{ label = 'Exists=1 Enabled=Maybe LocalPort=3389'; p = @{ Exists = '1'; Enabled = 'Maybe'; LocalPort = '3389' } }, @{ label = 'Exists=1 Enabled=False LocalPort='; p = @{ Exists = '1'; Enabled = 'False'; LocalPort = '' } },
        @{ label = 'Exists=1 Enabled=False LocalPort=3389,3390'; p = @{ Exists = '1'; Enabled = 'False'; LocalPort = '3389,3390' } }, @{ label = 'Exists=1 Enabled=False LocalPort=70000'; p = @{ Exists = '1'; Enabled = 'False'; LocalPort = '70000' } },
        @{ label = 'Exists=1 Enabled=False LocalPort=0'; p = @{ Exists = '1'; Enabled = 'False'; LocalPort = '0' } }, @{ label = 'Exists=1 Enabled=False LocalPort=Any'; p = @{ Exists = '1'; Enabled = 'False'; LocalPort = 'Any' } },
        @{ label = 'Exists=1 Enabled=False LocalPort=3389<LF>'; p = @{ Exists = '1'; Enabled = 'False'; LocalPort = "3389`n" } }, @{ label = 'Exists=1 Enabled=False LocalPort=1.2.3.4.5.6.7.8.9.10.11'; p = @{ Exists = '1'; Enabled = 'False'; LocalPort = '1.2.3.4.5.6.7.8.9.10.11' } }
    ) {
        $w = New-FixWindows
        $r = Invoke-Fix -Windows $w -Script $S -Parameters $p
        Assert-FixLine $r
        $r.Status.status | Should -Be 'bad-param'
        $r.Status.ok | Should -BeFalse
        Assert-Unchanged $r $w
    }

    It 'round trip: fix-fix-firewall-rule then the undo of its before-values leaves the state as it was (<case>)' -ForEach @(
        @{ case = 'disabled'; rule = @{ enabled = $false; localPort = 3389 }; port = 3389 },
        @{ case = 'on another port'; rule = @{ enabled = $true; localPort = 3391 }; port = 3389 },
        @{ case = 'absent'; rule = $null; port = 3389 },
        @{ case = 'two ports, disabled, RDP moved'; rule = @{ enabled = $false; localPort = @('3389', '3391') }; port = 3390 }
    ) {
        $w = New-FixWindows { param($w) $w.firewallRdpRule = $rule; $w.rdpPort = $port; $w.listeners[0].port = $port }
        $fix = Invoke-Fix -Windows $w -Script 'fix-fix-firewall-rule'
        $fix.Status.status | Should -Be 'done'
        $p = Get-UndoParams $fix.Status.before
        $u = Invoke-Fix -Windows $fix.Windows -Script $S -Parameters $p
        Assert-FixLine $u
        $u.Status.status | Should -Be 'done'
        (ConvertTo-StateJson $u.Windows) | Should -Be (ConvertTo-StateJson $fix.Canonical)
        Assert-Idempotent $u $S $p | Out-Null
    }
}

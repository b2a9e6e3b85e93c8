BeforeAll {
    . (Join-Path $PSScriptRoot 'FixTestHelpers.ps1')
    $S = 'fix-allow-rdp-through-firewall'
    $U = 'undo-allow-rdp-through-firewall'
    # the undo's parameters from the fix's status line, as services/runbook/causes/guest-firewall.ts maps them
    function Get-UndoParams($st) {
        $p = @{ Profile = $st.profile }
        $c = @($st.changed)
        if ($c -contains 'blockAll') { $p.BlockAll = '1' }
        if ($c -contains 'builtin') { $p.Builtin = 'False' }
        if ($c -contains 'created') { $p.Own = 'remove' }
        if ($c -contains 'own') { $p.Own = $(if ($st.before.own.enabled) { 'True' } else { 'False' }); $p.OwnPort = (@($st.before.own.localPort) -join '.') }
        return $p
    }
}

Describe 'fix-allow-rdp-through-firewall' {
    It 'turns "block all incoming" off for the active profile only, records it; a second run is a noop; the undo restores the state' {
        $w = New-FixWindows { param($w) $w.firewall = @{ activeProfile = 'Public'; profiles = @{ Public = @{ blockAllInbound = $true }; Domain = @{ blockAllInbound = $true } } } }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Status.ok | Should -BeTrue
        $r.Status.profile | Should -Be 'Public'
        @($r.Status.changed) | Should -Be @('blockAll')
        $r.Status.before.blockAll | Should -BeTrue
        $r.Windows.firewall.profiles.Public.blockAllInbound | Should -BeFalse
        $r.Windows.firewall.profiles.Domain.blockAllInbound | Should -BeTrue
        Assert-Idempotent $r $S | Out-Null
        $u = Invoke-Fix -Windows $r.Windows -Script $U -Parameters (Get-UndoParams $r.Status)
        Assert-FixLine $u
        $u.Status.status | Should -Be 'done'
        (ConvertTo-StateJson $u.Windows) | Should -Be (ConvertTo-StateJson $r.Canonical)
    }

    It 'enables the disabled built-in rule when it covers the port; the undo disables it again' {
        $w = New-FixWindows { param($w) $w.firewallRdpRule.enabled = $false }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        @($r.Status.changed) | Should -Be @('builtin')
        $r.Windows.firewallRdpRule.enabled | Should -BeTrue
        Assert-Idempotent $r $S | Out-Null
        $u = Invoke-Fix -Windows $r.Windows -Script $U -Parameters (Get-UndoParams $r.Status)
        (ConvertTo-StateJson $u.Windows) | Should -Be (ConvertTo-StateJson $r.Canonical)
    }

    It 'creates the RDP Doctor rule when the built-in rule is on another port; the undo removes it' {
        $w = New-FixWindows { param($w) $w.firewallRdpRule = @{ enabled = $true; localPort = 3391 } }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        @($r.Status.changed) | Should -Be @('created')
        $own = @($r.Windows.firewall.rules | Where-Object { $_.name -eq 'RDPDoctor-RDP-In-TCP' })
        $own.Count | Should -Be 1
        $own[0].action | Should -Be 'Allow'
        @($own[0].localPort) | Should -Be @('3389')
        $r.Windows.firewallRdpRule.localPort | Should -Be @('3391')
        # a second run: noop, the state as it was (compared canonically: a one-port list round-trips as a string)
        $again = Invoke-Fix -Windows $r.Windows -Script $S
        $again.Status.status | Should -Be 'noop'
        Assert-Unchanged $again $r.Windows
        $u = Invoke-Fix -Windows $r.Windows -Script $U -Parameters (Get-UndoParams $r.Status)
        (ConvertTo-StateJson $u.Windows) | Should -Be (ConvertTo-StateJson $r.Canonical)
    }

    It 'is a noop on a healthy VM and changes nothing' {
        $w = New-FixWindows
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'noop'
        @($r.Status.changed).Count | Should -Be 0
        Assert-Unchanged $r $w
    }

    It 'creates its own rule when the built-in rule exists only in Group Policy (disabled there)' {
        # the built-in rule defined only by Group Policy and disabled: the local rule is created and covers the port
        $w = New-FixWindows { param($w) $w.firewallRdpRule = $null; $w.firewall = @{ rules = @(@{ name = 'RemoteDesktop-UserMode-In-TCP'; enabled = $false; source = 'GroupPolicy'; localPort = '3389' }) } }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        @($r.Status.changed) | Should -Be @('created')
    }
}

Describe 'undo-allow-rdp-through-firewall' {
    It 'refuses <label>, changing nothing' -ForEach @(
        @{ label = 'no profile'; p = @{ BlockAll = '1' } }, @{ label = 'Profile=All'; p = @{ Profile = 'All'; BlockAll = '1' } },
        @{ label = 'BlockAll=0'; p = @{ Profile = 'Public'; BlockAll = '0' } }, @{ label = 'Builtin=True'; p = @{ Profile = 'Public'; Builtin = 'True' } },
        @{ label = 'Own=True without ports'; p = @{ Profile = 'Public'; Own = 'True' } }, @{ label = 'OwnPort=0'; p = @{ Profile = 'Public'; Own = 'False'; OwnPort = '0' } }
    ) {
        $w = New-FixWindows
        $r = Invoke-Fix -Windows $w -Script $U -Parameters $p
        Assert-FixLine $r
        $r.Status.status | Should -Be 'bad-param'
        Assert-Unchanged $r $w
    }
}

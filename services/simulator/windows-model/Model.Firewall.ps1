# Windows Firewall (NetSecurity module) [S26]:
#  - rules by -Name (DisplayName/DisplayGroup are localized); PersistentStore (the default) holds local
#    rules, ActiveStore the effective sum including Group Policy, RSOP the Group Policy ones;
#  - Enabled is the enum NetSecurity.Enabled True=1, False=2 [B4]: both values are truthy, its string
#    is 'True'/'False'; LocalPort comes back as string(s): "3389", "Any", "3389-3390", or an array.
#  - zero matches for -Name: the non-terminating CmdletizationQuery_NotFound_Name error (CDXML cmdlets, [I1]).

enum NetSecurityEnabled { True = 1; False = 2 }
enum NetSecurityAction { NotConfigured = 0; Allow = 2; Block = 4 }
enum NetSecurityDirection { Inbound = 1; Outbound = 2 }
enum NetSecurityGpoBoolean { False = 0; True = 1; NotConfigured = 2 }

$script:RDP_RULE = 'RemoteDesktop-UserMode-In-TCP'

function Get-ModelFirewallRules {
    $w = $script:M.W
    $list = New-Object System.Collections.ArrayList
    if ($null -ne $w.firewallRdpRule) {
        [void]$list.Add(@{ name = $script:RDP_RULE; enabled = $w.firewallRdpRule.enabled; action = 'Allow'; protocol = 'TCP'; localPort = $w.firewallRdpRule.localPort; profile = 'Any'; direction = 'Inbound'; source = 'Local'; builtin = $true })
    }
    foreach ($r in $w.firewall.rules) { [void]$list.Add($r) }
    return $list
}

function Test-StoreHas($rule, [string]$store) {
    switch ($store) {
        'ActiveStore' { return $true }
        'RSOP' { return ($rule.source -eq 'GroupPolicy') }
        default { return ($rule.source -ne 'GroupPolicy') }
    }
}

function New-FirewallRuleObject($r, [string]$store) {
    [pscustomobject]@{
        PSTypeName = 'Microsoft.Management.Infrastructure.CimInstance#root/standardcimv2/MSFT_NetFirewallRule'
        Name = $r.name; ID = $r.name
        DisplayName = $(if ($r.name -eq $script:RDP_RULE) { 'Remote Desktop - User Mode (TCP-In)' } else { $r.name })
        DisplayGroup = $(if ($r.name -eq $script:RDP_RULE) { 'Remote Desktop' } else { $null })
        Enabled = $(if ($r.enabled) { [NetSecurityEnabled]::True } else { [NetSecurityEnabled]::False })
        Action = [NetSecurityAction]$r.action
        Direction = [NetSecurityDirection]$r.direction
        Profile = $r.profile
        PolicyStoreSourceType = $(if ($r.source -eq 'GroupPolicy') { 'GroupPolicy' } else { 'Local' })
        PrimaryStatus = 'OK'
        ModelStore = $store
    }
}

function Write-FirewallNotFound($cmdlet, [string]$name, [string]$command) {
    $ex = [System.Management.Automation.ItemNotFoundException]::new("No MSFT_NetFirewallRule objects found with property 'Name' equal to '$name'.  Verify the value of the property and retry.")
    Write-ModelError $cmdlet ((New-ModelErrorRecord $ex "CmdletizationQuery_NotFound_Name,$command" 'ObjectNotFound' $name))
}

function Get-NetFirewallRule {
    [CmdletBinding()]
    param([Parameter(Position = 0)] [Alias('ID')] [string[]]$Name, [string]$PolicyStore = 'PersistentStore', [string[]]$DisplayName, [string[]]$DisplayGroup, [switch]$All)
    if (Test-CimDamaged 'MSFT_NetFirewallRule') { Write-CimFailure $PSCmdlet 'MSFT_NetFirewallRule' 'Get-NetFirewallRule'; return }
    $rules = [System.Collections.Generic.List[object]]::new()
    foreach ($r in (Get-ModelFirewallRules)) { if (Test-StoreHas $r $PolicyStore) { $rules.Add($r) } }
    if ($Name) {
        foreach ($n in $Name) {
            $found = $false
            foreach ($r in $rules) { if ($r.name -like $n) { $found = $true; New-FirewallRuleObject $r $PolicyStore } }
            if (-not $found) { Write-FirewallNotFound $PSCmdlet $n 'Get-NetFirewallRule' }
        }
        return
    }
    if ($DisplayName -or $DisplayGroup) { throw 'model: Get-NetFirewallRule by DisplayName/DisplayGroup is localized on Windows: use -Name [S26]' }
    $rules | ForEach-Object { New-FirewallRuleObject $_ $PolicyStore }
}

function Get-NetFirewallPortFilter {
    [CmdletBinding()]
    param([Parameter(ValueFromPipeline)] $AssociatedNetFirewallRule, [string]$PolicyStore = 'PersistentStore', [switch]$All)
    process {
        if (Test-CimDamaged 'MSFT_NetFirewallRule') { Write-CimFailure $PSCmdlet 'MSFT_NetProtocolPortFilter' 'Get-NetFirewallPortFilter'; return }
        # -All without a rule: every rule's filter of the store; InstanceID is the rule's Name (InstanceID)
        if ($All -and $null -eq $AssociatedNetFirewallRule) {
            $AssociatedNetFirewallRule = @(Get-ModelFirewallRules | Where-Object { Test-StoreHas $_ $PolicyStore } | ForEach-Object { [pscustomobject]@{ Name = $_.name } })
        }
        foreach ($rule in @($AssociatedNetFirewallRule)) {
            $r = $null
            foreach ($x in (Get-ModelFirewallRules)) { if ($null -eq $r -and $x.name -eq $rule.Name) { $r = $x } }
            if ($null -eq $r) { Write-FirewallNotFound $PSCmdlet $rule.Name 'Get-NetFirewallPortFilter'; continue }
            $lp = @($r.localPort)
            [pscustomobject]@{
                PSTypeName = 'Microsoft.Management.Infrastructure.CimInstance#root/standardcimv2/MSFT_NetProtocolPortFilter'
                InstanceID = $r.name; Protocol = $r.protocol
                LocalPort = $(if ($lp.Count -eq 1) { [string]$lp[0] } else { [string[]]$lp })
                RemotePort = 'Any'
            }
        }
    }
}

function Find-ModelFirewallRule([string]$name) {
    if ($name -eq $script:RDP_RULE -and $null -ne $script:M.W.firewallRdpRule) { return @{ builtin = $true } }
    foreach ($r in $script:M.W.firewall.rules) { if ($r.name -eq $name -and $r.source -ne 'GroupPolicy') { return @{ builtin = $false; rule = $r } } }
    return $null
}

function Set-NetFirewallRule {
    [CmdletBinding(SupportsShouldProcess)]
    param(
        [Parameter(Position = 0, ValueFromPipelineByPropertyName)] [Alias('ID')] [string[]]$Name,
        [string]$PolicyStore = 'PersistentStore', [string]$Enabled, [string[]]$LocalPort, [string]$Protocol, [string]$Action, [string]$Profile,
        [string]$NewDisplayName, [string]$Program, [string]$Service, [string[]]$RemoteAddress, [switch]$PassThru
    )
    process {
        if (Test-CimDamaged 'MSFT_NetFirewallRule') { Write-CimFailure $PSCmdlet 'MSFT_NetFirewallRule' 'Set-NetFirewallRule'; return }
        foreach ($n in $Name) {
            $f = Find-ModelFirewallRule $n
            if ($null -eq $f) { Write-FirewallNotFound $PSCmdlet $n 'Set-NetFirewallRule'; continue }
            if ($f.builtin) {
                $b = $script:M.W.firewallRdpRule
                if ($Enabled) { $b.enabled = ($Enabled -eq 'True') }
                if ($LocalPort) { $b.localPort = [string[]]@($LocalPort | ForEach-Object { [string]$_ }) }
            } else {
                $r = $f.rule
                if ($Enabled) { $r.enabled = ($Enabled -eq 'True') }
                if ($LocalPort) { $r.localPort = [string[]]@($LocalPort | ForEach-Object { [string]$_ }) }
                if ($Protocol) { $r.protocol = $Protocol }
                if ($Action) { $r.action = $Action }
                if ($Profile) { $r.profile = $Profile }
            }
            if ($PassThru) { Get-NetFirewallRule -Name $n }
        }
    }
}

function New-NetFirewallRule {
    [CmdletBinding(SupportsShouldProcess)]
    param(
        [string]$Name, [Parameter(Mandatory)] [string]$DisplayName, [string]$Direction = 'Inbound', [string]$Protocol = 'Any',
        [string[]]$LocalPort, [string]$Action = 'Allow', [string]$Enabled = 'True', [string]$Profile = 'Any',
        [string]$Program, [string]$Service, [string]$Group, [string]$Description, [string[]]$RemoteAddress, [string]$PolicyStore = 'PersistentStore'
    )
    if (Test-CimDamaged 'MSFT_NetFirewallRule') { Write-CimFailure $PSCmdlet 'MSFT_NetFirewallRule' 'New-NetFirewallRule'; return }
    if (-not $Name) { $Name = '{' + [guid]::NewGuid().ToString() + '}' }
    if (Find-ModelFirewallRule $Name) {
        $ex = [System.ComponentModel.Win32Exception]::new(183, 'Cannot create a file when that file already exists.')
        Write-ModelError $PSCmdlet ((New-ModelErrorRecord $ex 'Windows System Error 183,New-NetFirewallRule' 'ResourceExists' $Name))
        return
    }
    $ports = if ($LocalPort) { [string[]]@($LocalPort | ForEach-Object { [string]$_ }) } else { [string[]]@('Any') }
    if ($Name -eq $script:RDP_RULE) {
        $script:M.W.firewallRdpRule = [ordered]@{ enabled = ($Enabled -eq 'True'); localPort = $ports }
    } else {
        [void]$script:M.W.firewall.rules.Add([ordered]@{
                name = $Name; enabled = ($Enabled -eq 'True'); action = $Action; protocol = $Protocol.ToUpperInvariant(); localPort = $ports
                profile = $Profile; direction = $Direction; source = 'Local'
            })
    }
    Get-NetFirewallRule -Name $Name
}

function Remove-NetFirewallRule {
    [CmdletBinding(SupportsShouldProcess)]
    param([Parameter(Position = 0, ValueFromPipelineByPropertyName)] [Alias('ID')] [string[]]$Name, [string]$PolicyStore = 'PersistentStore')
    process {
        foreach ($n in $Name) {
            $f = Find-ModelFirewallRule $n
            if ($null -eq $f) { Write-FirewallNotFound $PSCmdlet $n 'Remove-NetFirewallRule'; continue }
            if ($f.builtin) { $script:M.W.firewallRdpRule = $null } else { $script:M.W.firewall.rules.Remove($f.rule) }
        }
    }
}

function Get-NetFirewallProfile {
    [CmdletBinding()]
    param([Parameter(Position = 0)] [string[]]$Name, [string]$PolicyStore = 'PersistentStore', [switch]$All)
    if (Test-CimDamaged 'MSFT_NetFirewallProfile') { Write-CimFailure $PSCmdlet 'MSFT_NetFirewallProfile' 'Get-NetFirewallProfile'; return }
    foreach ($p in 'Domain', 'Private', 'Public') {
        if ($Name -and $Name -notcontains $p) { continue }
        $x = $script:M.W.firewall.profiles[$p]
        [pscustomobject]@{
            PSTypeName = 'Microsoft.Management.Infrastructure.CimInstance#root/standardcimv2/MSFT_NetFirewallProfile'
            Name = $p
            Enabled = $(if ($x.enabled) { [NetSecurityGpoBoolean]::True } else { [NetSecurityGpoBoolean]::False })
            DefaultInboundAction = [NetSecurityAction]$x.defaultInbound
            # "block all incoming connections" = AllowInboundRules False
            AllowInboundRules = $(if ($x.blockAllInbound) { [NetSecurityGpoBoolean]::False } else { [NetSecurityGpoBoolean]::True })
            ModelActive = ($p -eq $script:M.W.firewall.activeProfile)
        }
    }
}

# §1b host checks (diagnose.ps1's "guest firewall, domain, CredSSP, licensing, disk" block and
# fix-allow-rdp-through-firewall): the active network profile, firewall profile changes, background
# jobs, CIM methods of Win32_TerminalServiceSetting, auditpol.exe.

# Get-NetConnectionProfile (NetConnection module, 2012+): NetworkCategory Public | Private |
# DomainAuthenticated of the connected network; the firewall applies the profile of that category [S26].
function Get-NetConnectionProfile {
    [CmdletBinding()]
    param([string]$InterfaceAlias)
    $a = [string]$script:M.W.firewall.activeProfile
    [pscustomobject]@{
        PSTypeName = 'Microsoft.Management.Infrastructure.CimInstance#root/StandardCimv2/MSFT_NetConnectionProfile'
        Name = 'Network'; InterfaceAlias = 'Ethernet'
        NetworkCategory = $(if ($a -eq 'Domain') { 'DomainAuthenticated' } else { $a })
    }
}

# Set-NetFirewallProfile -Name <profile> -AllowInboundRules True|False|NotConfigured (False = "block all
# incoming connections", INetFwPolicy2 BlockAllInboundTraffic [S26]); -Enabled; -DefaultInboundAction.
function Set-NetFirewallProfile {
    [CmdletBinding(SupportsShouldProcess)]
    param([Parameter(Position = 0)] [string[]]$Name, [string]$AllowInboundRules, [string]$Enabled, [string]$DefaultInboundAction, [string]$PolicyStore = 'PersistentStore')
    if (Test-CimDamaged 'MSFT_NetFirewallProfile') { Write-CimFailure $PSCmdlet 'MSFT_NetFirewallProfile' 'Set-NetFirewallProfile'; return }
    foreach ($n in $Name) {
        $p = $script:M.W.firewall.profiles[$n]
        if ($null -eq $p) { throw "model: no firewall profile $n" }
        if ($AllowInboundRules) { $p.blockAllInbound = ($AllowInboundRules -eq 'False') }
        if ($Enabled) { $p.enabled = ($Enabled -eq 'True') }
        if ($DefaultInboundAction) { $p.defaultInbound = $DefaultInboundAction }
    }
}

# Background jobs: Start-Job runs the script block in a child process on Windows; the model has no
# process that could hang, so the block runs at once and Wait-Job -Timeout returns the finished job.
function Start-Job {
    [CmdletBinding()]
    param([Parameter(Mandatory, Position = 0)] [scriptblock]$ScriptBlock, [object[]]$ArgumentList)
    $out = $null; $err = $null
    try { $out = @(& $ScriptBlock @ArgumentList) } catch { $err = $_ }
    [pscustomobject]@{ PSTypeName = 'System.Management.Automation.PSRemotingJob'; Id = 1; State = $(if ($err) { 'Failed' } else { 'Completed' }); ModelOut = $out; ModelErr = $err }
}
function Wait-Job { [CmdletBinding()] param([Parameter(Mandatory, Position = 0, ValueFromPipeline)] $Job, [int]$Timeout = -1) process { $Job } }
function Receive-Job {
    [CmdletBinding()]
    param([Parameter(Mandatory, Position = 0, ValueFromPipeline)] $Job, [switch]$Keep)
    process {
        if ($Job.ModelErr) { Write-ModelError $PSCmdlet $Job.ModelErr; return }
        $Job.ModelOut
    }
}
function Stop-Job { [CmdletBinding()] param([Parameter(Mandatory, Position = 0, ValueFromPipeline)] $Job) process { } }
function Remove-Job { [CmdletBinding()] param([Parameter(Mandatory, Position = 0, ValueFromPipeline)] $Job, [switch]$Force) process { } }

# Invoke-CimMethod on Win32_TerminalServiceSetting: GetSpecifiedLicenseServerList (SpecifiedLSList, empty
# when none) and GetGracePeriodDays (DaysLeft, 0 = the grace period is over) [Win32_TerminalServiceSetting docs].
function Invoke-CimMethod {
    [CmdletBinding()]
    param([Parameter(Mandatory)] $InputObject, [Parameter(Mandatory)] [string]$MethodName, [hashtable]$Arguments, [uint32]$OperationTimeoutSec)
    $w = $script:M.W
    switch ($MethodName) {
        'GetSpecifiedLicenseServerList' { return [pscustomobject]@{ ReturnValue = [uint32]0; SpecifiedLSList = [string[]]@($w.rdsh.licenseServers) } }
        'GetGracePeriodDays' { return [pscustomobject]@{ ReturnValue = [uint32]0; DaysLeft = [uint32]$(if ($w.rdsh.graceExpired) { 0 } else { 97 }) } }
        default { throw "model: Invoke-CimMethod $MethodName not modelled" }
    }
}

# auditpol.exe /get /subcategory:{GUID} /r: CSV, header then one line per subcategory; the inclusion
# setting is "Success and Failure" on Azure images [S] or "Success" when failures are not audited.
function Invoke-Auditpol {
    param([string[]]$argv)
    $a = ($argv -join ' ')
    if ($a -notmatch '/get' -or $a -notmatch '/r') { throw "model: auditpol $a not modelled (read-only /get /r only)" }
    $inc = $(if ($script:M.W.auditFailedLogons) { 'Success and Failure' } else { 'Success' })
    'Machine Name,Policy Target,Subcategory,Subcategory GUID,Inclusion Setting,Exclusion Setting'
    "VM,System,Logon,{0CCE9215-69AE-11D9-BED3-505054503030},$inc,"
}
function auditpol.exe { Invoke-Auditpol -argv $args }
function auditpol { Invoke-Auditpol -argv $args }

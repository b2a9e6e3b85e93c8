# The modelled Windows: stand-ins for every Windows-only command the project's scripts use, all
# reading and writing ONE state object (a fleet VM's `windows` state, docs/fleet-format.md).
# Functions take precedence over cmdlets and applications (about_Command_Precedence), so a script
# that calls Get-ItemProperty, sc.exe or icacls.exe under this module talks to the model.
#
# Runs under PowerShell 7 on Linux; it never calls a Windows API and never touches the real
# filesystem or registry. Every behaviour a script relies on names its source next to it:
# WINDOWS.md keys ([S5], [I6], ...; list at the end of /work/shared/design/WINDOWS.md),
# SCRIPT-REVIEW.md items (A1..A17), Microsoft docs, PowerShell source files. [S] = suspected.
#
# Areas (dot-sourced): Model.Core.ps1 (state, clock, errors, paths), Model.Registry.ps1,
# Model.Files.ps1 (filesystem, ACLs, icacls, takeown), Model.Certificates.ps1, Model.Cim.ps1,
# Model.Services.ps1 (services, network, processes), Model.Firewall.ps1, Model.Events.ps1.

Set-StrictMode -Off

. $PSScriptRoot/Model.Core.ps1
. $PSScriptRoot/Model.Registry.ps1
. $PSScriptRoot/Model.Files.ps1
. $PSScriptRoot/Model.Certificates.ps1
. $PSScriptRoot/Model.Cim.ps1
. $PSScriptRoot/Model.Services.ps1
. $PSScriptRoot/Model.Firewall.ps1
. $PSScriptRoot/Model.Events.ps1
. $PSScriptRoot/Model.Host.ps1
. $PSScriptRoot/Model.Offline.ps1

Export-ModuleMember -Function @(
    # model control (used by the runner and tests)
    'Initialize-WindowsModel', 'Get-WindowsModelState', 'Get-WindowsModelInfo', 'Test-WindowsModelHung',
    # registry / items
    'Get-ItemProperty', 'Test-Path', 'Set-ItemProperty', 'New-Item', 'New-ItemProperty', 'Remove-ItemProperty',
    'Get-ChildItem', 'Remove-Item', 'Join-Path', 'Get-Content', 'Set-Content', 'Out-File',
    # ACLs
    'Get-Acl', 'icacls.exe', 'icacls', 'takeown.exe', 'takeown',
    # certificates
    'certutil.exe', 'certutil',
    # CIM
    'Get-CimInstance', 'Get-WmiObject',
    # services
    'sc.exe', 'Start-Service', 'Stop-Service', 'Restart-Service', 'Set-Service', 'Get-Service',
    # network / processes
    'Get-NetTCPConnection', 'Get-Process', 'netstat.exe', 'netstat',
    # firewall
    'Get-NetFirewallRule', 'Get-NetFirewallPortFilter', 'Set-NetFirewallRule', 'New-NetFirewallRule',
    'Remove-NetFirewallRule', 'Get-NetFirewallProfile',
    # events
    'Get-WinEvent',
    # misc
    'Test-ComputerSecureChannel', 'Get-Date', 'Start-Sleep', 'Restart-Computer', 'Stop-Computer', 'Read-Host',
    # §1b host checks (Model.Host.ps1)
    'Get-NetConnectionProfile', 'Set-NetFirewallProfile', 'Start-Job', 'Wait-Job', 'Receive-Job', 'Stop-Job', 'Remove-Job',
    'Invoke-CimMethod', 'auditpol.exe', 'auditpol',
    # issue #15: a rescue VM with an attached disk (Model.Offline.ps1)
    'reg.exe', 'reg', 'bcdedit.exe', 'bcdedit', 'Get-Partition', 'Add-PartitionAccessPath', 'Remove-PartitionAccessPath'
)

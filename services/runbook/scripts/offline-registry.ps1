# rdp-doctor-script: offline-registry
# RDP Doctor offline repair, step 1 of 3. Run in an elevated Windows PowerShell on the RESCUE VM, with a copy of the
# broken VM's OS disk attached as drive __DRIVE__:. Loads that disk's SYSTEM hive, finds the control set Windows will
# boot from Select\Current (never assumes which one), prints the current values, then sets:
# TLS 1.2 server on (Enabled=1, DisabledByDefault=0), NLA as the current article does (UserAuthentication=1; a
# SecurityLayer of 0, plain RDP security, is raised to 1 because NLA needs TLS; 1 and 2 stay: never lowered),
# Remote Desktop on (fDenyTSConnections=0, also the policy value in the SOFTWARE hive, which wins over the
# SYSTEM one) and a kernel memory dump. Unloads both hives even when a step fails.
param(
    [string]$Drive = '__DRIVE__'
)

$ErrorActionPreference = 'Stop'
if ($Drive -notmatch '^[A-BD-Za-bd-z]$') {
    throw 'Drive must be one letter, not C'
}
$hiveFile = '{0}:\Windows\System32\config\SYSTEM' -f $Drive
$mount = 'HKLM\RDPDOCTOR_SYSTEM'
$root = 'Registry::HKEY_LOCAL_MACHINE\RDPDOCTOR_SYSTEM'
$swFile = '{0}:\Windows\System32\config\SOFTWARE' -f $Drive
$swMount = 'HKLM\RDPDOCTOR_SOFTWARE'
$swRoot = 'Registry::HKEY_LOCAL_MACHINE\RDPDOCTOR_SOFTWARE'
if (-not (Test-Path -LiteralPath $hiveFile)) {
    throw ('No SYSTEM hive at {0}: is the disk attached as {1}:?' -f $hiveFile, $Drive)
}
if (-not (Test-Path -LiteralPath $swFile)) {
    throw ('No SOFTWARE hive at {0}: is the disk attached as {1}:?' -f $swFile, $Drive)
}

function Set-Dword([string]$key, [string]$name, [int]$value) {
    if (-not (Test-Path -LiteralPath $key)) {
        New-Item -Path $key -Force | Out-Null
    }
    New-ItemProperty -LiteralPath $key -Name $name -Value $value -PropertyType DWord -Force | Out-Null
}

& reg.exe load $mount $hiveFile | Out-Null
if ($LASTEXITCODE -ne 0) {
    throw ('reg load failed ({0})' -f $LASTEXITCODE)
}
$swLoaded = $false
try {
    & reg.exe load $swMount $swFile | Out-Null
    if ($LASTEXITCODE -ne 0) {
        throw ('reg load of the SOFTWARE hive failed ({0})' -f $LASTEXITCODE)
    }
    $swLoaded = $true
    $current = [int](Get-ItemProperty -LiteralPath ('{0}\Select' -f $root)).Current
    $cs = '{0}\ControlSet{1:D3}' -f $root, $current
    Write-Output ('Windows boots from ControlSet{0:D3}' -f $current)

    $tlsKey = '{0}\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server' -f $cs
    $rdpKey = '{0}\Control\Terminal Server\WinStations\RDP-Tcp' -f $cs
    $dumpKey = '{0}\Control\CrashControl' -f $cs
    $tsKey = '{0}\Control\Terminal Server' -f $cs
    $gpKey = '{0}\Policies\Microsoft\Windows NT\Terminal Services' -f $swRoot

    # read first: what the disk has now
    $tls = Get-ItemProperty -LiteralPath $tlsKey -ErrorAction SilentlyContinue
    $rdp = Get-ItemProperty -LiteralPath $rdpKey -ErrorAction SilentlyContinue
    $ts = Get-ItemProperty -LiteralPath $tsKey -ErrorAction SilentlyContinue
    $gp = Get-ItemProperty -LiteralPath $gpKey -ErrorAction SilentlyContinue
    Write-Output ('Before: TLS 1.2 Server Enabled={0} DisabledByDefault={1}' -f $tls.Enabled, $tls.DisabledByDefault)
    Write-Output ('Before: RDP-Tcp PortNumber={0} SecurityLayer={1} UserAuthentication={2}' -f $rdp.PortNumber, $rdp.SecurityLayer, $rdp.UserAuthentication)
    Write-Output ('Before: fDenyTSConnections={0} policy fDenyTSConnections={1}' -f $ts.fDenyTSConnections, $gp.fDenyTSConnections)

    Set-Dword $tlsKey 'Enabled' 1
    Set-Dword $tlsKey 'DisabledByDefault' 0
    Set-Dword $rdpKey 'UserAuthentication' 1
    # never lower SecurityLayer: 2 (SSL) is stronger than 1 (Negotiate); only plain RDP security (0) is raised
    if ($null -ne $rdp -and $null -ne $rdp.SecurityLayer -and [int]$rdp.SecurityLayer -eq 0) {
        Set-Dword $rdpKey 'SecurityLayer' 1
    }
    if ($null -ne $ts -and $null -ne $ts.fDenyTSConnections -and [int]$ts.fDenyTSConnections -ne 0) {
        Set-Dword $tsKey 'fDenyTSConnections' 0
    }
    # the policy value wins over the SYSTEM one; a domain GPO may set it again at the next boot
    if ($null -ne $gp -and $null -ne $gp.fDenyTSConnections -and [int]$gp.fDenyTSConnections -ne 0) {
        Set-Dword $gpKey 'fDenyTSConnections' 0
        Write-Output 'Group Policy denied Remote Desktop (fDenyTSConnections=1): set to 0; a domain GPO may set it again.'
    }
    Set-Dword $dumpKey 'CrashDumpEnabled' 2
    Set-Dword $dumpKey 'NMICrashDump' 1
    # REG_EXPAND_SZ written literally: single quotes, so nothing expands %SystemRoot% before Windows reads it
    New-ItemProperty -LiteralPath $dumpKey -Name 'DumpFile' -Value '%SystemRoot%\MEMORY.DMP' -PropertyType ExpandString -Force | Out-Null
    Write-Output 'Registry fixes applied.'
} finally {
    # the registry provider keeps handles open until collected; reg unload fails while they exist
    $tls = $null
    $rdp = $null
    $ts = $null
    $gp = $null
    [System.GC]::Collect()
    [System.GC]::WaitForPendingFinalizers()
    if ($swLoaded) {
        & reg.exe unload $swMount | Out-Null
        if ($LASTEXITCODE -ne 0) {
            Write-Warning ('reg unload {0} failed: close regedit and run: reg unload {0}' -f $swMount)
        }
    }
    & reg.exe unload $mount | Out-Null
    if ($LASTEXITCODE -ne 0) {
        Write-Warning ('reg unload {0} failed: close regedit and run: reg unload {0}' -f $mount)
    }
}

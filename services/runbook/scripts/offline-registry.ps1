# rdp-doctor-script: offline-registry
# RDP Doctor offline repair, step 1 of 3. Run in an elevated Windows PowerShell on the RESCUE VM, with a copy of the
# broken VM's OS disk attached as drive __DRIVE__:. Loads that disk's SYSTEM hive, finds the control set Windows will
# boot from Select\Current (never assumes which one), prints the current values, then sets:
# TLS 1.2 server on (Enabled=1, DisabledByDefault=0), NLA (SecurityLayer=1, UserAuthentication=1,
# fAllowSecProtocolNegotiation=1) and a kernel memory dump. Unloads the hive even when a step fails.
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
if (-not (Test-Path -LiteralPath $hiveFile)) {
    throw ('No SYSTEM hive at {0}: is the disk attached as {1}:?' -f $hiveFile, $Drive)
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
try {
    $current = [int](Get-ItemProperty -LiteralPath ('{0}\Select' -f $root)).Current
    $cs = '{0}\ControlSet{1:D3}' -f $root, $current
    Write-Output ('Windows boots from ControlSet{0:D3}' -f $current)

    $tlsKey = '{0}\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server' -f $cs
    $rdpKey = '{0}\Control\Terminal Server\WinStations\RDP-Tcp' -f $cs
    $dumpKey = '{0}\Control\CrashControl' -f $cs

    # read first: what the disk has now
    $tls = Get-ItemProperty -LiteralPath $tlsKey -ErrorAction SilentlyContinue
    $rdp = Get-ItemProperty -LiteralPath $rdpKey -ErrorAction SilentlyContinue
    Write-Output ('Before: TLS 1.2 Server Enabled={0} DisabledByDefault={1}' -f $tls.Enabled, $tls.DisabledByDefault)
    Write-Output ('Before: RDP-Tcp PortNumber={0} SecurityLayer={1} UserAuthentication={2}' -f $rdp.PortNumber, $rdp.SecurityLayer, $rdp.UserAuthentication)

    Set-Dword $tlsKey 'Enabled' 1
    Set-Dword $tlsKey 'DisabledByDefault' 0
    Set-Dword $rdpKey 'SecurityLayer' 1
    Set-Dword $rdpKey 'UserAuthentication' 1
    Set-Dword $rdpKey 'fAllowSecProtocolNegotiation' 1
    Set-Dword $dumpKey 'CrashDumpEnabled' 2
    Set-Dword $dumpKey 'NMICrashDump' 1
    # REG_EXPAND_SZ written literally: single quotes, so nothing expands %SystemRoot% before Windows reads it
    New-ItemProperty -LiteralPath $dumpKey -Name 'DumpFile' -Value '%SystemRoot%\MEMORY.DMP' -PropertyType ExpandString -Force | Out-Null
    Write-Output 'Registry fixes applied.'
} finally {
    # the registry provider keeps handles open until collected; reg unload fails while they exist
    $tls = $null
    $rdp = $null
    [System.GC]::Collect()
    [System.GC]::WaitForPendingFinalizers()
    & reg.exe unload $mount | Out-Null
    if ($LASTEXITCODE -ne 0) {
        Write-Warning ('reg unload {0} failed: close regedit and run: reg unload {0}' -f $mount)
    }
}

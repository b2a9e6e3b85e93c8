# rdp-doctor-script: offline-bcd
# RDP Doctor offline repair, step 3 of 3 (optional): turn on the serial console (EMS) in the attached disk's boot
# configuration. Generation 1 VMs keep the BCD in \boot\bcd on the Windows partition (__DRIVE__:) or on the
# System Reserved partition; Generation 2 VMs keep it in \EFI\Microsoft\Boot\BCD on the EFI partition. A partition
# without a drive letter is not searched: give it one first (Disk Management, or Add-PartitionAccessPath).
param(
    [string]$Drive = '__DRIVE__'
)

$ErrorActionPreference = 'Stop'
if ($Drive -notmatch '^[A-BD-Za-bd-z]$') {
    throw 'Drive must be one letter, not C'
}
$letters = @($Drive)
try {
    $disk = (Get-Partition -DriveLetter $Drive).DiskNumber
    $letters += @(Get-Partition -DiskNumber $disk | Where-Object { $_.DriveLetter -and [string]$_.DriveLetter -ne $Drive } | ForEach-Object { [string]$_.DriveLetter })
} catch {
    Write-Warning 'Could not list the other partitions of the attached disk; searching the Windows partition only.'
}
$bcd = $null
foreach ($l in $letters) {
    foreach ($rel in '\boot\bcd', '\EFI\Microsoft\Boot\BCD') {
        $candidate = '{0}:{1}' -f $l, $rel
        if (-not $bcd -and (Test-Path -LiteralPath $candidate)) {
            $bcd = $candidate
        }
    }
}
if (-not $bcd) {
    Write-Output 'No BCD store found. Give the System Reserved (Gen1) or EFI (Gen2) partition a drive letter and run again.'
} else {
    Write-Output ('BCD store: {0}' -f $bcd)
    & bcdedit.exe /store $bcd /set '{bootmgr}' displaybootmenu yes
    & bcdedit.exe /store $bcd /set '{bootmgr}' timeout 5
    & bcdedit.exe /store $bcd /set '{bootmgr}' bootems yes
    & bcdedit.exe /store $bcd /ems '{default}' on
    & bcdedit.exe /store $bcd /emssettings EMSPORT:1 EMSBAUDRATE:115200
}

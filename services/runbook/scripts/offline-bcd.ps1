# rdp-doctor-script: offline-bcd
# RDP Doctor offline repair, step 3 of 3 (optional): turn on the serial console (EMS) in the attached disk's boot
# configuration. Generation 1 VMs keep the BCD in \boot\bcd on the Windows partition (__DRIVE__:) or on the
# System Reserved partition; Generation 2 VMs keep it in \EFI\Microsoft\Boot\BCD on the EFI partition, which Windows
# never gives a drive letter by itself. When no lettered partition of the disk holds the store, the disk's system
# partition (the EFI system partition, or the active one) gets a letter for the run and loses it again at the end.
# Sets a boot menu timeout of 5 s: a boot menu that waits for a key press with no timeout keeps the VM from booting.
param(
    [string]$Drive = '__DRIVE__'
)

$ErrorActionPreference = 'Stop'
if ($Drive -notmatch '^[A-BD-Za-bd-z]$') {
    throw 'Drive must be one letter, not C'
}
$letters = @($Drive)
$disk = $null
try {
    $disk = (Get-Partition -DriveLetter $Drive).DiskNumber
    $letters += @(Get-Partition -DiskNumber $disk | Where-Object { $_.DriveLetter -and [string]$_.DriveLetter -ne $Drive } | ForEach-Object { [string]$_.DriveLetter })
} catch {
    Write-Warning 'Could not list the other partitions of the attached disk; searching the Windows partition only.'
}
function Find-Bcd([string[]]$in) {
    foreach ($l in $in) {
        foreach ($rel in '\boot\bcd', '\EFI\Microsoft\Boot\BCD') {
            $candidate = '{0}:{1}' -f $l, $rel
            if (Test-Path -LiteralPath $candidate) {
                return $candidate
            }
        }
    }
    return $null
}
$bcd = Find-Bcd $letters
$esp = '{c12a7328-f81f-11d2-ba4b-00a0c93ec93b}'
$mounted = $null
if (-not $bcd -and $null -ne $disk) {
    try {
        $sys = @(Get-Partition -DiskNumber $disk | Where-Object { -not $_.DriveLetter -and ($_.GptType -eq $esp -or $_.IsActive) })[0]
        if ($sys) {
            Add-PartitionAccessPath -DiskNumber $disk -PartitionNumber $sys.PartitionNumber -AssignDriveLetter
            $letter = [string](Get-Partition -DiskNumber $disk -PartitionNumber $sys.PartitionNumber).DriveLetter
            if ($letter -match '^[A-Za-z]$') {
                $mounted = $letter
                $bcd = Find-Bcd @($letter)
            }
        }
    } catch {
        Write-Warning ('Could not give the system partition a drive letter: {0}' -f $_.Exception.Message)
    }
}
try {
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
} finally {
    if ($mounted) {
        Remove-PartitionAccessPath -DiskNumber $disk -PartitionNumber $sys.PartitionNumber -AccessPath ('{0}:\' -f $mounted)
    }
}

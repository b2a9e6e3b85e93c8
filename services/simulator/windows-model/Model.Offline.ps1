# Offline repair (issue #15): the model as a RESCUE VM sees it, with a copy of a broken VM's OS disk
# attached as a data disk. The run's state (the fleet `windows` state) is that disk's Windows; the
# rescue VM's own Windows is not modelled. What the offline scripts (offline-*.ps1) rely on:
#   - the attached disk's Windows partition has the run's drive letter (REPAIR_DRIVE, F): its files
#     are the model's C:\ files (ProgramData\...\MachineKeys and the rest), seen under that letter;
#   - `reg.exe load HKLM\<name> <drive>:\Windows\System32\config\SYSTEM|SOFTWARE` mounts the disk's
#     hives under HKLM\<name>: ControlSet001 is the disk's CurrentControlSet (Select\Current = 1),
#     `reg.exe unload` removes them; only mounted hives are visible (the rescue VM's own registry is not);
#   - the disk's partitions (Get-Partition): Gen1 (MBR) has an active System Reserved partition with
#     \boot\bcd that Windows gives the next free letter when the disk is attached [S]; Gen2 (GPT) has an
#     EFI system partition with \EFI\Microsoft\Boot\BCD that gets no letter (Windows never mounts an ESP
#     by itself) until Add-PartitionAccessPath -AssignDriveLetter gives it one;
#   - `bcdedit.exe /store <BCD> ...` changes the disk's boot manager settings (the state's `boot`).

$script:ESP_GPT_TYPE = '{c12a7328-f81f-11d2-ba4b-00a0c93ec93b}'
$script:OFFLINE_DISK_NUMBER = 2

function Initialize-OfflineDisk($Offline) {
    $drive = ([string]$Offline.drive).ToUpperInvariant()
    if ($drive -notmatch '^[D-Z]$') { throw "model: offline drive '$drive' must be one letter D-Z" }
    $gen = [string]$Offline.hyperVGeneration
    $parts = New-Object System.Collections.ArrayList
    if ($gen -eq 'V2') {
        [void]$parts.Add(@{ PartitionNumber = 1; DriveLetter = $null; GptType = $script:ESP_GPT_TYPE; Type = 'System'; IsActive = $false; IsSystem = $true; Size = 100MB; Bcd = '\EFI\Microsoft\Boot\BCD' })
        [void]$parts.Add(@{ PartitionNumber = 2; DriveLetter = $null; GptType = '{e3c9e316-0b5c-4db8-817d-f92df00215ae}'; Type = 'Reserved'; IsActive = $false; IsSystem = $false; Size = 16MB; Bcd = $null })
        [void]$parts.Add(@{ PartitionNumber = 3; DriveLetter = $drive; GptType = '{ebd0a0a2-b9e5-4433-87c0-68b6b72699c7}'; Type = 'Basic'; IsActive = $false; IsSystem = $false; Size = 126GB; Bcd = $null })
    } else {
        $next = [string][char]([int][char]$drive + 1)
        [void]$parts.Add(@{ PartitionNumber = 1; DriveLetter = $next; GptType = $null; Type = 'IFS'; IsActive = $true; IsSystem = $true; Size = 500MB; Bcd = '\boot\bcd' })
        [void]$parts.Add(@{ PartitionNumber = 2; DriveLetter = $drive; GptType = $null; Type = 'IFS'; IsActive = $false; IsSystem = $false; Size = 126GB; Bcd = $null })
    }
    $script:M.Offline = @{ Drive = $drive; Gen = $gen; Mounts = @{}; Partitions = $parts }
}

function Test-OfflineRun { return ($null -ne $script:M -and $null -ne $script:M.Offline) }

# HKLM-relative path of a script's registry path -> the model's path (SYSTEM\CurrentControlSet\..., SOFTWARE\...).
function ConvertFrom-OfflineRegRelative([string]$rel) {
    if (-not (Test-OfflineRun)) { return $rel }
    $parts = $rel -split '\\', 2
    $hive = $script:M.Offline.Mounts[$parts[0].ToUpperInvariant()]
    $rest = if ($parts.Length -gt 1) { $parts[1] } else { '' }
    if ($hive -eq 'SYSTEM') {
        if ($rest -eq '') { return 'SYSTEM' }
        if ($rest -match '^(?i)ControlSet001(\\(.*))?$') { return ('SYSTEM\CurrentControlSet' + $(if ($Matches[2]) { '\' + $Matches[2] } else { '' })) }
        return "SYSTEM\$rest"
    }
    if ($hive -eq 'SOFTWARE') { return $(if ($rest -eq '') { 'SOFTWARE' } else { "SOFTWARE\$rest" }) }
    # not a mounted hive of the attached disk: the rescue VM's own registry, not modelled (no key exists there)
    return "RESCUE-VM-NOT-MODELLED\$rel"
}

# $true/$false for the paths only the attached disk has (its hives, its BCD stores); $null = the model's ordinary files.
function Test-OfflinePath([string]$p) {
    if (-not (Test-OfflineRun)) { return $null }
    $q = ($p -replace '/', '\') -replace '\\+', '\'
    if ($q -notmatch '^(?i)([A-Z]):(\\.*)?$') { return $null }
    $letter = $Matches[1].ToUpperInvariant()
    $path = [string]$Matches[2]
    $o = $script:M.Offline
    if ($letter -eq $o.Drive) {
        if ($path -match '^(?i)\\Windows\\System32\\config\\(SYSTEM|SOFTWARE)$') { return $true }
        if ($path -match '^(?i)\\(boot\\bcd|EFI\\Microsoft\\Boot\\BCD)$') { return $false }
        return $null
    }
    $part = @($o.Partitions | Where-Object { $_.DriveLetter -eq $letter })[0]
    if (-not $part) { return $false }
    if ($path -eq '' -or $path -eq '\') { return $true }
    return ($null -ne $part.Bcd -and $path -ieq $part.Bcd)
}

function Get-OfflineDrivePrefix {
    # files of the attached disk's Windows partition are the model's C:\ files
    if (-not (Test-OfflineRun)) { return $null }
    return "$($script:M.Offline.Drive):"
}

function reg.exe {
    if (-not (Test-OfflineRun)) { throw 'model: reg.exe is modelled for offline runs (a rescue VM with an attached disk) only' }
    $verb = [string]$args[0]
    $global:LASTEXITCODE = 0
    $name = ([string]$args[1]) -replace '^(?i)(HKLM|HKEY_LOCAL_MACHINE)\\', ''
    $o = $script:M.Offline
    switch -regex ($verb) {
        '^(?i)load$' {
            $file = ([string]$args[2]) -replace '/', '\'
            if ($file -match '^(?i)([A-Z]):\\Windows\\System32\\config\\(SYSTEM|SOFTWARE)$' -and $Matches[1].ToUpperInvariant() -eq $o.Drive) {
                $hive = $Matches[2].ToUpperInvariant()
                if ($o.Mounts.ContainsKey($name.ToUpperInvariant())) { $global:LASTEXITCODE = 1; return 'ERROR: The process cannot access the file because it is being used by another process.' }
                $o.Mounts[$name.ToUpperInvariant()] = $hive
                $script:M.RegKeys = $null
                return 'The operation completed successfully.'
            }
            $global:LASTEXITCODE = 1
            return 'ERROR: The system cannot find the file specified.'
        }
        '^(?i)unload$' {
            if (-not $o.Mounts.ContainsKey($name.ToUpperInvariant())) { $global:LASTEXITCODE = 1; return 'ERROR: The parameter is incorrect.' }
            $o.Mounts.Remove($name.ToUpperInvariant())
            $script:M.RegKeys = $null
            return 'The operation completed successfully.'
        }
        default { throw "model: reg.exe $verb is not modelled" }
    }
}
function reg { reg.exe @args }

function ConvertTo-PartitionObject($p) {
    [pscustomobject]@{
        DiskNumber = $script:OFFLINE_DISK_NUMBER
        PartitionNumber = $p.PartitionNumber
        # no letter: the char 0, as Get-Partition returns it
        DriveLetter = $(if ($p.DriveLetter) { [char]$p.DriveLetter } else { [char]0 })
        GptType = $p.GptType
        Type = $p.Type
        IsActive = $p.IsActive
        IsSystem = $p.IsSystem
        Size = [uint64]$p.Size
    }
}

function Write-NoPartition($cmdlet, [string]$what) {
    $ex = [System.Management.Automation.ItemNotFoundException]::new("No MSFT_Partition objects found with property '$what'. Verify the value of the property and retry.")
    Write-ModelError $cmdlet (New-ModelErrorRecord $ex 'CmdletizationQuery_NotFound,Get-Partition' 'ObjectNotFound' $what)
}

function Get-Partition {
    [CmdletBinding()]
    param([char]$DriveLetter, [uint32]$DiskNumber, [uint32]$PartitionNumber)
    if (-not (Test-OfflineRun)) { throw 'model: Get-Partition is modelled for offline runs only' }
    $list = @($script:M.Offline.Partitions)
    if ($PSBoundParameters.ContainsKey('DriveLetter')) {
        $hit = @($list | Where-Object { $_.DriveLetter -eq ([string]$DriveLetter).ToUpperInvariant() })
        if ($hit.Count -eq 0) { Write-NoPartition $PSCmdlet "DriveLetter' equal to '$DriveLetter"; return }
        return (ConvertTo-PartitionObject $hit[0])
    }
    if ($PSBoundParameters.ContainsKey('DiskNumber') -and $DiskNumber -ne $script:OFFLINE_DISK_NUMBER) { Write-NoPartition $PSCmdlet "DiskNumber' equal to '$DiskNumber"; return }
    if ($PSBoundParameters.ContainsKey('PartitionNumber')) { $list = @($list | Where-Object { $_.PartitionNumber -eq $PartitionNumber }) }
    foreach ($p in $list) { ConvertTo-PartitionObject $p }
}

function Add-PartitionAccessPath {
    [CmdletBinding()]
    param([uint32]$DiskNumber, [uint32]$PartitionNumber, [switch]$AssignDriveLetter, [string]$AccessPath)
    if (-not (Test-OfflineRun)) { throw 'model: Add-PartitionAccessPath is modelled for offline runs only' }
    $p = @($script:M.Offline.Partitions | Where-Object { $_.PartitionNumber -eq $PartitionNumber })[0]
    if (-not $p -or $DiskNumber -ne $script:OFFLINE_DISK_NUMBER) { Write-NoPartition $PSCmdlet "PartitionNumber' equal to '$PartitionNumber"; return }
    if (-not $AssignDriveLetter) { throw 'model: Add-PartitionAccessPath supports -AssignDriveLetter only' }
    if ($p.DriveLetter) { return }
    $used = @('C', 'D') + @($script:M.Offline.Partitions | Where-Object { $_.DriveLetter } | ForEach-Object { $_.DriveLetter })
    foreach ($c in [int][char]'E'..[int][char]'Z') {
        $l = [string][char]$c
        if ($used -notcontains $l) { $p.DriveLetter = $l; return }
    }
}

function Remove-PartitionAccessPath {
    [CmdletBinding()]
    param([uint32]$DiskNumber, [uint32]$PartitionNumber, [string]$AccessPath)
    if (-not (Test-OfflineRun)) { throw 'model: Remove-PartitionAccessPath is modelled for offline runs only' }
    $p = @($script:M.Offline.Partitions | Where-Object { $_.PartitionNumber -eq $PartitionNumber })[0]
    if ($p -and $p.DriveLetter -and $AccessPath -match '^(?i)([A-Z]):\\?$' -and $Matches[1].ToUpperInvariant() -eq $p.DriveLetter) { $p.DriveLetter = $null }
}

# bcdedit /store <file> /set {bootmgr} displaybootmenu|timeout|bootems <v>, /ems {default} on|off,
# /emssettings ..., /timeout <n> (= /set {bootmgr} timeout). Prints bcdedit's English success line.
function bcdedit.exe {
    if (-not (Test-OfflineRun)) { throw 'model: bcdedit.exe is modelled for offline runs (a BCD store on an attached disk) only' }
    $a = @($args | ForEach-Object { [string]$_ })
    $global:LASTEXITCODE = 0
    if ($a.Count -lt 3 -or $a[0] -ne '/store' -or -not (Test-OfflinePath $a[1])) {
        $global:LASTEXITCODE = 1
        return 'The boot configuration data store could not be opened. The system cannot find the file specified.'
    }
    $b = $script:M.W.boot
    $rest = @($a[2..($a.Count - 1)])
    $yes = { param($v) if ($v -match '^(?i)(yes|on|true)$') { $true } elseif ($v -match '^(?i)(no|off|false)$') { $false } else { throw "model: bcdedit value '$v'" } }
    switch -regex ($rest[0]) {
        '^(?i)/set$' {
            if ($rest[1] -ne '{bootmgr}') { throw "model: bcdedit /set $($rest[1]) is not modelled" }
            switch -regex ($rest[2]) {
                '^(?i)displaybootmenu$' { $b.displayBootMenu = (& $yes $rest[3]) }
                '^(?i)timeout$' { $b.timeout = [int]$rest[3] }
                '^(?i)bootems$' { $b.bootEms = (& $yes $rest[3]) }
                default { throw "model: bcdedit /set {bootmgr} $($rest[2]) is not modelled" }
            }
        }
        '^(?i)/deletevalue$' {
            if ($rest[1] -ne '{bootmgr}') { throw "model: bcdedit /deletevalue $($rest[1]) is not modelled" }
            switch -regex ($rest[2]) {
                '^(?i)displaybootmenu$' { $b.displayBootMenu = $false }
                '^(?i)timeout$' { $b.timeout = $null }
                default { throw "model: bcdedit /deletevalue {bootmgr} $($rest[2]) is not modelled" }
            }
        }
        '^(?i)/timeout$' { $b.timeout = [int]$rest[1] }
        '^(?i)/ems$' { $b.ems = (& $yes $rest[2]) }
        '^(?i)/emssettings$' { }
        default { throw "model: bcdedit $($rest[0]) is not modelled" }
    }
    return 'The operation completed successfully.'
}
function bcdedit { bcdedit.exe @args }

# The offline scripts on a modelled rescue VM (issue #15): the run's state is a copy of a broken VM's OS disk attached
# as drive F (Model.Offline.ps1): its hives load with reg.exe, its partitions answer Get-Partition, its BCD store
# answers bcdedit. offline-bcd.ps1 must find the store on Gen1 (System Reserved, lettered) and Gen2 (EFI partition,
# no letter until the script gives it one), and its settings must let Windows boot unattended.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    # vm-noagent-08: Windows waits at the boot menu (displaybootmenu on, no timeout)
    $script:Stuck = New-ModelWindows @{} 'vm-noagent-08'
    function Invoke-Offline([string]$Script, [string]$Gen = 'V1', $Windows = $script:Stuck, [string]$Drive = 'F') {
        return Invoke-ModelRun -Windows $Windows -Script $Script -Parameters @{ Drive = $Drive } -Offline @{ drive = 'F'; hyperVGeneration = $Gen }
    }
}

Describe 'offline-bcd on a rescue VM' {
    It 'Gen1: finds \boot\bcd on the lettered System Reserved partition and sets a 5 s boot menu timeout and EMS' {
        $script:Stuck.boot.displayBootMenu | Should -BeTrue
        $script:Stuck.boot.Contains('timeout') | Should -BeTrue
        $r = Invoke-Offline 'offline-bcd' 'V1'
        $r.Stderr | Should -BeNullOrEmpty
        $r.Stdout | Should -Match 'BCD store: G:\\boot\\bcd'
        $r.Windows.boot.timeout | Should -Be 5
        $r.Windows.boot.bootEms | Should -BeTrue
        $r.Windows.boot.ems | Should -BeTrue
    }

    It 'Gen2: gives the EFI system partition a letter for the run and finds \EFI\Microsoft\Boot\BCD there' {
        $r = Invoke-Offline 'offline-bcd' 'V2'
        $r.Stderr | Should -BeNullOrEmpty
        $r.Stdout | Should -Match 'BCD store: [E-Z]:\\EFI\\Microsoft\\Boot\\BCD'
        $r.Windows.boot.timeout | Should -Be 5
    }

    It 'is idempotent: a second run leaves the same state' {
        $once = Invoke-Offline 'offline-bcd' 'V2'
        $twice = Invoke-Offline 'offline-bcd' 'V2' $once.Windows
        ($twice.Windows.boot | ConvertTo-Json -Compress) | Should -Be ($once.Windows.boot | ConvertTo-Json -Compress)
    }

    It 'refuses drive C (the rescue VM''s own system disk) and changes nothing' {
        $r = Invoke-Offline 'offline-bcd' 'V1' $script:Stuck 'C'
        $r.Stderr | Should -Match 'Drive must be one letter, not C'
        $r.Windows.boot.timeout | Should -BeNullOrEmpty
    }
}

Describe 'offline-registry and offline-machinekeys on a modelled rescue VM' {
    It 'offline-registry changes the attached disk''s control set: TLS 1.2 on, SecurityLayer 0 raised to 1, Remote Desktop on' {
        $w = New-ModelWindows @{ rdpTcp = @{ SecurityLayer = 0 }; schannelServer = @{ 'TLS 1.2' = @{ Enabled = 0 } }; terminalServer = @{ fDenyTSConnections = 1 } } 'vm-noagent-08'
        $r = Invoke-Offline 'offline-registry' 'V1' $w
        $r.Stderr | Should -BeNullOrEmpty
        $r.Stdout | Should -Match 'Windows boots from ControlSet001'
        $r.Windows.schannelServer['TLS 1.2'].Enabled | Should -Be 1
        $r.Windows.schannelServer['TLS 1.2'].DisabledByDefault | Should -Be 0
        $r.Windows.rdpTcp.SecurityLayer | Should -Be 1
        $r.Windows.terminalServer.fDenyTSConnections | Should -Be 0
    }

    It 'offline-registry without the hives loaded sees nothing of the rescue VM''s own registry' {
        # a run that is not offline has no reg.exe: the model refuses rather than pretending
        $r = Invoke-ModelRun -Windows $script:Stuck -Script 'offline-registry' -Parameters @{ Drive = 'F' }
        $r.Stderr | Should -Not -BeNullOrEmpty
    }

    It 'offline-machinekeys grants SYSTEM and Administrators on the folder, NETWORK SERVICE read on the key file, by SID' {
        $w = New-ModelWindows @{ rdpKeyFileAcl = @('S-1-5-18:F', 'S-1-5-20:R:deny') } 'vm-noagent-08'
        $r = Invoke-Offline 'offline-machinekeys' 'V1' $w
        $r.Stderr | Should -BeNullOrEmpty
        $r.Windows.machineKeysAcl | Should -Contain 'S-1-5-18:F'
        $r.Windows.rdpKeyFileAcl | Should -Contain 'S-1-5-20:R'
        $r.Windows.rdpKeyFileAcl | Should -Not -Contain 'S-1-5-20:R:deny'
    }
}

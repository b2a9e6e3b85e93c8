# offline-machinekeys.ps1 runs on a rescue VM, outside Run Command and the modelled Windows: icacls, takeown and the
# file system are stood in for here; the test reads the commands the script ran.
BeforeAll {
    $ScriptDir = if ($env:RDPD_SCRIPTS_DIR) { $env:RDPD_SCRIPTS_DIR } else { Join-Path $PSScriptRoot '../../services/runbook/scripts' }
    $ScriptPath = Join-Path $ScriptDir 'offline-machinekeys.ps1'
    # a native command gets an array argument as separate arguments: flatten like PowerShell does for .exe
    function icacls.exe {
        $global:OffMkLog += , @(foreach ($a in $args) { foreach ($x in @($a)) { [string]$x } })
        $global:LASTEXITCODE = 0
        if ($global:OffMkDenied -contains [string]$args[0] -and ($args -contains '/grant')) {
            $global:LASTEXITCODE = 5
        }
    }
    function takeown.exe {
        $global:OffMkLog += , @('takeown') + @($args | ForEach-Object { [string]$_ })
        $global:OffMkDenied = @($global:OffMkDenied | Where-Object { $_ -ne [string]$args[1] })
        $global:LASTEXITCODE = 0
    }
    function Test-Path {
        return $true
    }
    function New-Item {
    }
    function Join-Path([string]$Path, [string]$ChildPath) {
        return ($Path.TrimEnd('\') + '\' + $ChildPath)
    }
    function Get-ChildItem {
        return @([pscustomobject]@{ FullName = 'F:\ProgramData\Microsoft\Crypto\RSA\MachineKeys\f686aace6942fb7f7ceb231212eef4a4_guid'; PSIsContainer = $false })
    }
}

Describe 'offline-machinekeys' {
    It 'removes explicit Deny entries for the SIDs the RDP key needs before it grants, on the folder and every file (A6)' {
        $global:OffMkLog = @()
        $global:OffMkDenied = @()
        & $ScriptPath -Drive 'F' | Out-Null
        $grants = @($global:OffMkLog | Where-Object { $_ -contains '/grant' })
        $grants.Count | Should -Be 2
        foreach ($g in $grants) {
            $target = $g[0]
            $removes = @($global:OffMkLog | Where-Object { $_[0] -eq $target -and $_ -contains '/remove:d' })
            $removes.Count | Should -BeGreaterOrEqual 1
            $removes[0] | Should -Contain '*S-1-5-20'
            $removes[0] | Should -Contain '*S-1-1-0'
            [array]::IndexOf($global:OffMkLog, $removes[0]) | Should -BeLessThan ([array]::IndexOf($global:OffMkLog, $g))
        }
    }
}

# offline-registry.ps1 runs on a rescue VM against a loaded hive, outside Run Command and outside the modelled
# Windows: the registry and reg.exe are stood in for here by a hashtable (key path -> values).
BeforeAll {
    $ScriptDir = if ($env:RDPD_SCRIPTS_DIR) { $env:RDPD_SCRIPTS_DIR } else { Join-Path $PSScriptRoot '../../services/runbook/scripts' }
    $ScriptPath = Join-Path $ScriptDir 'offline-registry.ps1'
    $Sys = 'Registry::HKEY_LOCAL_MACHINE\RDPDOCTOR_SYSTEM'
    $Sw = 'Registry::HKEY_LOCAL_MACHINE\RDPDOCTOR_SOFTWARE'
    $Cs = $Sys + '\ControlSet001'
    $RdpKey = $Cs + '\Control\Terminal Server\WinStations\RDP-Tcp'
    $TsKey = $Cs + '\Control\Terminal Server'
    $GpKey = $Sw + '\Policies\Microsoft\Windows NT\Terminal Services'

    function New-Disk([hashtable]$rdp = @{ SecurityLayer = 2; UserAuthentication = 0 }, [hashtable]$ts = @{ fDenyTSConnections = 0 }, [hashtable]$gp = $null) {
        $global:OffReg = @{}
        $global:OffReg[$Sys + '\Select'] = @{ Current = 1 }
        $global:OffReg[$RdpKey] = $rdp.Clone()
        $global:OffReg[$TsKey] = $ts.Clone()
        if ($gp) {
            $global:OffReg[$GpKey] = $gp.Clone()
        }
        $global:OffLoaded = @()
        $global:OffLog = @()
    }

    function reg.exe {
        $global:OffLog += ($args -join ' ')
        if ($args[0] -eq 'load') {
            $global:OffLoaded += $args[1]
        } elseif ($args[0] -eq 'unload') {
            $key = $args[1]
            $global:OffLoaded = @($global:OffLoaded | Where-Object { $_ -ne $key })
        }
        $global:LASTEXITCODE = 0
    }
    function Test-Path {
        param([string]$LiteralPath, [string]$Path)
        $p = if ($LiteralPath) { $LiteralPath } else { $Path }
        if ($p -match '^[A-Z]:\\Windows\\System32\\config\\') {
            return $true
        }
        return $global:OffReg.ContainsKey($p)
    }
    function Get-ItemProperty {
        param([string]$LiteralPath, $ErrorAction)
        if (-not $global:OffReg.ContainsKey($LiteralPath)) {
            if ($ErrorAction -ne 'SilentlyContinue') {
                throw "no key $LiteralPath"
            }
            return $null
        }
        return [pscustomobject]$global:OffReg[$LiteralPath]
    }
    function New-Item {
        param([string]$Path, [switch]$Force)
        if (-not $global:OffReg.ContainsKey($Path)) {
            $global:OffReg[$Path] = @{}
        }
    }
    function New-ItemProperty {
        param([string]$LiteralPath, [string]$Name, $Value, [string]$PropertyType, [switch]$Force)
        $global:OffReg[$LiteralPath][$Name] = $Value
    }
    function Invoke-Offline {
        $out = & $ScriptPath -Drive 'F' 3>$null
        return $out
    }
}

Describe 'offline-registry' {
    It 'never lowers SecurityLayer 2 and sets only UserAuthentication for NLA (A15)' {
        New-Disk
        Invoke-Offline | Out-Null
        $global:OffReg[$RdpKey].SecurityLayer | Should -Be 2
        $global:OffReg[$RdpKey].UserAuthentication | Should -Be 1
        $global:OffReg[$RdpKey].ContainsKey('fAllowSecProtocolNegotiation') | Should -BeFalse
    }

    It 'keeps SecurityLayer 1 and raises 0 to 1' {
        New-Disk -rdp @{ SecurityLayer = 1 }
        Invoke-Offline | Out-Null
        $global:OffReg[$RdpKey].SecurityLayer | Should -Be 1
        New-Disk -rdp @{ SecurityLayer = 0 }
        Invoke-Offline | Out-Null
        $global:OffReg[$RdpKey].SecurityLayer | Should -Be 1
    }

    It 'loads the SOFTWARE hive and turns the policy fDenyTSConnections off; both hives are unloaded (A15)' {
        New-Disk -ts @{ fDenyTSConnections = 1 } -gp @{ fDenyTSConnections = 1 }
        $out = Invoke-Offline
        $global:OffLog | Should -Contain 'load HKLM\RDPDOCTOR_SOFTWARE F:\Windows\System32\config\SOFTWARE'
        $global:OffReg[$GpKey].fDenyTSConnections | Should -Be 0
        $global:OffReg[$TsKey].fDenyTSConnections | Should -Be 0
        ($out -join "`n") | Should -Match 'policy fDenyTSConnections=1'
        $global:OffLoaded.Count | Should -Be 0
    }

    It 'unloads both hives even when a step fails' {
        New-Disk
        $global:OffReg.Remove($Sys + '\Select')
        { Invoke-Offline } | Should -Throw
        $global:OffLoaded.Count | Should -Be 0
    }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'FixTestHelpers.ps1')
    $S = 'fix-free-rdp-port'
    function New-Clash([string[]]$hosted = @('TomcatAgent'), [string]$startMode = 'Manual', [bool]$hangs = $false) {
        return New-FixWindows {
            param($w)
            $w.listeners = @(@{ port = 3389; pid = 4242; process = 'java'; services = $hosted })
            foreach ($h in $hosted) {
                $w.services[$h] = @{ state = 'Running'; startMode = $startMode; hangs = $hangs }
            }
        }
    }
}

Describe 'fix-free-rdp-port' {
    It 'stops the service holding the port with sc.exe, restarts TermService, which listens; a second run is a noop' {
        $w = New-Clash
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Service = 'TomcatAgent'; Disable = '0' }
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Status.stopped | Should -Be @('TomcatAgent')
        $r.Status.listening | Should -BeTrue
        $r.Status.before.services[0].state | Should -Be 'Running'
        (Get-FixService $r.Windows 'TomcatAgent').state | Should -Be 'Stopped'
        (Get-FixService $r.Windows 'TomcatAgent').startMode | Should -Be 'Manual'
        Assert-Idempotent $r $S @{ Service = 'TomcatAgent'; Disable = '0' } | Out-Null
    }

    It 'Disable=1 sets the start mode to Disabled; without it an Auto service is reported as coming back at boot (A13)' {
        $r = Invoke-Fix -Windows (New-Clash -startMode 'Auto') -Script $S -Parameters @{ Service = 'TomcatAgent'; Disable = '1' }
        $r.Status.disabled | Should -Be @('TomcatAgent')
        (Get-FixService $r.Windows 'TomcatAgent').startMode | Should -Be 'Disabled'
        $r.Status.before.services[0].startMode | Should -Be 'Auto'
        $k = Invoke-Fix -Windows (New-Clash -startMode 'Auto') -Script $S -Parameters @{ Service = 'TomcatAgent'; Disable = '0' }
        $k.Status.returnsAtBoot | Should -Be @('TomcatAgent')
        (Get-FixService $k.Windows 'TomcatAgent').startMode | Should -Be 'Auto'
    }

    It 'refuses a process that co-hosts services the parameter does not name, and changes nothing (A13)' {
        $w = New-Clash -hosted @('TomcatAgent', 'TomcatHelper')
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Service = 'TomcatAgent' }
        Assert-FixLine $r
        $r.Status.status | Should -Be 'co-hosted'
        $r.Status.hosted | Should -Be @('TomcatAgent', 'TomcatHelper')
        Assert-Unchanged $r $w
        $all = Invoke-Fix -Windows $w -Script $S -Parameters @{ Service = (ConvertTo-B64Param 'TomcatAgent,TomcatHelper') }
        $all.Status.status | Should -Be 'done'
        $all.Status.stopped | Should -Be @('TomcatAgent', 'TomcatHelper')
    }

    It 'a Base64 parameter with metacharacters arrives intact' {
        $name = 'MSSQL$SQLEXPRESS'
        $r = Invoke-Fix -Windows (New-Clash -hosted @($name)) -Script $S -Parameters @{ Service = (ConvertTo-B64Param $name) }
        $r.Status.service | Should -Be $name
        $r.Status.status | Should -Be 'done'
    }

    It 'refuses <value> (Base64: <b64>) with bad-param and changes nothing' -ForEach @(
        @{ value = 'TermService'; b64 = $false }
        @{ value = 'Tomcat&calc'; b64 = $true }
        @{ value = "Tomcat'; Stop-Computer; '"; b64 = $true }
        @{ value = "Dienst-$([char]0xFC)"; b64 = $true }
        @{ value = 'TomcatAgent,TermService'; b64 = $true }
        @{ value = 'b64.!!notbase64'; b64 = $false }
        @{ value = ''; b64 = $false }
    ) {
        $w = New-Clash
        $p = if ($b64) { ConvertTo-B64Param $value } else { $value }
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Service = $p }
        Assert-FixLine $r
        $r.Status.status | Should -Be 'bad-param'
        Assert-Unchanged $r $w
    }

    It 'refuses Disable values other than 0 and 1' {
        $w = New-Clash
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Service = 'TomcatAgent'; Disable = 'yes' }
        $r.Status.status | Should -Be 'bad-param'
        Assert-Unchanged $r $w
    }

    It 'says service-not-found for a service that does not exist' {
        $w = New-Clash
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Service = 'NoSuchSvc' }
        $r.Status.status | Should -Be 'service-not-found'
        Assert-Unchanged $r $w
    }

    It 'gives up on a service stuck in Stopping within bounded virtual time and names it (A5)' {
        $r = Invoke-Fix -Windows (New-Clash -hangs $true) -Script $S -Parameters @{ Service = 'TomcatAgent' }
        Assert-FixLine $r
        $r.Status.status | Should -Be 'timeout'
        $r.Status.svcError | Should -Be 'TomcatAgent:timeout'
        $r.Run.virtualSeconds | Should -BeLessOrEqual 300
    }
}

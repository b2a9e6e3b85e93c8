# Model core: the state, the virtual clock, errors shaped like the real cmdlets', path helpers.

$script:M = $null   # the run: @{ W = state; Now = [datetime] UTC; Start; Boot; Hung; HungReason; Files; ExtraKeys; Log }

# Well-known SIDs [S19]. SYSTEM's token holds SYSTEM, Administrators, Everyone, Authenticated Users;
# NETWORK SERVICE's token holds Network Service, Everyone, Authenticated Users, Service, Users.
$script:SYSTEM_TOKEN = @('S-1-5-18', 'S-1-5-32-544', 'S-1-1-0', 'S-1-5-11')
$script:NETWORK_SERVICE_TOKEN = @('S-1-5-20', 'S-1-1-0', 'S-1-5-11', 'S-1-5-6', 'S-1-5-32-545')
$script:DEFAULT_MACHINE_GUID = '6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7'
$script:RDP_KEY_CONTAINER = 'TSSecKeySet1'
# Run Command stops a script after 90 minutes [S1]: a virtual wait past it is a hang.
$script:RUN_LIMIT_SECONDS = 5400

function ConvertTo-ModelList($x) {
    # JSON arrays arrive as fixed-size object[]; the model appends and removes: use ArrayList.
    $l = New-Object System.Collections.ArrayList
    foreach ($i in @($x)) { if ($null -ne $i) { [void]$l.Add($i) } }
    return , $l
}

function Get-Or($h, [string]$k, $default) {
    if ($null -ne $h -and $h.Contains($k) -and $null -ne $h[$k]) { return $h[$k] }
    return $default
}

function Get-OrKeepNull($h, [string]$k, $default) {
    # registry-backed values: absent = the Windows default value, explicit null = value absent
    if ($null -ne $h -and $h.Contains($k)) { return $h[$k] }
    return $default
}

function ConvertTo-LocalPortList($p) {
    if ($null -eq $p) { return , @('Any') }
    if ($p -is [System.Collections.IList]) { return , @($p | ForEach-Object { [string]$_ }) }
    return , @([string]$p)
}

function ConvertTo-CanonicalService([string]$name, $s) {
    # Legacy `Disabled` = Stopped + start mode Disabled: Win32_Service has no "Disabled" state [S16].
    $o = @{}
    if ($s -is [string]) {
        $t = ($s -replace '\s', '').ToLowerInvariant()
        switch ($t) {
            'disabled' { $o = @{ state = 'Stopped'; startMode = 'Disabled' } }
            'running' { $o = @{ state = 'Running' } }
            'stopped' { $o = @{ state = 'Stopped' } }
            'startpending' { $o = @{ state = 'StartPending' } }
            'stoppending' { $o = @{ state = 'StopPending' } }
            default { $o = @{ state = 'Stopped' } }
        }
    } elseif ($null -ne $s) { $o = $s }
    $names = @{ TermService = 'NT Authority\NetworkService'; SessionEnv = 'localSystem'; UmRdpService = 'localSystem' }
    [ordered]@{
        state = (Get-Or $o 'state' 'Running')
        # 2016 defaults: the three RDP services are Manual [S24]
        startMode = (Get-Or $o 'startMode' 'Manual')
        startName = (Get-Or $o 'startName' $(if ($names.Contains($name)) { $names[$name] } else { 'LocalSystem' }))
        hangs = [bool](Get-Or $o 'hangs' $false)
        ownProcess = [bool](Get-Or $o 'ownProcess' $false)
    }
}

function ConvertTo-NormalThumb([string]$t) {
    $h = ($t.ToUpperInvariant() -replace '[^0-9A-F]', '')
    if ($h.Length -gt 40) { $h = $h.Substring(0, 40) }
    return $h.PadRight(40, '0')
}

function ConvertTo-IsoSeconds($d) {
    return ([datetime]$d).ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", [cultureinfo]::InvariantCulture)
}

function ConvertFrom-Iso([string]$s) {
    return [datetime]::Parse($s, [cultureinfo]::InvariantCulture, [System.Globalization.DateTimeStyles]'AssumeUniversal, AdjustToUniversal')
}

# The same defaults as canonicalWindows() in services/simulator/fleet.ts (keep them equal).
function ConvertTo-KeptFiles($f) {
    $out = [ordered]@{}
    if ($null -eq $f) { return $out }
    foreach ($k in @($f.Keys)) { $out[[string]$k] = [string]$f[$k] }
    return $out
}

function ConvertTo-CanonicalWindows($w) {
    $svc = [ordered]@{}
    foreach ($k in @($w.services.Keys)) { $svc[$k] = ConvertTo-CanonicalService $k $w.services[$k] }
    $c = $w.rdpCertificate
    $cert = $null
    if ($null -ne $c) {
        $cert = [ordered]@{
            thumbprint = (ConvertTo-NormalThumb $c.thumbprint)
            notAfter = (ConvertTo-IsoSeconds (ConvertFrom-Iso $c.notAfter))
            hasPrivateKey = [bool]$c.hasPrivateKey
            store = (Get-Or $c 'store' 'Remote Desktop')
            key = (Get-Or $c 'key' 'ok')
            keyContainer = (Get-Or $c 'keyContainer' $script:RDP_KEY_CONTAINER)
        }
    }
    $sch = [ordered]@{}
    foreach ($v in @('TLS 1.0', 'TLS 1.1', 'TLS 1.2') + @($w.schannelServer.Keys)) {
        if ($sch.Contains($v)) { continue }
        $x = $w.schannelServer[$v]
        $o = [ordered]@{}
        if ($null -ne $x -and $null -ne $x['Enabled']) { $o.Enabled = [int]$x['Enabled'] }
        if ($null -ne $x -and $null -ne $x['DisabledByDefault']) { $o.DisabledByDefault = [int]$x['DisabledByDefault'] }
        $sch[$v] = $o
    }
    $rt = $w.rdpTcp
    $rdpTcp = [ordered]@{}
    foreach ($n in 'SecurityLayer', 'UserAuthentication', 'fAllowSecProtocolNegotiation') {
        if ($null -ne $rt[$n]) { $rdpTcp[$n] = [int]$rt[$n] }
    }
    $rdpTcp.fEnableWinStation = Get-OrKeepNull $rt 'fEnableWinStation' 1
    $rdpTcp.fLogonDisabled = Get-OrKeepNull $rt 'fLogonDisabled' 0
    $rdpTcp.MinEncryptionLevel = Get-OrKeepNull $rt 'MinEncryptionLevel' 2
    $rdpTcp.LanAdapter = Get-OrKeepNull $rt 'LanAdapter' 0
    $ts = $w.terminalServer
    $fwIn = $w.firewall
    $profiles = [ordered]@{}
    foreach ($p in 'Domain', 'Private', 'Public') {
        $x = $null
        if ($null -ne $fwIn -and $null -ne $fwIn.profiles) { $x = $fwIn.profiles[$p] }
        $profiles[$p] = [ordered]@{
            enabled = [bool](Get-Or $x 'enabled' $true)
            blockAllInbound = [bool](Get-Or $x 'blockAllInbound' $false)
            defaultInbound = (Get-Or $x 'defaultInbound' 'Block')
        }
    }
    $rules = New-Object System.Collections.ArrayList
    if ($null -ne $fwIn) {
        foreach ($r in @($fwIn.rules)) {
            if ($null -eq $r) { continue }
            [void]$rules.Add([ordered]@{
                    name = $r.name
                    enabled = [bool](Get-Or $r 'enabled' $true)
                    action = (Get-Or $r 'action' 'Allow')
                    protocol = (Get-Or $r 'protocol' 'TCP')
                    localPort = (ConvertTo-LocalPortList $r['localPort'])
                    profile = (Get-Or $r 'profile' 'Any')
                    direction = (Get-Or $r 'direction' 'Inbound')
                    source = (Get-Or $r 'source' 'Local')
                })
        }
    }
    $ev = [ordered]@{}
    foreach ($id in '1057', '1058', '1006', '36870', '36871', '36872', '4625', '7031', '7034') { $ev[$id] = 0 }
    foreach ($k in @($w.events24h.Keys)) { $ev[[string]$k] = [int]$w.events24h[$k] }
    $stopped = [ordered]@{}
    if ($null -ne $w.eventsStoppedAt) {
        foreach ($k in @($w.eventsStoppedAt.Keys)) { $stopped[[string]$k] = ConvertTo-IsoSeconds (ConvertFrom-Iso $w.eventsStoppedAt[$k]) }
    }
    $sources = New-Object System.Collections.ArrayList
    foreach ($s in @($w.failedLogonSources)) {
        if ($null -eq $s) { continue }
        [void]$sources.Add([ordered]@{ ip = [string]$s.ip; count = [int]$s.count; logonType = $(if ($null -ne $s['logonType']) { [int]$s['logonType'] } else { $null }) })
    }
    $listeners = New-Object System.Collections.ArrayList
    foreach ($l in @($w.listeners)) {
        if ($null -eq $l) { continue }
        [void]$listeners.Add([ordered]@{ port = [int]$l.port; pid = [int]$l.pid; process = [string]$l.process; services = (ConvertTo-ModelList $l.services) })
    }
    $pv = [ordered]@{}
    if ($null -ne $w.policyValues) { foreach ($k in @($w.policyValues.Keys)) { $pv[$k] = $w.policyValues[$k] } }
    $dmg = $w.damage
    [ordered]@{
        rdpPort = [int]$w.rdpPort
        listeners = $listeners
        services = $svc
        rdpCertificate = $cert
        sslCertificateSHA1Hash = $(if ($w.sslCertificateSHA1Hash) { ConvertTo-NormalThumb $w.sslCertificateSHA1Hash } else { $null })
        machineKeysAcl = (ConvertTo-ModelList $w.machineKeysAcl)
        rdpKeyFileAcl = $(if ($null -ne $w.rdpKeyFileAcl) { ConvertTo-ModelList $w.rdpKeyFileAcl } else { $null })
        machineKeysOwner = (Get-Or $w 'machineKeysOwner' 'S-1-5-32-544')
        rdpKeyFileOwner = (Get-Or $w 'rdpKeyFileOwner' 'S-1-5-32-544')
        machineGuid = (Get-Or $w 'machineGuid' $script:DEFAULT_MACHINE_GUID)
        schannelServer = $sch
        rdpTcp = $rdpTcp
        terminalServer = [ordered]@{
            fDenyTSConnections = (Get-OrKeepNull $ts 'fDenyTSConnections' 0)
            TSEnabled = (Get-OrKeepNull $ts 'TSEnabled' 1)
            TSUserEnabled = (Get-OrKeepNull $ts 'TSUserEnabled' 0)
            TSServerDrainMode = (Get-OrKeepNull $ts 'TSServerDrainMode' 0)
        }
        firewallRdpRule = $(if ($null -ne $w.firewallRdpRule) { [ordered]@{ enabled = [bool]$w.firewallRdpRule.enabled; localPort = (ConvertTo-LocalPortList $w.firewallRdpRule.localPort) } } else { $null })
        firewall = [ordered]@{ activeProfile = (Get-Or $fwIn 'activeProfile' 'Public'); profiles = $profiles; rules = $rules }
        domainJoined = [bool]$w.domainJoined
        secureChannel = [bool](Get-Or $w 'secureChannel' $true)
        policyManagedKeys = (ConvertTo-ModelList $w.policyManagedKeys)
        policyValues = $pv
        credSsp = [ordered]@{ allowEncryptionOracle = $(if ($null -ne $w.credSsp) { $w.credSsp['allowEncryptionOracle'] } else { $null }) }
        rdsh = [ordered]@{
            installed = [bool](Get-Or $w.rdsh 'installed' $false)
            licenseServers = (ConvertTo-ModelList (Get-Or $w.rdsh 'licenseServers' @()))
            graceExpired = [bool](Get-Or $w.rdsh 'graceExpired' $false)
        }
        systemDrive = [ordered]@{ freeMB = (Get-Or $w.systemDrive 'freeMB' 20000) }
        events24h = $ev
        eventsStoppedAt = $stopped
        auditFailedLogons = [bool](Get-Or $w 'auditFailedLogons' $true)
        failedLogonSources = $sources
        damage = [ordered]@{
            cimClasses = (ConvertTo-ModelList (Get-Or $dmg 'cimClasses' @()))
            eventLogs = (ConvertTo-ModelList (Get-Or $dmg 'eventLogs' @()))
        }
        files = (ConvertTo-KeptFiles $w.files)
        # issue #15: the BCD's boot manager settings (fleet-repair.ts canonicalBoot; Model.Offline.ps1)
        boot = [ordered]@{
            displayBootMenu = [bool](Get-Or $w.boot 'displayBootMenu' $false)
            timeout = $(if ($null -ne $w.boot -and $w.boot.Contains('timeout')) { if ($null -ne $w.boot['timeout']) { [int]$w.boot['timeout'] } else { $null } } else { 30 })
            bootEms = [bool](Get-Or $w.boot 'bootEms' $false)
            ems = [bool](Get-Or $w.boot 'ems' $false)
        }
    }
}

# ---------------------------------------------------------------------------------------------
# Model control
# ---------------------------------------------------------------------------------------------

<#
.SYNOPSIS Loads a fleet `windows` state (hashtable from ConvertFrom-Json -AsHashtable) into the model.
#>
function Initialize-WindowsModel {
    param(
        [Parameter(Mandatory)] $Windows,
        [Parameter(Mandatory)] [datetime]$Now,
        [datetime]$Boot,
        # issue #15: { drive, hyperVGeneration }: the state is a disk attached to a rescue VM (Model.Offline.ps1)
        $Offline
    )
    $utc = $Now.ToUniversalTime()
    if (-not $PSBoundParameters.ContainsKey('Boot')) { $Boot = $utc.AddDays(-7) }
    $script:M = @{
        W = (ConvertTo-CanonicalWindows $Windows)
        Now = $utc
        Start = $utc
        Boot = $Boot.ToUniversalTime()
        Hung = $false
        HungReason = $null
        Files = [ordered]@{}        # extra files (backups etc.): full path (lower) -> @{ Path; Dir; Content }
        ExtraKeys = [ordered]@{}    # registry keys/values outside the fleet's fields (lost at the end of the run)
        AddedEvents = New-Object System.Collections.ArrayList
        EventCache = @{}
    }
    Import-ModelKeptFiles
    if ($null -ne $Offline) { Initialize-OfflineDisk $Offline }
}

# ---------------------------------------------------------------------------------------------
# Files that persist between runs: what a script writes under C:\ProgramData\RDP Doctor (the product's
# own folder: fix-reset-machinekeys-acl's icacls backups) is kept in the fleet state's `files` map
# (path -> text) and loaded again by the next run on the same VM; folders are implied by the files in
# them. Every other file a script writes (C:\Windows\Temp...) lives for the run only.
# ---------------------------------------------------------------------------------------------
$script:KEPT_ROOT = 'C:\ProgramData\RDP Doctor'

function Import-ModelKeptFiles {
    $files = $script:M.W.files
    if ($null -eq $files) { return }
    foreach ($path in @($files.Keys)) {
        $q = ConvertTo-FilePath $path
        # its folders down from the product's folder
        $d = $q.Substring(0, $q.LastIndexOf('\'))
        while ($d.Length -ge $script:KEPT_ROOT.Length -and -not $script:M.Files.Contains($d.ToLowerInvariant())) {
            $script:M.Files[$d.ToLowerInvariant()] = @{ Path = $d; Dir = $true; Content = $null }
            $d = $d.Substring(0, $d.LastIndexOf('\'))
        }
        $script:M.Files[$q.ToLowerInvariant()] = @{ Path = $q; Dir = $false; Content = [string]$files[$path] }
    }
}

# the fleet `files` map after the run: the files under the product's folder
function Export-ModelKeptFiles {
    $out = [ordered]@{}
    $root = $script:KEPT_ROOT.ToLowerInvariant() + '\'
    foreach ($k in @($script:M.Files.Keys)) {
        $f = $script:M.Files[$k]
        if (-not $f.Dir -and $k.StartsWith($root)) { $out[$f.Path] = [string]$f.Content }
    }
    $script:M.W.files = $out
}

function Get-WindowsModelState { Export-ModelKeptFiles; return $script:M.W }

function Get-WindowsModelInfo {
    [pscustomobject]@{
        Hung = $script:M.Hung
        HungReason = $script:M.HungReason
        VirtualSeconds = [int][math]::Round(($script:M.Now - $script:M.Start).TotalSeconds)
        Now = $script:M.Now
    }
}

function Test-WindowsModelHung { return [bool]$script:M.Hung }

# A command that would wait forever (an unbounded service wait, a prompt): the run hangs there.
# `exit` from a function ends the calling script and cannot be caught by its try/catch
# (ExitException is flow control), which is exactly "the script never gets further".
function Stop-ModelRunHung([string]$reason) {
    $script:M.Hung = $true
    $script:M.HungReason = $reason
    $script:M.Now = $script:M.Start.AddSeconds($script:RUN_LIMIT_SECONDS)
    exit
}

function Step-ModelClock([double]$seconds) {
    $script:M.Now = $script:M.Now.AddSeconds($seconds)
    if (($script:M.Now - $script:M.Start).TotalSeconds -ge $script:RUN_LIMIT_SECONDS) {
        Stop-ModelRunHung 'run limit: the script waited past Run Command''s 90 minutes'
    }
}

# ---------------------------------------------------------------------------------------------
# Errors shaped like the cmdlets'. A function's FullyQualifiedErrorId gets ",<function name>"
# appended by PowerShell; the real one ends ",<cmdlet type>": scripts must match by prefix
# (`-like 'NoMatchingEventsFound*'`), which also holds on Windows.
# ---------------------------------------------------------------------------------------------
function New-ModelErrorRecord([System.Exception]$Exception, [string]$Id, [System.Management.Automation.ErrorCategory]$Category, $Target) {
    return [System.Management.Automation.ErrorRecord]::new($Exception, $Id, $Category, $Target)
}

function New-HResultException([string]$typeName, [string]$message, [int]$hresult) {
    $ex = New-Object $typeName $message
    # HResult has a protected setter; the real exceptions carry the Win32/COM code there.
    $prop = [System.Exception].GetProperty('HResult')
    $prop.SetValue($ex, $hresult)
    return $ex
}

# A script module's functions see the module's $ErrorActionPreference, not the caller's; compiled
# cmdlets honour the caller's. PSCmdlet.SessionState is the caller's, so read the preference there.
function Write-ModelError([System.Management.Automation.PSCmdlet]$cmdlet, [System.Management.Automation.ErrorRecord]$record) {
    if ($cmdlet.MyInvocation.BoundParameters.ContainsKey('ErrorAction')) { $cmdlet.WriteError($record); return }
    $pref = [string]$cmdlet.SessionState.PSVariable.GetValue('ErrorActionPreference')
    switch ($pref) {
        'Stop' { $cmdlet.ThrowTerminatingError($record) }
        'SilentlyContinue' { [void]$global:Error.Insert(0, $record) }
        'Ignore' { }
        default { $cmdlet.WriteError($record) }
    }
}

# ---------------------------------------------------------------------------------------------
# Paths. Scripts use Windows paths (C:\..., HKLM:\..., Cert:\...); on Linux the real Join-Path
# would use '/', so the model provides its own for those forms.
# ---------------------------------------------------------------------------------------------
function Get-ModelPathKind([string]$p) {
    if ($p -match '^(?i)(Microsoft\.PowerShell\.Core\\)?Registry::') { return 'Registry' }
    if ($p -match '^(?i)(HKLM|HKEY_LOCAL_MACHINE):?\\') { return 'Registry' }
    if ($p -match '^(?i)(Microsoft\.PowerShell\.Security\\)?Certificate::') { return 'Cert' }
    if ($p -match '^(?i)Cert:') { return 'Cert' }
    if ($p -match '^(?i)[A-Z]:\\' -or $p -match '^(?i)[A-Z]:$') { return 'File' }
    if ($p -match '^(?i)(Microsoft\.PowerShell\.Core\\)?FileSystem::[A-Z]:\\') { return 'File' }
    return $null
}

function Join-Path {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline)] [string[]]$Path,
        [Parameter(Mandatory, Position = 1)] [AllowEmptyString()] [string]$ChildPath,
        [Parameter(Position = 2, ValueFromRemainingArguments)] [string[]]$AdditionalChildPath
    )
    process {
        foreach ($p in $Path) {
            if (Get-ModelPathKind $p) {
                $r = $p.TrimEnd('\')
                foreach ($c in @($ChildPath) + @($AdditionalChildPath)) {
                    if ($c) { $r = $r + '\' + $c.TrimStart('\') }
                }
                $r
            } else {
                Microsoft.PowerShell.Management\Join-Path -Path $p -ChildPath $ChildPath -AdditionalChildPath $AdditionalChildPath
            }
        }
    }
}

# ---------------------------------------------------------------------------------------------
# Clock: Get-Date reads the virtual clock; Start-Sleep advances it and never sleeps.
# ---------------------------------------------------------------------------------------------
function Get-Date {
    [CmdletBinding(DefaultParameterSetName = 'net')]
    param(
        [Parameter(Position = 0, ValueFromPipeline)] [datetime]$Date,
        [string]$Format,
        [string]$UFormat,
        [int]$Year, [int]$Month, [int]$Day, [int]$Hour, [int]$Minute, [int]$Second, [int]$Millisecond,
        [Microsoft.PowerShell.Commands.DisplayHintType]$DisplayHint,
        [switch]$AsUTC
    )
    process {
        $p = @{} + $PSBoundParameters
        if (-not $p.ContainsKey('Date')) { $p.Date = $script:M.Now.ToLocalTime() }
        Microsoft.PowerShell.Utility\Get-Date @p
    }
}

function Start-Sleep {
    [CmdletBinding(DefaultParameterSetName = 'Seconds')]
    param(
        [Parameter(ParameterSetName = 'Seconds', Position = 0)] [double]$Seconds,
        [Parameter(ParameterSetName = 'Milliseconds')] [Alias('ms')] [int]$Milliseconds,
        [Parameter(ParameterSetName = 'FromTimeSpan')] [timespan]$Duration
    )
    $s = 0.0
    if ($PSBoundParameters.ContainsKey('Seconds')) { $s = $Seconds }
    if ($PSBoundParameters.ContainsKey('Milliseconds')) { $s = $Milliseconds / 1000.0 }
    if ($PSBoundParameters.ContainsKey('Duration')) { $s = $Duration.TotalSeconds }
    Step-ModelClock $s
}

# No prompt ever returns under Run Command: it waits until the 90-minute limit [S1][I13].
function Read-Host {
    [CmdletBinding()] param([Parameter(Position = 0, ValueFromRemainingArguments)] $Prompt, [switch]$AsSecureString)
    Stop-ModelRunHung 'Read-Host: a prompt waits forever under Run Command'
}

# Restarting from inside a script leaves the extension stuck [S1]; fixes restart through ARM.
function Restart-Computer { [CmdletBinding()] param([switch]$Force) throw 'model: Restart-Computer is not allowed inside a Run Command script (restart through ARM) [S1]' }
function Stop-Computer { [CmdletBinding()] param([switch]$Force) throw 'model: Stop-Computer is not allowed inside a Run Command script [S1]' }

function Test-ComputerSecureChannel {
    [CmdletBinding()]
    param([switch]$Repair, [string]$Server, $Credential)
    # Test-ComputerSecureChannel: a workgroup computer is an error (Microsoft.PowerShell.Management docs).
    if (-not $script:M.W.domainJoined) {
        $ex = [System.InvalidOperationException]::new('Cannot verify the secure channel password for the local computer. Local computer is not joined to a domain.')
        $PSCmdlet.ThrowTerminatingError((New-ModelErrorRecord $ex 'ComputerNotInDomain,Microsoft.PowerShell.Commands.TestComputerSecureChannelCommand' 'InvalidOperation' $env:COMPUTERNAME))
    }
    if ($Repair) { throw 'model: Test-ComputerSecureChannel -Repair changes the machine account: not modelled' }
    return [bool]$script:M.W.secureChannel
}

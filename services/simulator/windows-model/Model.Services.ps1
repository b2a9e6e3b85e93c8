# Services: the fleet's `services` (plus services named by listeners), Win32_Service objects,
# sc.exe and the service cmdlets.
#  - Win32_Service.State spells "Start Pending"/"Stop Pending"; StartMode Auto/Manual/Disabled [S16].
#  - UmRdpService depends on TermService [S9]; stopping TermService needs -Force [S31]; sc.exe stop
#    answers 1051 while dependents run.
#  - The service cmdlets wait for the final state in an unbounded loop (ServiceController
#    DoWaitForStatus, SCRIPT-REVIEW A5): a service that `hangs` makes them wait forever: the run hangs.
#    sc.exe returns at once (START_PENDING/STOP_PENDING) and a bounded poll sees the pending state.
#  - sc.exe exit codes are Win32 codes (winerror.h): 1051, 1056, 1058, 1060, 1061, 1062.

$script:SERVICE_DEPS = @{ UmRdpService = @('TermService') }
$script:SERVICE_DISPLAY = @{ TermService = 'Remote Desktop Services'; SessionEnv = 'Remote Desktop Configuration'; UmRdpService = 'Remote Desktop Services UserMode Port Redirector' }
$script:SERVICE_PATH = @{
    TermService = 'C:\Windows\System32\svchost.exe -k NetworkService -p'
    SessionEnv = 'C:\Windows\System32\svchost.exe -k netsvcs -p'
    UmRdpService = 'C:\Windows\System32\svchost.exe -k LocalSystemNetworkRestricted -p'
}
# non-hanging pending states complete after this many virtual seconds
$script:PENDING_SECONDS = 3

function Get-ModelServiceNames {
    $names = New-Object System.Collections.ArrayList
    foreach ($n in @($script:M.W.services.Keys)) { [void]$names.Add($n) }
    foreach ($l in $script:M.W.listeners) { foreach ($s in $l.services) { if ($names -notcontains $s) { [void]$names.Add($s) } } }
    return $names
}

# $materialize: the caller changes the service, so a listener-only service joins `services`.
function Get-ModelService([string]$name, [bool]$materialize = $false) {
    $w = $script:M.W
    foreach ($k in @($w.services.Keys)) { if ($k -eq $name) { return $w.services[$k] } }
    foreach ($l in $w.listeners) {
        foreach ($s in $l.services) {
            if ($s -eq $name) {
                # a service seen only as a listener's host: running, automatic
                $o = ConvertTo-CanonicalService $s @{ state = 'Running'; startMode = 'Auto' }
                if ($materialize) { $w.services[$s] = $o }
                return $o
            }
        }
    }
    return $null
}

function Get-ModelServiceName([string]$name) {
    foreach ($n in (Get-ModelServiceNames)) { if ($n -eq $name) { return $n } }
    return $null
}

function Get-ModelServicePid([string]$name, $s) {
    if ($s.state -eq 'Stopped') { return 0 }
    foreach ($l in $script:M.W.listeners) { if ($l.services -contains $name) { return [int]$l.pid } }
    if ($name -eq 'TermService') { return 1104 }
    # other running services: a stable PID from the case-insensitive order of all service names
    $names = [System.Collections.Generic.List[string]]::new()
    foreach ($n in (Get-ModelServiceNames)) { $names.Add($n) }
    $names.Sort([System.StringComparer]::OrdinalIgnoreCase)
    return 2000 + 4 * $names.IndexOf($name)
}

function Update-ModelPending {
    foreach ($n in @($script:M.W.services.Keys)) {
        $s = $script:M.W.services[$n]
        if ($s.hangs -or ($s.state -ne 'StartPending' -and $s.state -ne 'StopPending')) { continue }
        $since = if ($s.Contains('pendingSince')) { $s.pendingSince } else { $script:M.Start }
        if (($script:M.Now - $since).TotalSeconds -ge $script:PENDING_SECONDS) { Complete-ModelServiceTransition $n $s }
    }
}

function Complete-ModelServiceTransition([string]$name, $s) {
    if ($s.Contains('pendingSince')) { $s.Remove('pendingSince') }
    if ($s.state -eq 'StartPending') {
        $s.state = 'Running'
        Invoke-ModelServiceStarted $name
    } elseif ($s.state -eq 'StopPending') {
        $s.state = 'Stopped'
        Invoke-ModelServiceStopped $name
    }
}

function Invoke-ModelServiceStarted([string]$name) {
    $w = $script:M.W
    if ($name -eq 'TermService') {
        # TermService takes the RDP port unless another process holds it; an RDP-Tcp listener with
        # fEnableWinStation = 0 is not created [S7].
        $w.listeners = ConvertTo-ModelList @($w.listeners | Where-Object { $_.services -notcontains 'TermService' })
        $held = @($w.listeners | Where-Object { $_.port -eq $w.rdpPort }).Count -gt 0
        if (-not $held -and $w.rdpTcp.fEnableWinStation -ne 0) {
            [void]$w.listeners.Add([ordered]@{ port = [int]$w.rdpPort; pid = 1104; process = 'svchost'; services = (ConvertTo-ModelList @('TermService')) })
        }
    } elseif ($name -eq 'SessionEnv') {
        Invoke-SessionEnvStarted
    }
}

function Invoke-ModelServiceStopped([string]$name) {
    $w = $script:M.W
    $w.listeners = ConvertTo-ModelList @($w.listeners | Where-Object { $_.services -notcontains $name })
}

function Get-RunningDependents([string]$name) {
    $out = @()
    foreach ($k in $script:SERVICE_DEPS.Keys) {
        if ($script:SERVICE_DEPS[$k] -contains $name) {
            $d = Get-ModelService $k
            if ($null -ne $d -and $d.state -ne 'Stopped') { $out += $k }
        }
    }
    return , $out
}

# Starts a service the way the SCM does; returns the Win32 code. $wait: the caller waits for Running.
function Start-ModelService([string]$name, [bool]$wait) {
    Update-ModelPending
    $n = Get-ModelServiceName $name
    if (-not $n) { return 1060 }
    $s = Get-ModelService $n $true
    if ($s.startMode -eq 'Disabled') { return 1058 }
    if ($s.state -eq 'Running') { return 1056 }
    if ($s.state -eq 'StopPending') { return 1061 }
    if ($s.state -eq 'StartPending') {
        if ($wait) {
            if ($s.hangs) { Stop-ModelRunHung "start of $n never completes (Start Pending)" }
            Step-ModelClock $script:PENDING_SECONDS
            Update-ModelPending
        }
        return 1056
    }
    foreach ($d in @($script:SERVICE_DEPS[$n])) {
        if (-not $d) { continue }
        $ds = Get-ModelService $d
        if ($null -eq $ds) { return 1075 }   # ERROR_SERVICE_DEPENDENCY_DELETED
        if ($ds.state -ne 'Running') {
            $rc = Start-ModelService $d $true
            if ($rc -ne 0 -and $rc -ne 1056) { return 1068 }   # ERROR_SERVICE_DEPENDENCY_FAIL
        }
    }
    $s.state = 'StartPending'
    $s.pendingSince = $script:M.Now
    if ($s.hangs) {
        if ($wait) { Stop-ModelRunHung "start of $n never completes (Start Pending)" }
        return 0
    }
    if ($wait) { Step-ModelClock 1; Complete-ModelServiceTransition $n $s }
    return 0
}

function Stop-ModelService([string]$name, [bool]$force, [bool]$wait) {
    Update-ModelPending
    $n = Get-ModelServiceName $name
    if (-not $n) { return 1060 }
    $s = Get-ModelService $n $true
    if ($s.state -eq 'Stopped') { return 1062 }
    if ($s.state -eq 'StartPending' -or $s.state -eq 'StopPending') {
        if ($wait -and $s.state -eq 'StopPending') {
            if ($s.hangs) { Stop-ModelRunHung "stop of $n never completes (Stop Pending)" }
            Step-ModelClock $script:PENDING_SECONDS; Update-ModelPending
            return 0
        }
        return 1061
    }
    $deps = Get-RunningDependents $n
    if ($deps.Count -gt 0) {
        if (-not $force) { return 1051 }
        foreach ($d in $deps) { [void](Stop-ModelService $d $true $wait) }
    }
    $s.state = 'StopPending'
    $s.pendingSince = $script:M.Now
    if ($s.hangs) {
        if ($wait) { Stop-ModelRunHung "stop of $n never completes (Stop Pending)" }
        return 0
    }
    if ($wait) { Step-ModelClock 1; Complete-ModelServiceTransition $n $s }
    return 0
}

function Get-Win32StateText([string]$state) {
    switch ($state) { 'StartPending' { 'Start Pending' } 'StopPending' { 'Stop Pending' } default { $state } }
}

function New-Win32ServiceObject([string]$n) {
    $s = Get-ModelService $n
    [pscustomobject]@{
        PSTypeName = 'Microsoft.Management.Infrastructure.CimInstance#root/cimv2/Win32_Service'
        Name = $n
        DisplayName = $(if ($script:SERVICE_DISPLAY.Contains($n)) { $script:SERVICE_DISPLAY[$n] } else { $n })
        State = (Get-Win32StateText $s.state)
        StartMode = $s.startMode
        StartName = $s.startName
        ProcessId = [uint32](Get-ModelServicePid $n $s)
        PathName = $(if ($script:SERVICE_PATH.Contains($n)) { $script:SERVICE_PATH[$n] } else { "C:\Program Files\$n\$n.exe" })
        ServiceType = $(if ($s.ownProcess) { 'Own Process' } else { 'Share Process' })
        Started = ($s.state -eq 'Running')
        Status = 'OK'
    }
}

# ---------------------------------------------------------------------------------------------
# sc.exe
# ---------------------------------------------------------------------------------------------
$script:SC_MESSAGES = @{
    1051 = 'A stop control has been sent to a service that other running services are dependent on.'
    1056 = 'An instance of the service is already running.'
    1058 = 'The service cannot be started, either because it is disabled or because it has no enabled devices associated with it.'
    1060 = 'The specified service does not exist as an installed service.'
    1061 = 'The service cannot accept control messages at this time.'
    1062 = 'The service has not been started.'
    1068 = 'The dependency service or group failed to start.'
}

function Format-ScStatus([string]$n, [bool]$ex) {
    $s = Get-ModelService $n
    $code = switch ($s.state) { 'Stopped' { '1  STOPPED' } 'StartPending' { '2  START_PENDING' } 'StopPending' { '3  STOP_PENDING' } default { '4  RUNNING' } }
    ''
    "SERVICE_NAME: $n "
    ('        TYPE               : {0}' -f $(if ($s.ownProcess) { '10  WIN32_OWN_PROCESS  ' } else { '20  WIN32_SHARE_PROCESS  ' }))
    "        STATE              : $code "
    if ($s.state -eq 'Running') { '                                (STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN)' } else { '                                (NOT_STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN)' }
    '        WIN32_EXIT_CODE    : 0  (0x0)'
    '        SERVICE_EXIT_CODE  : 0  (0x0)'
    '        CHECKPOINT         : 0x0'
    '        WAIT_HINT          : 0x0'
    if ($ex) {
        "        PID                : $(Get-ModelServicePid $n $s)"
        '        FLAGS              : '
    }
}

function Invoke-Sc {
    param([string[]]$argv)
    $global:LASTEXITCODE = 0
    Update-ModelPending
    $verb = [string]$argv[0]
    $name = [string]$argv[1]
    $fail = {
        param($prefix, $code)
        "[SC] $prefix FAILED $($code):"
        ''
        $script:SC_MESSAGES[$code]
        ''
        $global:LASTEXITCODE = $code
    }
    $n = Get-ModelServiceName $name
    switch ($verb) {
        { $_ -eq 'query' -or $_ -eq 'queryex' } {
            if (-not $n) { & $fail 'EnumQueryServicesStatus:OpenService' 1060; return }
            Format-ScStatus $n ($verb -eq 'queryex')
            return
        }
        'start' {
            if (-not $n) { & $fail 'StartService: OpenService' 1060; return }
            $rc = Start-ModelService $n $false
            if ($rc -ne 0) { & $fail 'StartService' $rc; return }
            Format-ScStatus $n $true
            return
        }
        'stop' {
            if (-not $n) { & $fail 'OpenService' 1060; return }
            $rc = Stop-ModelService $n $false $false
            if ($rc -ne 0) { & $fail 'ControlService' $rc; return }
            Format-ScStatus $n $false
            return
        }
        'config' {
            if (-not $n) { & $fail 'OpenService' 1060; return }
            $s = Get-ModelService $n $true
            for ($i = 2; $i -lt $argv.Count; $i++) {
                $k = ([string]$argv[$i]).ToLowerInvariant()
                $v = if ($i + 1 -lt $argv.Count) { [string]$argv[$i + 1] } else { '' }
                # "start= demand" arrives as two arguments; "start=demand" as one
                if ($k -match '^([a-z]+)=(.+)$') { $k = "$($Matches[1])="; $v = $Matches[2] } else { $i++ }
                switch ($k) {
                    'start=' {
                        switch ($v.ToLowerInvariant()) {
                            'auto' { $s.startMode = 'Auto' } 'delayed-auto' { $s.startMode = 'Auto' }
                            'demand' { $s.startMode = 'Manual' } 'disabled' { $s.startMode = 'Disabled' }
                            default { 'DESCRIPTION:'; "        Modifies a service entry in the registry and Service Database."; $global:LASTEXITCODE = 87; return }
                        }
                    }
                    'type=' { $s.ownProcess = ($v.ToLowerInvariant() -eq 'own') }
                    'obj=' { $s.startName = $v }
                    'password=' { }
                    default { 'DESCRIPTION:'; "        Modifies a service entry in the registry and Service Database."; $global:LASTEXITCODE = 87; return }
                }
            }
            '[SC] ChangeServiceConfig SUCCESS'
            return
        }
        default { throw "model: sc.exe $verb is not modelled" }
    }
}

function sc.exe { Invoke-Sc -argv $args }

# ---------------------------------------------------------------------------------------------
# Service cmdlets (Microsoft.PowerShell.Management; errors as ServiceCommandException)
# ---------------------------------------------------------------------------------------------
function Write-ServiceError($cmdlet, [string]$id, [string]$message, [string]$name, [string]$cmdType) {
    $ex = [System.InvalidOperationException]::new($message)
    Write-ModelError $cmdlet ((New-ModelErrorRecord $ex "$id,Microsoft.PowerShell.Commands.$cmdType" 'OpenError' $name))
}

function Get-ServiceNamesFromInput($Name, $InputObject) {
    if ($InputObject) { return @($InputObject | ForEach-Object { if ($_.Name) { $_.Name } else { [string]$_ } }) }
    return @($Name)
}

function New-ServiceControllerObject([string]$n) {
    $s = Get-ModelService $n
    [pscustomobject]@{
        PSTypeName = 'System.ServiceProcess.ServiceController'
        Name = $n; ServiceName = $n
        DisplayName = $(if ($script:SERVICE_DISPLAY.Contains($n)) { $script:SERVICE_DISPLAY[$n] } else { $n })
        # .Status is an enum (Stopped=1, StartPending=2, StopPending=3, Running=4) [S31]
        Status = [System.ServiceProcess.ServiceControllerStatus]$s.state
        StartType = [System.ServiceProcess.ServiceStartMode]$(switch ($s.startMode) { 'Auto' { 'Automatic' } default { $s.startMode } })
        DependentServices = @($script:SERVICE_DEPS.Keys | Where-Object { $script:SERVICE_DEPS[$_] -contains $n })
        ServicesDependedOn = @($script:SERVICE_DEPS[$n] | Where-Object { $_ })
    }
}

function Get-Service {
    [CmdletBinding()]
    param([Parameter(Position = 0, ValueFromPipeline)] [Alias('ServiceName')] [string[]]$Name)
    process {
        Update-ModelPending
        $names = if ($Name) { $Name } else { @(Get-ModelServiceNames) }
        foreach ($x in $names) {
            $n = Get-ModelServiceName $x
            if (-not $n) { Write-ServiceError $PSCmdlet 'NoServiceFoundForGivenName' "Cannot find any service with service name '$x'." $x 'GetServiceCommand'; continue }
            New-ServiceControllerObject $n
        }
    }
}

function Start-Service {
    [CmdletBinding(SupportsShouldProcess)]
    param([Parameter(Position = 0, ValueFromPipelineByPropertyName)] [Alias('ServiceName')] [string[]]$Name, [Parameter(ValueFromPipeline)] $InputObject, [switch]$PassThru)
    process {
        foreach ($x in (Get-ServiceNamesFromInput $Name $InputObject)) {
            $rc = Start-ModelService $x $true
            if ($rc -eq 1060) { Write-ServiceError $PSCmdlet 'NoServiceFoundForGivenName' "Cannot find any service with service name '$x'." $x 'StartServiceCommand'; continue }
            if ($rc -ne 0 -and $rc -ne 1056) {
                Write-ServiceError $PSCmdlet 'CouldNotStartService' "Service '$x ($x)' cannot be started due to the following error: Cannot start service $x on computer '.'." $x 'StartServiceCommand'
                continue
            }
            if ($PassThru) { New-ServiceControllerObject (Get-ModelServiceName $x) }
        }
    }
}

function Stop-Service {
    [CmdletBinding(SupportsShouldProcess)]
    param([Parameter(Position = 0, ValueFromPipelineByPropertyName)] [Alias('ServiceName')] [string[]]$Name, [Parameter(ValueFromPipeline)] $InputObject, [switch]$Force, [switch]$NoWait, [switch]$PassThru)
    process {
        foreach ($x in (Get-ServiceNamesFromInput $Name $InputObject)) {
            $rc = Stop-ModelService $x ([bool]$Force) (-not $NoWait)
            if ($rc -eq 1060) { Write-ServiceError $PSCmdlet 'NoServiceFoundForGivenName' "Cannot find any service with service name '$x'." $x 'StopServiceCommand'; continue }
            if ($rc -eq 1051) {
                Write-ServiceError $PSCmdlet 'ServiceHasDependentServices' "Cannot stop service '$x ($x)' because it has dependent services. It can only be stopped if the Force flag is set." $x 'StopServiceCommand'
                continue
            }
            if ($rc -eq 1061) { Write-ServiceError $PSCmdlet 'CouldNotStopService' "Service '$x ($x)' cannot be stopped due to the following error: Cannot stop $x service on computer '.'." $x 'StopServiceCommand'; continue }
            if ($PassThru) { New-ServiceControllerObject (Get-ModelServiceName $x) }
        }
    }
}

function Restart-Service {
    [CmdletBinding(SupportsShouldProcess)]
    param([Parameter(Position = 0, ValueFromPipelineByPropertyName)] [Alias('ServiceName')] [string[]]$Name, [Parameter(ValueFromPipeline)] $InputObject, [switch]$Force, [switch]$PassThru)
    process {
        foreach ($x in (Get-ServiceNamesFromInput $Name $InputObject)) {
            $rc = Stop-ModelService $x ([bool]$Force) $true
            if ($rc -eq 1060) { Write-ServiceError $PSCmdlet 'NoServiceFoundForGivenName' "Cannot find any service with service name '$x'." $x 'RestartServiceCommand'; continue }
            if ($rc -eq 1051) {
                Write-ServiceError $PSCmdlet 'ServiceHasDependentServices' "Cannot stop service '$x ($x)' because it has dependent services. It can only be stopped if the Force flag is set." $x 'RestartServiceCommand'
                continue
            }
            $rc = Start-ModelService $x $true
            if ($rc -ne 0 -and $rc -ne 1056) {
                Write-ServiceError $PSCmdlet 'CouldNotStartService' "Service '$x ($x)' cannot be started due to the following error: Cannot start service $x on computer '.'." $x 'RestartServiceCommand'
                continue
            }
            if ($PassThru) { New-ServiceControllerObject (Get-ModelServiceName $x) }
        }
    }
}

function Set-Service {
    [CmdletBinding(SupportsShouldProcess)]
    param([Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)] [Alias('ServiceName')] [string]$Name, [string]$StartupType, [string]$Status, [switch]$PassThru)
    $n = Get-ModelServiceName $Name
    if (-not $n) { Write-ServiceError $PSCmdlet 'NoServiceFoundForGivenName' "Cannot find any service with service name '$Name'." $Name 'SetServiceCommand'; return }
    $s = Get-ModelService $n $true
    if ($StartupType) {
        $s.startMode = switch -Regex ($StartupType) { '^(?i)automatic' { 'Auto' } '^(?i)manual$' { 'Manual' } '^(?i)disabled$' { 'Disabled' } default { throw "model: StartupType $StartupType" } }
    }
    if ($Status -eq 'Running') { [void](Start-ModelService $n $true) }
    if ($Status -eq 'Stopped') { [void](Stop-ModelService $n $false $true) }
    if ($PassThru) { New-ServiceControllerObject $n }
}

# ---------------------------------------------------------------------------------------------
# Network and processes
# ---------------------------------------------------------------------------------------------
function Get-NetTCPConnection {
    [CmdletBinding()]
    param([uint16[]]$LocalPort, [string[]]$State, [uint32[]]$OwningProcess, [string[]]$LocalAddress)
    if (Test-CimDamaged 'MSFT_NetTCPConnection') { Write-CimFailure $PSCmdlet 'MSFT_NetTCPConnection' 'Get-NetTCPConnection'; return }
    $rows = New-Object System.Collections.ArrayList
    foreach ($l in $script:M.W.listeners) {
        # one row per address family (WINDOWS.md §1, unconfirmed): IPv4 and IPv6 wildcard listeners
        foreach ($addr in '0.0.0.0', '::') {
            [void]$rows.Add([pscustomobject]@{
                    PSTypeName = 'Microsoft.Management.Infrastructure.CimInstance#ROOT/StandardCimv2/MSFT_NetTCPConnection'
                    LocalAddress = $addr; LocalPort = [uint16]$l.port; RemoteAddress = $addr; RemotePort = [uint16]0
                    State = 'Listen'; OwningProcess = [uint32]$l.pid
                })
        }
    }
    $hit = [System.Collections.Generic.List[object]]::new()
    foreach ($r in $rows) {
        if ((-not $LocalPort -or $LocalPort -contains $r.LocalPort) -and (-not $State -or $State -contains $r.State) -and (-not $OwningProcess -or $OwningProcess -contains $r.OwningProcess)) { $hit.Add($r) }
    }
    if ($hit.Count -eq 0) {
        # zero matches = a non-terminating CmdletizationQuery_NotFound_<Property> error [I1]
        $prop = if ($LocalPort) { 'LocalPort' } elseif ($OwningProcess) { 'OwningProcess' } else { 'State' }
        $val = if ($LocalPort) { $LocalPort[0] } elseif ($OwningProcess) { $OwningProcess[0] } else { $State[0] }
        # (the real exception is a CimJobException, which does not exist on Linux)
        $ex = [System.Management.Automation.ItemNotFoundException]::new("No MSFT_NetTCPConnection objects found with property '$prop' equal to '$val'.  Verify the value of the property and retry.")
        Write-ModelError $PSCmdlet ((New-ModelErrorRecord $ex "CmdletizationQuery_NotFound_$prop,Get-NetTCPConnection" 'ObjectNotFound' $val))
        return
    }
    $hit
}

function Get-Process {
    [CmdletBinding(DefaultParameterSetName = 'Name')]
    param([Parameter(ParameterSetName = 'Id', Mandatory)] [int[]]$Id, [Parameter(ParameterSetName = 'Name', Position = 0)] [string[]]$Name)
    if ($PSCmdlet.ParameterSetName -ne 'Id') { throw 'model: Get-Process is modelled with -Id only' }
    foreach ($i in $Id) {
        $pname = $null
        foreach ($l in $script:M.W.listeners) { if ($l.pid -eq $i) { $pname = $l.process } }
        if (-not $pname -and $i -eq 4) { $pname = 'System' }
        if (-not $pname) {
            foreach ($n in (Get-ModelServiceNames)) {
                $s = Get-ModelService $n
                if ((Get-ModelServicePid $n $s) -eq $i -and $i -ne 0) { $pname = 'svchost' }
            }
        }
        if (-not $pname) {
            $ex = [System.ArgumentException]::new("Cannot find a process with the process identifier $i.")
            Write-ModelError $PSCmdlet ((New-ModelErrorRecord $ex 'NoProcessFoundForGivenId,Microsoft.PowerShell.Commands.GetProcessCommand' 'ObjectNotFound' $i))
            continue
        }
        [pscustomobject]@{ PSTypeName = 'System.Diagnostics.Process'; Id = $i; ProcessName = $pname; Name = $pname }
    }
}

function Invoke-Netstat {
    ''
    'Active Connections'
    ''
    '  Proto  Local Address          Foreign Address        State           PID'
    foreach ($l in $script:M.W.listeners) {
        '  TCP    {0,-22} {1,-22} {2,-15} {3}' -f "0.0.0.0:$($l.port)", '0.0.0.0:0', 'LISTENING', $l.pid
        '  TCP    {0,-22} {1,-22} {2,-15} {3}' -f "[::]:$($l.port)", '[::]:0', 'LISTENING', $l.pid
    }
    $global:LASTEXITCODE = 0
}
function netstat.exe { Invoke-Netstat }
function netstat { Invoke-Netstat }

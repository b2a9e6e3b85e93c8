# Event logs: Get-WinEvent -FilterHashtable. Events are derived from the state, never deleted:
#  - events24h[id] events are spread evenly over the 24 h before the run's `now` (none after
#    eventsStoppedAt[id]); event k (0 = newest) is at end - floor(k * span / n) ms, end = min(now, stop);
#    the emulation (vm-interior.ts) computes the same times.
#  - 1057/1058 and Schannel 36870-36872 are in System [S5]; 1006 comes from RemoteConnectionManager
#    [B5], modelled in System [S]; 7031/7034 from the Service Control Manager in System; 4625 in
#    Security [S8][S22] (Properties[10] LogonType, [19] IpAddress); with NLA a failed RDP logon is
#    type 3 with IpAddress "-" (SCRIPT-REVIEW A9 [S]) and RdpCoreTS 140 carries the address.
#  - auditFailedLogons = false: no 4625 at all.
#  - zero matches: the non-terminating NoMatchingEventsFound error [I6]; -MaxEvents keeps the newest.
#  - a query by ProviderName reads every log the provider is linked to; a misconfigured linked log
#    (damage.eventLogs) is an error, which -ErrorAction Stop turns into a failure (GetWinEventCommand.cs, A10).

$script:RCM = 'Microsoft-Windows-TerminalServices-RemoteConnectionManager'
$script:RDPCORE = 'Microsoft-Windows-RemoteDesktopServices-RdpCoreTS'
$script:EVENT_DEFS = @{
    '1057' = @{ Log = 'System'; Provider = $script:RCM }
    '1058' = @{ Log = 'System'; Provider = $script:RCM }
    '1006' = @{ Log = 'System'; Provider = $script:RCM }
    '36870' = @{ Log = 'System'; Provider = 'Schannel' }
    '36871' = @{ Log = 'System'; Provider = 'Schannel' }
    '36872' = @{ Log = 'System'; Provider = 'Schannel' }
    '7031' = @{ Log = 'System'; Provider = 'Service Control Manager' }
    '7034' = @{ Log = 'System'; Provider = 'Service Control Manager' }
    '4625' = @{ Log = 'Security'; Provider = 'Microsoft-Windows-Security-Auditing' }
    '140' = @{ Log = "$script:RDPCORE/Operational"; Provider = $script:RDPCORE }
}
$script:PROVIDER_LOGS = @{
    $script:RCM = @('System', "$script:RCM/Admin", "$script:RCM/Operational")
    'Schannel' = @('System')
    'Service Control Manager' = @('System')
    'Microsoft-Windows-Security-Auditing' = @('Security')
    $script:RDPCORE = @("$script:RDPCORE/Operational", "$script:RDPCORE/Admin")
}

function Add-ModelEvent([string]$id) {
    $ev = $script:M.W.events24h
    $ev[$id] = 1 + [int](Get-Or $ev $id 0)
    [void]$script:M.AddedEvents.Add(@{ Id = $id; Time = $script:M.Now })
    $script:M.EventCache = @{}
}

function Test-ModelNla {
    # effective UserAuthentication: the policy value wins over the listener's [S7][B3]; absent = off [S]
    $w = $script:M.W
    $pol = $null
    foreach ($p in @($w.policyValues.Keys)) { if ($p -ieq "$($script:REG.TSPolicy)\UserAuthentication") { $pol = $w.policyValues[$p] } }
    $v = if ($null -ne $pol) { $pol } else { $w.rdpTcp['UserAuthentication'] }
    return ($null -ne $v -and [int]$v -eq 1)
}

# Event times (UTC, newest first) of `n` events of one id.
function Get-ModelEventTimes([string]$id, [int]$n) {
    $now = $script:M.Start
    $end = $now
    $stop = $script:M.W.eventsStoppedAt[$id]
    if ($stop) { $s = ConvertFrom-Iso $stop; if ($s -lt $end) { $end = $s } }
    $winStart = $now.AddHours(-24)
    $span = [long](($end - $winStart).TotalMilliseconds)
    $times = New-Object System.Collections.Generic.List[datetime]
    for ($k = 0; $k -lt $n; $k++) {
        if ($span -gt 0) { $times.Add($end.AddMilliseconds(-[math]::Floor($k * $span / $n))) }
        else { $times.Add($end.AddSeconds(-$k - 1)) }
    }
    return , $times
}

# RecordId: unique and deterministic (per-id offset), so equal times sort the same way in the emulation.
$script:EVENT_ORDER = @('1057', '1058', '1006', '36870', '36871', '36872', '7031', '7034', '4625', '140')
# Events with the same data share one Properties array (read-only for the scripts): a VM under
# attack has thousands of 4625 events, and building their data one by one took seconds.
$script:PROPS_CACHE = @{}
function Get-ModelEventProperties($props) {
    $key = (@($props) -join [char]1)
    $cached = $script:PROPS_CACHE[$key]
    if ($null -eq $cached) {
        $cached = [object[]]@(foreach ($v in @($props)) { [pscustomobject]@{ Value = $v } })
        $script:PROPS_CACHE[$key] = $cached
    }
    return , $cached
}

function New-ModelEvent([string]$id, [datetime]$utc, $props, [long]$rec) {
    $d = $script:EVENT_DEFS[$id]
    $rec = [long]([array]::IndexOf($script:EVENT_ORDER, $id) + 1) * 1000000 + $rec
    [pscustomobject]@{
        PSTypeName = 'System.Diagnostics.Eventing.Reader.EventLogRecord'
        Id = [int]$id; ProviderName = $d.Provider; LogName = $d.Log; RecordId = $rec
        TimeCreated = $utc.ToLocalTime(); ModelUtc = $utc
        Properties = (Get-ModelEventProperties $props)
        LevelDisplayName = 'Error'
    }
}

# The 4625 sequence, oldest first: each source's `count` events in fleet order, then console failures.
function Get-FailedLogonSequence {
    $w = $script:M.W
    $n = if ($w.auditFailedLogons) { [int]$w.events24h['4625'] } else { 0 }
    $seq = New-Object System.Collections.ArrayList
    foreach ($s in $w.failedLogonSources) {
        for ($i = 0; $i -lt $s.count -and $seq.Count -lt $n; $i++) { [void]$seq.Add($s) }
    }
    while ($seq.Count -lt $n) { [void]$seq.Add(@{ ip = '-'; logonType = 2; console = $true }) }
    return , $seq
}

function Get-ModelEventsOf([string]$id) {
    if ($script:M.EventCache.Contains($id)) { return , $script:M.EventCache[$id] }
    $w = $script:M.W
    $list = New-Object System.Collections.ArrayList
    $nla = Test-ModelNla
    if ($id -eq '4625' -or $id -eq '140') {
        $seq = Get-FailedLogonSequence
        $times = Get-ModelEventTimes '4625' $seq.Count
        # thousands of events from a few sources: the data of each source is worked out once
        $bySource = @{}
        $d = $script:EVENT_DEFS[$id]
        $recBase = [long]([array]::IndexOf($script:EVENT_ORDER, $id) + 1) * 1000000
        for ($k = 0; $k -lt $seq.Count; $k++) {
            $s = $seq[$seq.Count - 1 - $k]
            $one = $bySource[$s]
            if ($null -eq $one) {
                $rdp = ($null -eq $s.logonType -and -not $s.console)
                $type = if ($null -ne $s.logonType) { [int]$s.logonType } elseif ($nla) { 3 } else { 10 }
                $ip = if ($rdp -and $nla) { '-' } else { [string]$s.ip }
                $one = if ($id -eq '4625') {
                    @{ Props = (Get-ModelEventProperties @('S-1-0-0', '-', '-', '0x0', 'S-1-0-0', 'administrator', '', '0xc000006d', '%%2313', '0xc000006a', "$type", 'NtLmSsp ', 'NTLM', 'WORKSTATION', '-', '-', '0', '0x0', '-', $ip, '0')); Rec = 100000 }
                } elseif ($rdp -and $nla) {
                    # RdpCoreTS 140: "A connection from the client computer with an IP address of %1 failed
                    # because the user name or password is not correct." [S]
                    @{ Props = (Get-ModelEventProperties @([string]$s.ip)); Rec = 200000 }
                } else { @{ Props = $null } }
                $bySource[$s] = $one
            }
            if ($null -eq $one.Props) { continue }
            $utc = $times[$k]
            [void]$list.Add([pscustomobject]@{
                    PSTypeName = 'System.Diagnostics.Eventing.Reader.EventLogRecord'
                    Id = [int]$id; ProviderName = $d.Provider; LogName = $d.Log; RecordId = $recBase + $one.Rec - $k
                    TimeCreated = $utc.ToLocalTime(); ModelUtc = $utc
                    Properties = $one.Props
                    LevelDisplayName = 'Error'
                })
        }
    } elseif ($script:EVENT_DEFS.Contains($id)) {
        $n = [int](Get-Or $w.events24h $id 0)
        $added = @($script:M.AddedEvents | Where-Object { $_.Id -eq $id })
        $base = $n - $added.Count
        if ($base -lt 0) { $base = 0 }
        $times = Get-ModelEventTimes $id $base
        $props = if ($id -eq '7031' -or $id -eq '7034') { @('Remote Desktop Services', '1', '0', '1') } else { @() }
        foreach ($a in $added) { [void]$list.Add((New-ModelEvent $id $a.Time $props 300000)) }
        for ($k = 0; $k -lt $times.Count; $k++) { [void]$list.Add((New-ModelEvent $id $times[$k] $props (100000 - $k))) }
    }
    $script:M.EventCache[$id] = $list
    return , $list
}

function Get-WinEvent {
    [CmdletBinding(DefaultParameterSetName = 'HashQuerySet')]
    param(
        [Parameter(ParameterSetName = 'HashQuerySet', Mandatory, Position = 0)] [hashtable[]]$FilterHashtable,
        [Parameter(ParameterSetName = 'LogNameSet', Position = 0)] [string[]]$LogName,
        [int64]$MaxEvents = -1,
        [switch]$Oldest
    )
    if ($PSCmdlet.ParameterSetName -ne 'HashQuerySet') { throw 'model: Get-WinEvent is modelled with -FilterHashtable only' }
    $found = New-Object System.Collections.ArrayList
    foreach ($h in $FilterHashtable) {
        foreach ($k in $h.Keys) { if ('LogName', 'ProviderName', 'Id', 'StartTime', 'EndTime' -notcontains $k) { throw "model: FilterHashtable key '$k' is not modelled" } }
        $providers = @($h['ProviderName'] | Where-Object { $_ })
        $logs = @($h['LogName'] | Where-Object { $_ })
        if ($logs.Count -eq 0) {
            foreach ($p in $providers) {
                foreach ($l in @($script:PROVIDER_LOGS[$p])) {
                    if ($script:M.W.damage.eventLogs -contains $l) {
                        $ex = [System.Exception]::new("The $l event log on computer localhost could not be read: The specified channel could not be found.")
                        Write-ModelError $PSCmdlet ((New-ModelErrorRecord $ex 'LogInfoUnavailable,Microsoft.PowerShell.Commands.GetWinEventCommand' 'NotSpecified' $l))
                    } elseif ($logs -notcontains $l) { $logs += $l }
                }
            }
        }
        $ids = @($h['Id'] | ForEach-Object { [string]$_ })
        if ($ids.Count -eq 0) { $ids = @($script:EVENT_DEFS.Keys) }
        $startUtc = if ($null -ne $h['StartTime']) { ([datetime]$h['StartTime']).ToUniversalTime() } else { [datetime]::MinValue }
        $endUtc = if ($null -ne $h['EndTime']) { ([datetime]$h['EndTime']).ToUniversalTime() } else { [datetime]::MaxValue }
        foreach ($id in $ids) {
            $d = $script:EVENT_DEFS[$id]
            if ($null -eq $d) { continue }
            if ($logs -notcontains $d.Log) { continue }
            if ($providers.Count -gt 0 -and $providers -notcontains $d.Provider) { continue }
            foreach ($e in (Get-ModelEventsOf $id)) {
                if ($e.ModelUtc -ge $startUtc -and $e.ModelUtc -le $endUtc) { [void]$found.Add($e) }
            }
        }
    }
    if ($found.Count -eq 0) {
        $ex = [System.Exception]::new('No events were found that match the specified selection criteria.')
        Write-ModelError $PSCmdlet ((New-ModelErrorRecord $ex 'NoMatchingEventsFound,Microsoft.PowerShell.Commands.GetWinEventCommand' 'ObjectNotFound' $null))
        return
    }
    # newest first; -MaxEvents keeps the newest N [S21]
    $sorted = @($found | Sort-Object -Property @{ Expression = { $_.ModelUtc }; Descending = (-not $Oldest) }, @{ Expression = { $_.RecordId }; Descending = $true })
    if ($MaxEvents -gt 0 -and $sorted.Count -gt $MaxEvents) { $sorted = $sorted[0..($MaxEvents - 1)] }
    $sorted
}

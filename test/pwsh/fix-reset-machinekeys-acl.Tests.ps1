BeforeAll {
    . (Join-Path $PSScriptRoot 'FixTestHelpers.ps1')
    $S = 'fix-reset-machinekeys-acl'
}

Describe 'fix-reset-machinekeys-acl' {
    It 'leaves right ACLs alone: noop, no backup' {
        $w = New-FixWindows { param($w) $w.machineKeysAcl = @('S-1-5-18:F', 'S-1-5-32-544:F', 'S-1-1-0:special') }
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Scope = 'rdpkey' }
        Assert-FixLine $r
        $r.Status.status | Should -Be 'noop'
        $r.Status.backup | Should -BeNullOrEmpty
        Assert-Unchanged $r $w
    }

    It 'grants NETWORK SERVICE read on the RDP key, saves the ACLs first, prints the before-ACLs; a second run is a noop' {
        $w = New-FixWindows { param($w) $w.rdpKeyFileAcl = @('S-1-5-18:F', 'S-1-5-32-544:F') }
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Scope = 'rdpkey' }
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Status.backup | Should -Match '^C:\\ProgramData\\RDP Doctor\\backups\\machinekeys-acl-\d{14}\.txt$'
        # the backup stays on the VM (the model keeps it in the state's files) and its hash is printed
        $r.Windows.files[$r.Status.backup] | Should -Match '^MachineKeys\r\nD:'
        $r.Status.backupHash | Should -Match '^[0-9a-f]{64}$'
        $r.Status.after | Should -Match '^[0-9a-f]{16}$'
        $r.Status.before.key | Should -Be @('S-1-5-18:F', 'S-1-5-32-544:F')
        $r.Status.verified | Should -BeTrue
        $r.Windows.rdpKeyFileAcl | Should -Contain 'S-1-5-20:R'
        $r.Windows.machineKeysAcl | Should -Contain 'S-1-5-18:F'
        Assert-Idempotent $r $S @{ Scope = 'rdpkey' } | Out-Null
    }

    It 'removes an explicit Deny entry for <sid> on the <where> (A6)' -ForEach @(
        @{ sid = 'S-1-5-20'; where = 'key file' }
        @{ sid = 'S-1-1-0'; where = 'key file' }
        @{ sid = 'S-1-5-18'; where = 'folder' }
    ) {
        $deny = '{0}:R:deny' -f $sid
        $w = New-FixWindows {
            param($w)
            if ($where -eq 'folder') {
                $w.machineKeysAcl = @('S-1-5-18:F', 'S-1-5-32-544:F', 'S-1-1-0:special', $deny)
            } else {
                $w.rdpKeyFileAcl = @('S-1-5-18:F', 'S-1-5-32-544:F', 'S-1-5-20:R', $deny)
            }
        }
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Scope = 'rdpkey' }
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        @($r.Windows.machineKeysAcl) + @($r.Windows.rdpKeyFileAcl) | Should -Not -Contain $deny
        $r.Status.verified | Should -BeTrue
    }

    It 'scope all grants on every file too' {
        $w = New-FixWindows { param($w) $w.rdpKeyFileAcl = @('S-1-5-18:F') }
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Scope = 'all' }
        Assert-FixLine $r
        $r.Status.status | Should -BeIn @('done', 'partial')
        $r.Status.files | Should -BeGreaterOrEqual 1
        $r.Windows.rdpKeyFileAcl | Should -Contain 'S-1-5-20:R'
    }

    It 'refuses scope <scope>' -ForEach @(@{ scope = 'everything' }, @{ scope = "all'" }, @{ scope = '' }) {
        $w = New-FixWindows { param($w) $w.rdpKeyFileAcl = @('S-1-5-18:F') }
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Scope = $scope }
        $r.Status.status | Should -Be 'bad-param'
        Assert-Unchanged $r $w
    }

    It 'gives up on a TermService stuck in Stopping within bounded virtual time (A5)' {
        $w = New-FixWindows { param($w) $w.rdpKeyFileAcl = @('S-1-5-18:F'); $w.services.TermService = @{ state = 'Running'; hangs = $true } }
        $r = Invoke-Fix -Windows $w -Script $S -Parameters @{ Scope = 'rdpkey' }
        Assert-FixLine $r
        $r.Status.status | Should -Be 'timeout'
        $r.Status.svcError | Should -Be 'TermService:timeout'
        $r.Windows.rdpKeyFileAcl | Should -Contain 'S-1-5-20:R'
        $r.Run.virtualSeconds | Should -BeLessOrEqual 300
    }
}

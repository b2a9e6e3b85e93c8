BeforeAll {
    . (Join-Path $PSScriptRoot 'FixTestHelpers.ps1')
    $S = 'undo-reset-machinekeys-acl'
    # the undo's parameters from fix-reset-machinekeys-acl's status line, as services/runbook/undo-more.ts maps them
    function Get-UndoParams($st) {
        $p = @{ Stamp = ([regex]::Match($st.backup, '(\d{14})\.txt$')).Groups[1].Value; BackupHash = $st.backupHash; After = $st.after; FolderOwner = $st.owners.folder }
        if ($st.keyFile) { $p.KeyOwner = $st.owners.key; $p.KeyFile = ConvertTo-B64Param ($st.keyFile.Substring($st.keyFile.LastIndexOf('\') + 1)) }
        return $p
    }
    $Broken = { param($w) $w.rdpKeyFileAcl = @('S-1-5-18:R', 'S-1-5-32-544:R'); $w.rdpKeyFileOwner = 'S-1-5-21-1-2-3-1001'; $w.machineKeysAcl = @('S-1-5-32-544:F', 'S-1-1-0:special', 'S-1-5-20:R:deny') }
}

Describe 'undo-reset-machinekeys-acl' {
    It 'restores the saved ACLs and the owner the fix took, deletes its backup; the state equals the one before the fix' {
        $w = New-FixWindows $Broken
        $fix = Invoke-Fix -Windows $w -Script 'fix-reset-machinekeys-acl' -Parameters @{ Scope = 'rdpkey' }
        $fix.Status.status | Should -Be 'done'
        $fix.Status.tookOwnership | Should -BeGreaterThan 0
        $r = Invoke-Fix -Windows $fix.Windows -Script $S -Parameters (Get-UndoParams $fix.Status)
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Status.owners | Should -Be 1
        $r.Windows.files.Count | Should -Be 0
        (ConvertTo-StateJson $r.Windows) | Should -Be (ConvertTo-StateJson $fix.Canonical)
        # once more: the backup is gone, nothing changes
        $again = Invoke-Fix -Windows $r.Windows -Script $S -Parameters (Get-UndoParams $fix.Status)
        Assert-FixLine $again
        $again.Status.status | Should -Be 'backup-missing'
        (ConvertTo-StateJson $again.Windows) | Should -Be (ConvertTo-StateJson $r.Windows)
    }

    It 'refuses when the ACLs changed since the fix (<what>), changing nothing' -ForEach @(
        @{ what = 'an entry added on the key'; change = { param($x) $x.rdpKeyFileAcl = @($x.rdpKeyFileAcl) + @('S-1-5-32-545:R') } }
        @{ what = 'the folder owner'; change = { param($x) $x.machineKeysOwner = 'S-1-5-18' } }
    ) {
        $w = New-FixWindows $Broken
        $fix = Invoke-Fix -Windows $w -Script 'fix-reset-machinekeys-acl' -Parameters @{ Scope = 'rdpkey' }
        $later = Copy-ModelData $fix.Windows
        & $change $later
        $r = Invoke-Fix -Windows $later -Script $S -Parameters (Get-UndoParams $fix.Status)
        Assert-FixLine $r
        $r.Status.status | Should -Be 'changed-since'
        $r.Status.ok | Should -BeFalse
        Assert-Unchanged $r $later
    }

    It 'refuses a backup that is gone or was edited' {
        $w = New-FixWindows $Broken
        $fix = Invoke-Fix -Windows $w -Script 'fix-reset-machinekeys-acl' -Parameters @{ Scope = 'rdpkey' }
        $gone = Copy-ModelData $fix.Windows
        $gone.files = @{}
        (Invoke-Fix -Windows $gone -Script $S -Parameters (Get-UndoParams $fix.Status)).Status.status | Should -Be 'backup-missing'
        $edited = Copy-ModelData $fix.Windows
        $edited.files[$fix.Status.backup] = "MachineKeys`r`nD:S-1-1-0:F`r`n"
        $r = Invoke-Fix -Windows $edited -Script $S -Parameters (Get-UndoParams $fix.Status)
        Assert-FixLine $r
        $r.Status.status | Should -Be 'backup-changed'
        Assert-Unchanged $r $edited
    }

    It 'refuses bad parameters: <name>' -ForEach @(
        @{ name = 'stamp'; p = @{ Stamp = '..\..\x'; BackupHash = ('0' * 64); After = '0123456789abcdef' } }
        @{ name = 'hash'; p = @{ Stamp = '20261130120000'; BackupHash = 'x'; After = '0123456789abcdef' } }
        @{ name = 'owner'; p = @{ Stamp = '20261130120000'; BackupHash = ('0' * 64); After = '0123456789abcdef'; FolderOwner = 'Everyone' } }
        @{ name = 'key file'; p = @{ Stamp = '20261130120000'; BackupHash = ('0' * 64); After = '0123456789abcdef'; KeyOwner = 'S-1-5-18'; KeyFile = 'b64.Li5cLi5cd2luLmluaQ==' } }
    ) {
        $w = New-FixWindows
        $r = Invoke-Fix -Windows $w -Script $S -Parameters $p
        Assert-FixLine $r
        $r.Status.status | Should -Be 'bad-param'
        Assert-Unchanged $r $w
    }
}

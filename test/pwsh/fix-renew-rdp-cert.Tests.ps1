BeforeAll {
    . (Join-Path $PSScriptRoot 'FixTestHelpers.ps1')
    $S = 'fix-renew-rdp-cert'
    $Thumb = '3F2A9C0D7E1B4A6C8D2E0F1A3B5C7D9E1F2A3B4C'
}

Describe 'fix-renew-rdp-cert' {
    It 'leaves a healthy certificate alone: noop' {
        $w = New-FixWindows
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'noop'
        Assert-Unchanged $r $w
    }

    It 'replaces an expired certificate, verifies the new one is bound and its key readable; a second run is a noop' {
        $w = New-FixWindows { param($w) $w.rdpCertificate.notAfter = '2026-09-30T00:00:00Z' }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Status.removed | Should -Be 1
        $r.Status.thumb | Should -Not -Be $Thumb
        $r.Status.key | Should -Be 'ok'
        $r.Status.before.certs[0].thumb | Should -Be $Thumb
        $r.Windows.rdpCertificate.thumbprint | Should -Be $r.Status.thumb
        Assert-Idempotent $r $S | Out-Null
    }

    It 'survives a <key> key: the certificate is gone when -DeleteKey throws, the script goes on and gets a new one (A3)' -ForEach @(
        @{ key = 'missing' }
        @{ key = 'unreadable' }
    ) {
        $w = New-FixWindows { param($w) $w.rdpCertificate.key = $key }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'done'
        $r.Status.removed | Should -Be 1
        $r.Status.notRemoved | Should -Be 0
        $r.Windows.rdpCertificate | Should -Not -BeNullOrEmpty
        $r.Windows.rdpCertificate.thumbprint | Should -Not -Be $Thumb
    }

    It 'removes an SSLCertificateSHA1Hash that names the Remote Desktop certificate it deletes (A4)' {
        $w = New-FixWindows { param($w) $w.rdpCertificate.notAfter = '2026-09-30T00:00:00Z'; $w.sslCertificateSHA1Hash = $Thumb }
        $r = Invoke-Fix -Windows $w -Script $S
        $r.Status.hashRemoved | Should -BeTrue
        $r.Status.before.hash | Should -Be $Thumb
        $r.Windows.sslCertificateSHA1Hash | Should -Not -Be $Thumb
    }

    It 'removes a hash that names no certificate at all' {
        $w = New-FixWindows { param($w) $w.sslCertificateSHA1Hash = 'AB' * 20 }
        $r = Invoke-Fix -Windows $w -Script $S
        $r.Status.hashRemoved | Should -BeTrue
        $r.Status.status | Should -Be 'done'
    }

    It 'leaves a custom certificate bound from My alone' {
        $w = New-FixWindows { param($w) $w.rdpCertificate.store = 'My'; $w.sslCertificateSHA1Hash = $Thumb }
        $r = Invoke-Fix -Windows $w -Script $S
        $r.Status.status | Should -Be 'custom-cert-bound'
        Assert-Unchanged $r $w
    }

    It 'says so clearly when no new certificate appears (the folder blocks key creation)' {
        $w = New-FixWindows { param($w) $w.rdpCertificate.notAfter = '2026-09-30T00:00:00Z'; $w.machineKeysAcl = @('S-1-5-32-544:R') }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'no-new-cert'
        $r.Status.ok | Should -BeFalse
    }

    It 'gives up on a SessionEnv stuck in Stopping within bounded virtual time and names it (A5)' {
        $w = New-FixWindows { param($w) $w.rdpCertificate.notAfter = '2026-09-30T00:00:00Z'; $w.services.SessionEnv = @{ state = 'Running'; hangs = $true } }
        $r = Invoke-Fix -Windows $w -Script $S
        Assert-FixLine $r
        $r.Status.status | Should -Be 'timeout'
        $r.Status.svcError | Should -Be 'SessionEnv:timeout'
        $r.Run.virtualSeconds | Should -BeLessOrEqual 300
    }
}

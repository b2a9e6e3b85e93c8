# rdp-doctor-script: fix-renew-rdp-cert
# RDP Doctor fix: make Windows issue a new self-signed RDP certificate. Removes an SSLCertificateSHA1Hash that names
# a certificate no longer present, deletes every certificate in Cert:\LocalMachine\Remote Desktop (0..n, one by one),
# then restarts SessionEnv (it creates the certificate) and TermService. A custom certificate bound from the My store
# is left alone and reported. Non-interactive; prints one JSON status line and always exits 0. Never restarts the VM.
param()

$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'

function Write-Status($o) {
    Write-Output (ConvertTo-Json -InputObject $o -Depth 4 -Compress)
}

$status = [ordered]@{ id = 'fix-renew-rdp-cert'; ok = $false; status = 'failed'; hashRemoved = $false; removed = 0; customBound = $false; thumb = $null; step = $null }
try {
    $tsKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
    $rdStore = 'Cert:\LocalMachine\Remote Desktop'
    $status.step = 'binding'
    $tsv = Get-ItemProperty -LiteralPath $tsKey -ErrorAction Stop
    if ($null -ne $tsv.SSLCertificateSHA1Hash) {
        $raw = $tsv.SSLCertificateSHA1Hash
        if ($raw -is [string]) {
            $hash = ($raw -replace '[^0-9A-Fa-f]', '').ToUpperInvariant()
        } else {
            $hash = ([BitConverter]::ToString([byte[]]$raw)) -replace '-', ''
        }
        $inRd = @(Get-ChildItem -LiteralPath $rdStore -ErrorAction SilentlyContinue | Where-Object { $_.Thumbprint -eq $hash })
        $inMy = @(Get-ChildItem -LiteralPath 'Cert:\LocalMachine\My' -ErrorAction SilentlyContinue | Where-Object { $_.Thumbprint -eq $hash })
        if ($inMy.Count -gt 0 -and $inRd.Count -eq 0) {
            $status.customBound = $true
        } elseif ($inRd.Count -eq 0) {
            Remove-ItemProperty -LiteralPath $tsKey -Name SSLCertificateSHA1Hash -ErrorAction Stop
            $status.hashRemoved = $true
        }
    }
    if ($status.customBound) {
        $status.status = 'custom-cert-bound'
        $status.step = $null
    } else {
        $status.step = 'delete'
        foreach ($c in @(Get-ChildItem -LiteralPath $rdStore -ErrorAction SilentlyContinue)) {
            try {
                Remove-Item -LiteralPath $c.PSPath -DeleteKey -ErrorAction Stop
            } catch {
                Remove-Item -LiteralPath $c.PSPath -ErrorAction Stop
            }
            $status.removed = $status.removed + 1
        }
        $status.step = 'restart'
        Restart-Service -Name SessionEnv -Force -ErrorAction Stop
        Restart-Service -Name TermService -Force -ErrorAction Stop
        Start-Service -Name UmRdpService -ErrorAction SilentlyContinue
        $status.step = 'verify'
        for ($i = 0; $i -lt 15; $i++) {
            $new = @(Get-ChildItem -LiteralPath $rdStore -ErrorAction SilentlyContinue | Sort-Object -Property NotAfter -Descending)
            if ($new.Count -gt 0) {
                $status.thumb = [string]$new[0].Thumbprint
                break
            }
            Start-Sleep -Seconds 2
        }
        $status.ok = ($null -ne $status.thumb)
        if ($status.ok) {
            $status.status = 'done'
        } else {
            $status.status = 'no-new-cert'
        }
        $status.step = $null
    }
} catch {
    $status.status = 'failed'
    $status.error = ('{0:X8}' -f $_.Exception.HResult)
}
Write-Status $status
exit 0

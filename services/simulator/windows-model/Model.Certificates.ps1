# Certificates: Cert:\LocalMachine\Remote Desktop and Cert:\LocalMachine\My, certutil.exe, and the
# certificate provider's Remove-Item.
#
# Private key access, as Windows PowerShell and PowerShell deliver it (about_Operators, 5.1 and 7.6,
# "Member-access operator"): reading a property whose getter throws returns $null, no error; calling
# the getter method (`$c.get_PrivateKey()`) throws a MethodInvocationException whose InnerException is
# the CryptographicException with the HResult (0x80090016 NTE_BAD_KEYSET for a missing key [S5],
# 0x80070005 access denied for a key the caller cannot read). This refines SCRIPT-REVIEW A1, which
# expected a GetValueInvocationException from the property.

class ModelCertificate {
    [string]$Thumbprint
    [datetime]$NotAfter
    [datetime]$NotBefore
    [bool]$HasPrivateKey
    [string]$Subject
    [string]$Issuer
    [string]$FriendlyName
    [string]$PSPath
    [string]$PSParentPath
    [string]$PSChildName
    [string]$ModelStore
    hidden [int]$ModelKeyHResult
    hidden [string]$ModelUniqueName
    hidden [string]$ModelContainer

    # X509Certificate2.PrivateKey getter (.NET Framework): opens the key; throws CryptographicException.
    [object] get_PrivateKey() {
        if (-not $this.HasPrivateKey) { return $null }
        if ($this.ModelKeyHResult -ne 0) {
            $msg = if ($this.ModelKeyHResult -eq -2146893802) { 'Keyset does not exist' } else { 'Access is denied.' }
            $inner = [System.Security.Cryptography.CryptographicException]::new($msg)
            [System.Exception].GetProperty('HResult').SetValue($inner, $this.ModelKeyHResult)
            throw [System.Management.Automation.MethodInvocationException]::new("Exception calling `"get_PrivateKey`" with `"0`" argument(s): `"$msg`"", $inner)
        }
        return [pscustomobject]@{
            PSTypeName = 'System.Security.Cryptography.RSACryptoServiceProvider'
            KeySize = 2048
            CspKeyContainerInfo = [pscustomobject]@{
                KeyContainerName = $this.ModelContainer
                UniqueKeyContainerName = $this.ModelUniqueName
                ProviderName = 'Microsoft RSA SChannel Cryptographic Provider'
                MachineKeyStore = $true
            }
        }
    }
}

function Get-KeyOpenHResult {
    $c = $script:M.W.rdpCertificate
    if ($null -eq $c) { return 0 }
    if ($c.key -eq 'missing' -or -not (Get-KeyFilePath)) { return -2146893802 }   # 0x80090016 NTE_BAD_KEYSET [S5]
    if ($c.key -eq 'unreadable') { return -2147024891 }                           # 0x80070005 E_ACCESSDENIED
    if (-not (Test-SystemCanOpenKeyFile)) { return -2147024891 }                   # the ACL shuts SYSTEM out (A2)
    return 0
}

function Get-ModelCertificates {
    $c = $script:M.W.rdpCertificate
    if ($null -eq $c) { return @() }
    $store = $c.store
    $path = "Microsoft.PowerShell.Security\Certificate::LocalMachine\$store\$($c.thumbprint)"
    $x = [ModelCertificate]::new()
    $x.Thumbprint = $c.thumbprint
    # NotAfter is local time [S29]
    $x.NotAfter = (ConvertFrom-Iso $c.notAfter).ToLocalTime()
    $x.NotBefore = (ConvertFrom-Iso $c.notAfter).AddDays(-182).ToLocalTime()
    # HasPrivateKey reads the certificate's key-provider property only, not the key file [S29]
    $x.HasPrivateKey = [bool]$c.hasPrivateKey
    $x.Subject = 'CN=' + $env:COMPUTERNAME
    $x.Issuer = $x.Subject
    $x.PSPath = $path
    $x.PSParentPath = "Microsoft.PowerShell.Security\Certificate::LocalMachine\$store"
    $x.PSChildName = $c.thumbprint
    $x.ModelStore = $store
    $x.ModelKeyHResult = Get-KeyOpenHResult
    $x.ModelContainer = $c.keyContainer
    $x.ModelUniqueName = Get-CapiKeyFileName $c.keyContainer $script:M.W.machineGuid
    # PrivateKey as a property read: an exception in the getter becomes $null (about_Operators)
    $x | Add-Member -MemberType ScriptProperty -Name PrivateKey -Value { $this.get_PrivateKey() }
    return $x
}

function ConvertTo-CertParts([string]$p) {
    $q = $p -replace '^(?i)Microsoft\.PowerShell\.Security\\', '' -replace '^(?i)Certificate::', '' -replace '^(?i)Cert:\\?', ''
    $parts = @($q.TrimEnd('\').Split('\') | Where-Object { $_ -ne '' })
    return , $parts   # LocalMachine, <store>, [<thumbprint>]
}

function Test-CertPath([string]$p, $pathType) {
    $parts = ConvertTo-CertParts $p
    if ($parts.Count -le 1) { return ($pathType -ne 'Leaf') }
    if ($parts[0] -ne 'LocalMachine') { return $false }
    if ($parts[1] -ne 'Remote Desktop' -and $parts[1] -ne 'My' -and $parts[1] -ne 'Root') { return $false }
    if ($parts.Count -eq 2) { return ($pathType -ne 'Leaf') }
    $hit = @(Get-ModelCertificates | Where-Object { $_.ModelStore -eq $parts[1] -and $_.Thumbprint -eq $parts[2] })
    return ($hit.Count -gt 0 -and $pathType -ne 'Container')
}

function Get-CertItems($cmdlet, [string]$p, [bool]$wildcard) {
    $parts = ConvertTo-CertParts $p
    if ($parts.Count -lt 2 -or $parts[0] -ne 'LocalMachine') { throw "model: certificate path '$p' is not modelled" }
    if ($parts[1] -ne 'Remote Desktop' -and $parts[1] -ne 'My' -and $parts[1] -ne 'Root') { Write-PathNotFound $cmdlet $p 'GetChildItemCommand'; return }
    foreach ($x in (Get-ModelCertificates)) {
        if ($x.ModelStore -ne $parts[1]) { continue }
        if ($parts.Count -gt 2 -and $x.Thumbprint -ne $parts[2]) { continue }
        $x
    }
}

# Remove-Item on a certificate [S38]; with -DeleteKey the provider deletes the certificate, then opens
# its key to delete it, and fails when the key cannot be opened (CertificateProvider.cs, SCRIPT-REVIEW A3):
# the certificate is gone either way.
function Remove-CertItem($cmdlet, [string]$p, [bool]$deleteKey) {
    $parts = ConvertTo-CertParts $p
    $c = $script:M.W.rdpCertificate
    if ($parts.Count -lt 3 -or $null -eq $c -or $c.store -ne $parts[1] -or $c.thumbprint -ne $parts[2]) {
        Write-PathNotFound $cmdlet $p 'RemoveItemCommand'
        return
    }
    $hr = Get-KeyOpenHResult
    $script:M.W.rdpCertificate = $null
    if ($deleteKey) {
        if ($hr -ne 0) {
            $msg = if ($hr -eq -2146893802) { 'Keyset does not exist' } else { 'Access is denied.' }
            $ex = New-HResultException 'System.Security.Cryptography.CryptographicException' $msg $hr
            Write-ModelError $cmdlet ((New-ModelErrorRecord $ex 'RemoveItemCryptographicError,Microsoft.PowerShell.Commands.RemoveItemCommand' 'InvalidOperation' $p))
            return
        }
        $script:M.W.rdpKeyFileAcl = $null
    }
}

# certutil.exe -store [-v] <store> [<thumbprint>] (read-only). Output shape from certutil -v dumps
# (S27; MSRD-Collect captures): the key-provider block prints the container; the unique container
# name needs the key opened, so it is absent when SYSTEM cannot open the key. English labels only.
function Invoke-Certutil {
    param([string[]]$argv)
    $global:LASTEXITCODE = 0
    $args2 = @($argv | Where-Object { $_ -ne '-v' -and $_ -ne '-silent' })
    if ($args2.Count -lt 2 -or $args2[0] -ne '-store') { 'CertUtil: -? command: not modelled'; $global:LASTEXITCODE = 87; return }
    $store = $args2[1]
    $want = if ($args2.Count -gt 2) { ($args2[2] -replace '\s', '').ToUpperInvariant() } else { $null }
    $storeName = if ($store -eq 'Remote Desktop') { 'Remote Desktop' } else { $store }
    "$storeName `"$storeName`""
    $n = 0
    foreach ($x in (Get-ModelCertificates)) {
        if ($x.ModelStore -ne $store) { continue }
        if ($want -and $x.Thumbprint -ne $want) { continue }
        "================ Certificate $n ================"
        'Serial Number: 1a2b3c4d5e6f'
        "Issuer: $($x.Issuer)"
        (' NotBefore: {0}' -f $x.NotBefore.ToString('M/d/yyyy h:mm tt', [cultureinfo]::InvariantCulture))
        (' NotAfter: {0}' -f $x.NotAfter.ToString('M/d/yyyy h:mm tt', [cultureinfo]::InvariantCulture))
        "Subject: $($x.Subject)"
        "Cert Hash(sha1): $($x.Thumbprint.ToLowerInvariant())"
        if ($x.HasPrivateKey) {
            "  Key Container = $($x.ModelContainer)"
            if ($x.ModelKeyHResult -eq 0) {
                "  Unique container name: $($x.ModelUniqueName)"
            } else {
                ('  Missing stored keyset' )
            }
            '  Provider = Microsoft RSA SChannel Cryptographic Provider'
        } else { 'No key provider information' }
        $n++
    }
    if ($want -and $n -eq 0) {
        'CertUtil: -store command FAILED: 0x80090011 (-2146893807 NTE_NOT_FOUND)'
        'CertUtil: Object was not found.'
        $global:LASTEXITCODE = -2146893807
        return
    }
    'CertUtil: -store command completed successfully.'
}

function certutil.exe { Invoke-Certutil -argv $args }
function certutil { Invoke-Certutil -argv $args }

# SessionEnv (re)start: with no RDP certificate it issues a new self-signed one into Remote Desktop
# with a fresh key file (TSSecKeySet1) when SYSTEM may create files in MachineKeys; otherwise no
# certificate and event 1057 ("failed to create a new self signed certificate") [S4][S5][S24][B1].
function Invoke-SessionEnvStarted {
    $w = $script:M.W
    if ($null -ne $w.rdpCertificate) { return }
    if (Test-ModelAccess $w.machineKeysAcl $w.machineKeysOwner $script:SYSTEM_TOKEN 0x2) {
        $sha = [System.Security.Cryptography.SHA1]::Create()
        $thumb = ([BitConverter]::ToString($sha.ComputeHash([System.Text.Encoding]::ASCII.GetBytes("rdp-selfsigned-$($script:M.Now.Ticks)"))) -replace '-', '')
        $w.rdpCertificate = [ordered]@{
            thumbprint = $thumb
            notAfter = (ConvertTo-IsoSeconds $script:M.Now.AddDays(182))
            hasPrivateKey = $true; store = 'Remote Desktop'; key = 'ok'; keyContainer = $script:RDP_KEY_CONTAINER
        }
        $w.rdpKeyFileAcl = ConvertTo-ModelList @('S-1-5-18:F', 'S-1-5-32-544:F', 'S-1-5-20:R')
        $w.rdpKeyFileOwner = 'S-1-5-18'
    } else {
        Add-ModelEvent '1057'
    }
}

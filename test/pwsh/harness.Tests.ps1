# The Pester wiring itself: a test of this file fails when Pester reports a failure, so a broken
# runner cannot pass for a green suite. The engine's own version is read from the engine: the
# modelled Windows presents $PSVersionTable as Windows PowerShell 5.1 to the scripts it runs.
Describe 'Pester under pwsh' {
    It 'runs PowerShell 7 with Pester 5' {
        [System.Management.Automation.PSVersionInfo]::PSVersion.Major | Should -BeGreaterOrEqual 7
        (Get-Module Pester).Version.Major | Should -Be 5
    }
}

# The Pester wiring itself: a test of this file fails when Pester reports a failure, so a broken
# runner cannot pass for a green suite.
Describe 'Pester under pwsh' {
    It 'runs PowerShell 7 with Pester 5' {
        $PSVersionTable.PSVersion.Major | Should -BeGreaterOrEqual 7
        (Get-Module Pester).Version.Major | Should -Be 5
    }
}

#!/usr/bin/env bash
# Installs PowerShell 7.6.9 (a .NET tool) and Pester 5.7.1 (a NuGet package) into .tools/ (git-ignored),
# for the script tests and the simulator's real-script engine. Needs the .NET SDK and NuGet.
# Idempotent: a second run with both present does nothing. `npm run setup:pwsh`.
set -euo pipefail
cd "$(dirname "$0")/.."
PWSH_VERSION=7.6.9
PESTER_VERSION=5.7.1
tools="$PWD/.tools"
pwsh="$tools/pwsh/pwsh"
pester="$tools/pester/pester/$PESTER_VERSION/tools/Pester.psd1"

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup:pwsh: the .NET SDK (dotnet) is not on PATH; install it to run the PowerShell tests" >&2
  exit 1
fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

if [ -x "$pwsh" ] && "$pwsh" -NoLogo -NoProfile -NonInteractive -Command '$PSVersionTable.PSVersion.ToString()' 2>/dev/null | grep -qx "$PWSH_VERSION"; then
  echo "setup:pwsh: PowerShell $PWSH_VERSION already in .tools/pwsh"
else
  rm -rf "$tools/pwsh"
  echo "setup:pwsh: installing PowerShell $PWSH_VERSION (dotnet tool) into .tools/pwsh"
  dotnet tool install PowerShell --version "$PWSH_VERSION" --tool-path "$tools/pwsh" >/dev/null
fi

if [ -f "$pester" ]; then
  echo "setup:pwsh: Pester $PESTER_VERSION already in .tools/pester"
else
  echo "setup:pwsh: restoring Pester $PESTER_VERSION from NuGet into .tools/pester"
  restore="$(mktemp -d)"
  trap 'rm -rf "$restore"' EXIT
  cat >"$restore/pester.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="Pester" Version="[$PESTER_VERSION]" /></ItemGroup>
</Project>
XML
  dotnet restore "$restore/pester.csproj" --packages "$tools/pester" >/dev/null
  [ -f "$pester" ] || { echo "setup:pwsh: Pester.psd1 not found at $pester after the restore" >&2; exit 1; }
fi
"$pwsh" -NoLogo -NoProfile -NonInteractive -Command "Import-Module '$pester'; 'setup:pwsh: ready: PowerShell ' + \$PSVersionTable.PSVersion + ', Pester ' + (Get-Module Pester).Version"

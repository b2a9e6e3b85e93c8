/**
 * What a diagnosis of each VM of the shipped demo fleet must report, exactly (CONTRACTS §1 ids,
 * in the order the engine sorts them). Shared by the runbook, CLI and chat tests.
 */
export const DEMO_EXPECTED: Record<string, string[]> = {
  'vm-healthy-01': [],
  'vm-exposed-02': ['rdp-exposed-to-internet', 'brute-force-suspected'],
  'vm-portclash-03': ['rdp-port-conflict'],
  'vm-certexpired-04': ['rdp-cert-expired', 'cert-key-errors-logged'],
  'vm-machinekeys-05': ['machinekeys-acl-broken', 'cert-key-errors-logged'],
  'vm-tlsoff-06': ['tls-disabled'],
  'vm-stopped-07': ['vm-not-running'],
  'vm-noagent-08': ['vm-agent-not-ready'],
  // has a Run Command conflict fault: these are the findings once the run goes through
  'vm-busy-09': [],
  // §1b (famhost)
  'vm-guestfw-31': ['guest-firewall-blocks-rdp'],
  'vm-trust-32': ['secure-channel-broken'],
  'vm-credssp-33': ['credssp-oracle-strict'],
  'vm-rdsh-34': ['rdsh-licensing-expired'],
  'vm-diskfull-35': ['system-disk-full'],
  'vm-private-36': ['vm-not-running', 'rdp-no-public-ip'],
  // --- §1b: remote desktop switched off, TermService config ---
  'vm-rdpoff-21': ['rdp-connections-denied'],
  // nothing listens when the listener is disabled (fEnableWinStation = 0): both are reported
  'vm-listener-22': ['rdp-not-listening', 'rdp-listener-disabled'],
  'vm-svcdisabled-23': ['termservice-disabled'],
  'vm-svcaccount-24': ['termservice-wrong-account'],
  'vm-svccrash-25': ['termservice-crashing'],
  // --- issue #15: agents not ready because Windows waits at the boot menu (Gen2, Trusted Launch) ---
  'vm-bootmenu-37': ['vm-agent-not-ready'],
  'vm-trusted-38': ['vm-agent-not-ready'],
};

/** VMs whose diagnosis stops at a blocker, before any Run Command. */
export const DEMO_BLOCKED = ['vm-stopped-07', 'vm-noagent-08', 'vm-private-36', 'vm-bootmenu-37', 'vm-trusted-38'];

/**
 * The only door to Azure. Everything above `services/azure` talks to this interface; the
 * SDK-backed implementation (`sdk-gateway.ts`) is the only code that imports `@azure/*`.
 * All failures are `DomainError`s (services/errors.ts).
 */

export interface VmRef {
  /** Full ARM resource id, e.g. /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name} */
  id: string;
  name: string;
  resourceGroup: string;
  subscriptionId: string;
  location: string;
}

export interface VmSummary extends VmRef {
  osType?: string;
  powerState?: string;
  /** the VM's Azure tags (SELF_SERVICE_SCOPE `tag:name=value`) */
  tags?: Record<string, string>;
}

export type PowerState = 'running' | 'stopped' | 'deallocated' | 'starting' | 'stopping' | 'deallocating' | 'unknown';
export type AgentStatus = 'Ready' | 'NotReady' | 'Unknown';

export interface VmDetails extends VmRef {
  /** the VM's Azure tags */
  tags?: Record<string, string>;
  osType: 'Windows' | 'Linux' | 'unknown';
  powerState: PowerState;
  provisioningState: string;
  agentStatus: AgentStatus;
  agentVersion?: string;
  osDiskId?: string;
  osDiskName?: string;
  primaryNicId?: string;
  bootDiagnosticsEnabled: boolean;
  /** the primary NIC has a public IP (ARM: ipConfigurations[].publicIPAddress); undefined = not read */
  publicIp?: boolean;
}

/** One effective security rule, as ARM's effectiveNetworkSecurityGroups returns it. */
export interface EffectiveSecurityRule {
  /** e.g. "securityRules/allow-rdp" or "defaultSecurityRules/DenyAllInBound" */
  name: string;
  protocol: string; // Tcp | Udp | Icmp | All | *
  sourceAddressPrefix?: string;
  sourceAddressPrefixes?: string[];
  expandedSourceAddressPrefix?: string[];
  destinationPortRange?: string; // "3389-3389", "0-65535", "*"
  destinationPortRanges?: string[];
  access: 'Allow' | 'Deny';
  priority: number;
  direction: 'Inbound' | 'Outbound';
}

export interface EffectiveNsg {
  /** ARM id of the NSG, when associated. */
  networkSecurityGroupId?: string;
  /** what the NSG is associated with: 'networkInterface' | 'subnet' */
  associatedWith: 'networkInterface' | 'subnet' | 'unknown';
  rules: EffectiveSecurityRule[];
}

export interface ScriptParameter {
  name: string;
  value: string;
}

export interface RunScriptOptions {
  /** The project script id (services/runbook); carried in the script's header so logs and the simulator can tell which ran. */
  scriptId: string;
  /** PowerShell source, one command per line. Never contains user text. */
  script: string;
  parameters?: ScriptParameter[];
  /** Upper bound for the whole call, polling included. */
  timeoutInMs?: number;
  abortSignal?: AbortSignal;
  /** sweep-pace (issue #16): when to poll the Run Command's status; without it, the SDK's fixed interval */
  polling?: RunCommandPolling;
  /**
   * sweep-resume (issue #16): told once Azure accepted the Run Command (its 202), with the resume
   * token (the SDK poller's serialized state) that `resumeRunScript` continues from, in another
   * process if need be. Awaited before the polls; a failure of it is logged and ignored.
   */
  onAccepted?: (token: string) => void | Promise<void>;
}

// --- sweep-pace (issue #16): a Run Command's status polls, spaced to its expected duration ---
/**
 * When a Run Command's status is polled (services/azure/run-command-polls.ts): the first poll at
 * the expected duration, then waits that grow with the time so far, never sooner than a
 * Retry-After Azure gave on the 202 or on a poll. Every poll and the result are ARM reads.
 */
export interface RunCommandPolling {
  /** the first status poll, this long after Azure accepted the Run Command (its expected duration) */
  firstPollInMs: number;
  /** after the first poll that finds it running, wait this share of the time since acceptance, doubled after each further one up to one half (default 0.125) */
  backoff?: number;
  /** bounds of that wait (default 250 ms and 30 s) */
  minIntervalInMs?: number;
  maxIntervalInMs?: number;
  /** told once when the call ends, whatever the end, once Azure accepted the Run Command */
  onPolled?(report: RunCommandPollReport): void;
}

export interface RunCommandPollReport {
  /** ARM reads after the POST: every status poll (each HTTP attempt) and the result */
  reads: number;
  /** status polls that found it still running */
  running: number;
  /** the first status poll found it finished */
  firstPollHit: boolean;
  /** the first poll's delay used (ms after acceptance) */
  firstPollInMs: number;
  /** ms after acceptance of the last poll that saw it running: a lower bound of its duration (0: none did) */
  lastRunningAtMs: number;
  /** ms after acceptance of the poll that found it finished: an upper bound of its duration (absent: it did not finish) */
  doneAtMs?: number;
}
// --- end sweep-pace ---

export interface RunScriptResult {
  stdout: string;
  stderr: string;
}

export interface LongOperationOptions {
  timeoutInMs?: number;
  abortSignal?: AbortSignal;
}

export interface SecurityRuleSpec {
  name: string;
  priority: number;
  direction: 'Inbound' | 'Outbound';
  access: 'Allow' | 'Deny';
  protocol: 'Tcp' | 'Udp' | '*';
  sourceAddressPrefix?: string;
  sourceAddressPrefixes?: string[];
  sourcePortRange?: string;
  destinationAddressPrefix?: string;
  destinationPortRange?: string;
  destinationPortRanges?: string[];
  description?: string;
}

/** An NSG as ARM stores it: its own rules (descriptions included) and what it is associated with. */
export interface NsgDetails {
  id: string;
  name: string;
  rules: SecurityRuleSpec[];
  /** network interfaces and subnets the NSG applies to: a change reaches every VM behind them */
  networkInterfaceIds: string[];
  subnetIds: string[];
}

export interface AzureGateway {
  /** VMs whose name contains `query` (case-insensitive), or the VM with that resource id, within the allowed scope. */
  findVms(query: string): Promise<VmSummary[]>;
  /** The VM with its instance view. Refuses ids outside the allowed scope (`out-of-scope`). */
  getVm(vmId: string): Promise<VmDetails>;
  /** §1b: whether the VM's primary NIC has a public IP (its ipConfigurations' publicIPAddress); undefined = no NIC. Optional for test doubles. */
  hasPublicIp?(vm: VmDetails): Promise<boolean | undefined>;
  /** Effective NSG rules of the VM's primary NIC (one entry per associated NSG). */
  getEffectiveNsgRules(vm: VmDetails): Promise<EffectiveNsg[]>;
  /** Action Run Command (RunPowerShellScript). Retries 409 conflicts a bounded number of times. */
  runScript(vmId: string, options: RunScriptOptions): Promise<RunScriptResult>;
  /**
   * sweep-resume (issue #16): polls a Run Command that `runScript` started (its `onAccepted`
   * token) until it ends, with no second POST; the same result, bounds and errors as runScript.
   * `options.script`/`parameters` are not sent again (only `scriptId` names it in logs).
   */
  resumeRunScript?(vmId: string, token: string, options: RunScriptOptions): Promise<RunScriptResult>;
  /** Starts the VM and waits until the agent is Ready again. */
  startVm(vmId: string, options?: LongOperationOptions): Promise<void>;
  /** Restarts the VM and waits until the agent is Ready again. */
  restartVm(vmId: string, options?: LongOperationOptions): Promise<void>;
  /** Snapshot of the OS disk; returns the snapshot's resource id. */
  snapshotOsDisk(vmId: string, snapshotName: string, options?: LongOperationOptions): Promise<{ snapshotId: string }>;
  /** Create or update one security rule of an NSG. */
  upsertNsgRule(nsgId: string, rule: SecurityRuleSpec, options?: LongOperationOptions): Promise<void>;
  /** The NSG with its own rules and associations (what a rule change will reach). */
  getNsg(nsgId: string): Promise<NsgDetails>;
  /** Deletes one security rule of an NSG (the undo of a rule RDP Doctor created). */
  deleteNsgRule(nsgId: string, ruleName: string, options?: LongOperationOptions): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Offline repair (issue #15): what a rescue-VM repair needs from Azure. Every resource the bot
// creates carries the tags of `RepairTags`; clean-up only ever deletes resources with them.
// ---------------------------------------------------------------------------------------------

/** The value of `created-by` on everything an offline repair creates. */
export const REPAIR_CREATED_BY = 'rdp-doctor';
/** The tag naming the incident a repair resource belongs to. */
export const REPAIR_INCIDENT_TAG = 'rdp-doctor-incident';

/** The tags on every resource an offline repair creates: how clean-up and recovery recognise them. */
export interface RepairTags {
  /** always 'rdp-doctor' */
  'created-by': string;
  /** the incident the repair belongs to */
  'rdp-doctor-incident': string;
  [name: string]: string;
}

/** What a rescue VM must match: the broken VM's compute model (not its instance view). */
export interface VmModel {
  id: string;
  name: string;
  resourceGroup: string;
  subscriptionId: string;
  location: string;
  /** availability zone ('1', '2', '3'), or none */
  zone?: string;
  vmSize: string;
  /** the OS disk's Hyper-V generation: Gen1 = 'V1', Gen2 = 'V2' */
  hyperVGeneration: 'V1' | 'V2';
  /** ARM securityProfile.securityType; undefined = Standard */
  securityType?: 'TrustedLaunch' | 'ConfidentialVM';
  osDiskId: string;
  osDiskName: string;
  /** e.g. Premium_LRS */
  osDiskSku?: string;
  /** the primary NIC's subnet: the rescue VM's NIC goes in the same subnet */
  subnetId: string;
  dataDisks: { lun: number; diskId: string }[];
  tags?: Record<string, string>;
}

export interface DiskInfo {
  id: string;
  name: string;
  /** the VM the disk is attached to, if any */
  managedBy?: string;
  hyperVGeneration?: 'V1' | 'V2';
  tags?: Record<string, string>;
}

export interface CreateSnapshotSpec {
  resourceGroup: string;
  name: string;
  location: string;
  sourceDiskId: string;
  tags: RepairTags;
}

export interface CreateDiskSpec {
  resourceGroup: string;
  name: string;
  location: string;
  zone?: string;
  sourceSnapshotId: string;
  hyperVGeneration: 'V1' | 'V2';
  securityType?: 'TrustedLaunch' | 'ConfidentialVM';
  sku?: string;
  tags: RepairTags;
}

export interface RescueVmSpec {
  resourceGroup: string;
  /** derived only from validated ids (never from tags or user text) */
  name: string;
  location: string;
  zone?: string;
  vmSize: string;
  hyperVGeneration: 'V1' | 'V2';
  securityType?: 'TrustedLaunch' | 'ConfidentialVM';
  /** the NIC is created in this subnet, with no public IP */
  subnetId: string;
  nicName: string;
  tags: RepairTags;
}

export interface TaggedResource {
  id: string;
  /** ARM type, e.g. Microsoft.Compute/virtualMachines */
  type: string;
  name: string;
  tags: Record<string, string>;
}

export interface RepairGateway {
  /** The VM's compute model (generation, security type, zone, size, OS disk, subnet). */
  getVmModel(vmId: string): Promise<VmModel>;
  /** A managed disk, or null when it does not exist. */
  getDisk(diskId: string): Promise<DiskInfo | null>;
  createSnapshot(spec: CreateSnapshotSpec, options?: LongOperationOptions): Promise<{ snapshotId: string }>;
  createDiskFromSnapshot(spec: CreateDiskSpec, options?: LongOperationOptions): Promise<{ diskId: string }>;
  /** A NIC without a public IP, then a Windows VM on it, with the same generation and security type; waits for the agent. */
  createRescueVm(spec: RescueVmSpec, options?: LongOperationOptions): Promise<{ vmId: string; nicId: string; osDiskId: string }>;
  attachDataDisk(vmId: string, diskId: string, lun: number, options?: LongOperationOptions): Promise<void>;
  detachDataDisk(vmId: string, diskId: string, options?: LongOperationOptions): Promise<void>;
  deallocateVm(vmId: string, options?: LongOperationOptions): Promise<void>;
  /** Points a deallocated VM's OS disk at another disk (Azure refuses a generation mismatch). */
  swapOsDisk(vmId: string, diskId: string, options?: LongOperationOptions): Promise<void>;
  /** Deletes; a resource that is already gone is not an error (idempotent clean-up). */
  deleteVm(vmId: string, options?: LongOperationOptions): Promise<void>;
  deleteNic(nicId: string, options?: LongOperationOptions): Promise<void>;
  deleteDisk(diskId: string, options?: LongOperationOptions): Promise<void>;
  deleteSnapshot(snapshotId: string, options?: LongOperationOptions): Promise<void>;
  /** Resources of one resource group carrying `tagName=tagValue` (recovery and clean-up). */
  listTaggedResources(subscriptionId: string, resourceGroup: string, tagName: string, tagValue: string): Promise<TaggedResource[]>;
}

// ---------------------------------------------------------------------------------------------
// Fleet sweeps (issue #16): every VM in scope, page by page, through Resource Graph.
// ---------------------------------------------------------------------------------------------

export interface SweepScopeFilter {
  /** narrow to these subscriptions (each must be within the configured scope) */
  subscriptionIds?: string[];
  /** narrow to one resource group */
  resourceGroup?: string;
}

export interface VmPage {
  vms: VmSummary[];
  /** Resource Graph's $skipToken for the next page; absent on the last page */
  skipToken?: string;
}

/** A NIC as the fast sweep needs it (Resource Graph row). */
export interface SweepNic {
  id: string;
  /** the VM it is attached to */
  vmId?: string;
  subnetId?: string;
  /** the NSG associated with the NIC itself */
  nsgId?: string;
  hasPublicIp: boolean;
}

/** An NSG with its own rules and associations, and where it lives (Resource Graph row). */
export interface SweepNsg extends NsgDetails {
  subscriptionId: string;
  resourceGroup: string;
}

/** The run-time status of one VM, from the subscription-wide instance view list. */
export interface SweepVmStatus {
  vmId: string;
  powerState: PowerState;
  agentStatus: AgentStatus;
}

export interface SweepGateway {
  /** One page of the VMs in scope (Resource Graph, paged; several subscriptions in one query). */
  listVmsPage(filter: SweepScopeFilter, skipToken?: string): Promise<VmPage>;
  /** One page of the NICs in scope (Resource Graph): subnet, NIC NSG, public IP. */
  listNicsPage(filter: SweepScopeFilter, skipToken?: string): Promise<{ nics: SweepNic[]; skipToken?: string }>;
  /** One page of the NSGs in scope (Resource Graph), with their rules and associations. */
  listNsgsPage(filter: SweepScopeFilter, skipToken?: string): Promise<{ nsgs: SweepNsg[]; skipToken?: string }>;
  /** One page of every VM's power state and agent status in one subscription (virtualMachines listAll with statusOnly=true; ARM nextLink paging). */
  listVmStatusPage(subscriptionId: string, nextLink?: string): Promise<{ statuses: SweepVmStatus[]; nextLink?: string }>;
}

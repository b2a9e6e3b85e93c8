import type { TokenCredential } from '@azure/identity';
import type { Logger } from 'pino';
import { DomainError, isDomainError } from '../errors';
import { looksLikeResourceId, parseTypedId, parseVmId, type ParsedResourceId } from './arm-ids';
import { azureErrorInfo, isNetworkError, toDomainError } from './azure-errors';
import type {
  AzureGateway,
  CreateDiskSpec,
  CreateSnapshotSpec,
  DiskInfo,
  RepairGateway,
  RescueVmSpec,
  TaggedResource,
  VmModel,
  EffectiveNsg,
  EffectiveSecurityRule,
  LongOperationOptions,
  NsgDetails,
  RunCommandPolling,
  RunScriptOptions,
  RunScriptResult,
  SecurityRuleSpec,
  SweepGateway,
  SweepNic,
  SweepNsg,
  SweepScopeFilter,
  SweepVmStatus,
  VmDetails,
  VmPage,
  VmSummary,
} from './gateway';
import { graphQueryForName, graphQueryForSweep, GRAPH_PAGE_SIZE, isResourceGroupName, isSubscriptionId, SWEEP_PAGE_SIZE, type SweepResource } from './graph-query';
import { inScope, type AzureScope } from './scope';
import { OperationWatch, retryAfterInMs, SdkClients } from './sdk-clients';
import { pollRunCommand, type StatusPoller } from './run-command-polls';
import { withDeadline, sleep, type BoundOutcome } from './timing';
import { agentStatusOf, powerOf, vmDetailsOf, vmSummaryOfRow } from './vm-details';
import { SdkRepairOperations } from './sdk-repair';
import { restorePoller, type RunCommandResult } from '@azure/arm-compute';
import { runCommandLines, validateRuleName, validateRuleSpec, validateRunScript, validateSnapshotName } from './validation';

export interface SdkAzureGatewayOptions {
  credential: TokenCredential;
  /** Subscriptions that Resource Graph searches. */
  subscriptionIds: readonly string[];
  /** What the bot may touch; anything else is refused before Azure is called. */
  scope: AzureScope;
  /** Another Resource Manager endpoint (the simulator), default Azure's. */
  endpoint?: string;
  /** PEM of the CA that signed `endpoint`'s certificate. */
  caPem?: string;
  /** Long-running operation poll interval (default 2000, the SDK's). */
  pollIntervalInMs?: number;
  /** Bound of one Run Command call, conflict waits included (default 15 min). */
  runCommandTimeoutInMs?: number;
  /** Bound of start/restart (agent wait included), snapshot, NSG rule write, effective NSG (default 20 min). */
  operationTimeoutInMs?: number;
  /** Bound of a single read (default 60 s). */
  requestTimeoutInMs?: number;
  /** Run Command 409 "in progress": how many more tries (default 3) and how long between them (default 20 s). */
  conflictRetries?: number;
  conflictRetryDelayInMs?: number;
  /** HTTP 429/5xx retries (default 3), exponential from retryDelayInMs (1 s) to maxRetryDelayInMs (30 s). */
  maxRetries?: number;
  retryDelayInMs?: number;
  maxRetryDelayInMs?: number;
  /** The longest Retry-After honoured; a longer one fails at once as `throttled` (default 60 s). */
  maxRetryAfterInMs?: number;
  /** After start/restart, how often the instance view is read until the agent is Ready (default 10 s). */
  agentPollIntervalInMs?: number;
  /** At most this many VMs from one search (default 200). */
  maxSearchResults?: number;
  logger?: Logger;
}

export interface GatewayCallCounts {
  runCommand: number;
  armReads: number;
  armWrites: number;
}

const DEFAULTS = {
  pollIntervalInMs: 2000,
  runCommandTimeoutInMs: 15 * 60_000,
  operationTimeoutInMs: 20 * 60_000,
  requestTimeoutInMs: 60_000,
  conflictRetries: 3,
  conflictRetryDelayInMs: 20_000,
  maxRetries: 3,
  retryDelayInMs: 1000,
  maxRetryDelayInMs: 30_000,
  maxRetryAfterInMs: 60_000,
  agentPollIntervalInMs: 10_000,
  maxSearchResults: 200,
};

type Settings = typeof DEFAULTS;

/** Resource Graph's `$skipToken`: opaque, Base64-like. */
const SKIP_TOKEN = /^[A-Za-z0-9+/=_-]{1,4096}$/;

/** Resource Graph's `x-ms-user-quota-resets-after` (hh:mm:ss) in ms. */
function quotaResetInMs(v: string | undefined): number | undefined {
  const m = /^(\d{1,2}):(\d{2}):(\d{2})$/.exec((v ?? '').trim());
  return m ? ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 : undefined;
}

type Raw = Record<string, unknown>;
const rawObject = (v: unknown): Raw => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : {});
const text = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/** The VM fields a status page needs (the SDK's VirtualMachine, flattened). */
interface VirtualMachineLike {
  id?: string;
  instanceView?: Parameters<typeof powerOf>[0];
}

/** A security rule as the SDK gives it (flattened) or as a Resource Graph row's `properties`. */
interface FlatRule {
  name?: string;
  priority?: number;
  direction?: string;
  access?: string;
  protocol?: string;
  sourcePortRange?: string;
  sourceAddressPrefix?: string;
  sourceAddressPrefixes?: string[];
  destinationAddressPrefix?: string;
  destinationPortRange?: string;
  destinationPortRanges?: string[];
  description?: string;
}

function securityRuleSpecOf(r: FlatRule): SecurityRuleSpec {
  const proto = (r.protocol ?? '*').toLowerCase();
  const spec: SecurityRuleSpec = {
    name: r.name ?? '',
    priority: r.priority ?? 0,
    direction: r.direction === 'Outbound' ? 'Outbound' : 'Inbound',
    access: r.access === 'Deny' ? 'Deny' : 'Allow',
    protocol: proto === 'tcp' ? 'Tcp' : proto === 'udp' ? 'Udp' : '*',
    sourcePortRange: r.sourcePortRange ?? '*',
    destinationAddressPrefix: r.destinationAddressPrefix ?? '*',
  };
  if (r.sourceAddressPrefixes && r.sourceAddressPrefixes.length > 0) spec.sourceAddressPrefixes = r.sourceAddressPrefixes;
  else spec.sourceAddressPrefix = r.sourceAddressPrefix ?? '*';
  if (r.destinationPortRanges && r.destinationPortRanges.length > 0) spec.destinationPortRanges = r.destinationPortRanges;
  else spec.destinationPortRange = r.destinationPortRange ?? '*';
  if (r.description !== undefined) spec.description = r.description;
  return spec;
}

type GraphRequestOptions = Parameters<ReturnType<SdkClients['graph']>['resources']>[1];
/** ms-rest-js types its signal as the older AbortSignalLike; Node's AbortSignal works the same at run time. */
const graphRequestOptions = (signal: AbortSignal): GraphRequestOptions => ({ abortSignal: signal }) as unknown as GraphRequestOptions;

/**
 * AzureGateway over the Azure SDKs. Each public call is one logical Azure call in the counts
 * (an SDK-internal HTTP retry or an LRO status poll is not counted again; every Run Command
 * attempt is).
 */
export class SdkAzureGateway implements AzureGateway, SweepGateway, RepairGateway {
  private readonly s: Settings;
  private readonly clients: SdkClients;
  private readonly counts: GatewayCallCounts = { runCommand: 0, armReads: 0, armWrites: 0 };
  /** sweep-sim: 429 answers received (Resource Graph and ARM); each is waited out and retried within the bounds */
  private throttled = 0;
  /** sweep-pace: the polls of the Run Commands polled on a schedule (run-command-polls.ts) */
  private readonly operationWatch = new OperationWatch();
  /** issue #15 (repair-sim): the offline repair's calls, sdk-repair.ts */
  private readonly repair: SdkRepairOperations;

  constructor(private readonly options: SdkAzureGatewayOptions) {
    const pick = <K extends keyof Settings>(k: K): Settings[K] => (options[k] ?? DEFAULTS[k]) as Settings[K];
    this.s = {
      pollIntervalInMs: pick('pollIntervalInMs'),
      runCommandTimeoutInMs: pick('runCommandTimeoutInMs'),
      operationTimeoutInMs: pick('operationTimeoutInMs'),
      requestTimeoutInMs: pick('requestTimeoutInMs'),
      conflictRetries: pick('conflictRetries'),
      conflictRetryDelayInMs: pick('conflictRetryDelayInMs'),
      maxRetries: pick('maxRetries'),
      retryDelayInMs: pick('retryDelayInMs'),
      maxRetryDelayInMs: pick('maxRetryDelayInMs'),
      maxRetryAfterInMs: pick('maxRetryAfterInMs'),
      agentPollIntervalInMs: pick('agentPollIntervalInMs'),
      maxSearchResults: pick('maxSearchResults'),
    };
    this.clients = new SdkClients({
      credential: options.credential,
      endpoint: options.endpoint,
      caPem: options.caPem,
      maxRetries: this.s.maxRetries,
      retryDelayInMs: this.s.retryDelayInMs,
      maxRetryDelayInMs: this.s.maxRetryDelayInMs,
      maxRetryAfterInMs: this.s.maxRetryAfterInMs,
      onThrottled: () => {
        this.throttled++;
      },
      operationWatch: this.operationWatch,
    });
    this.repair = new SdkRepairOperations({
      clients: this.clients,
      pollIntervalInMs: this.s.pollIntervalInMs,
      requestTimeoutInMs: this.s.requestTimeoutInMs,
      operationTimeoutInMs: this.s.operationTimeoutInMs,
      counts: this.counts,
      bounded: (operation, target, timeoutInMs, callerSignal, work) => this.bounded(operation, target, timeoutInMs, callerSignal, work),
      checkScope: (ref, operation) => this.checkScope(ref, operation),
      waitForAgent: (ref, operation, signal) => this.waitForAgent(ref, operation, signal),
      graphResources: async (subscriptionId, query, signal) =>
        (await this.graphWithRetries(() => this.clients.graph().resources({ subscriptions: [subscriptionId], query, options: { resultFormat: 'objectArray' } }, graphRequestOptions(signal)), signal)).data,
    });
  }

  callCounts(): GatewayCallCounts {
    return { ...this.counts };
  }

  /** sweep-sim: how many 429 answers (ARM or Resource Graph) this gateway has received and waited out or given up on. */
  throttledCount(): number {
    return this.throttled;
  }

  async findVms(query: string): Promise<VmSummary[]> {
    const text = query.trim();
    if (looksLikeResourceId(text)) {
      const ref = this.vmRef(text);
      try {
        const vm = await this.getVm(ref.id);
        return [{ id: vm.id, name: vm.name, resourceGroup: vm.resourceGroup, subscriptionId: vm.subscriptionId, location: vm.location, osType: vm.osType, powerState: vm.powerState, tags: vm.tags }];
      } catch (e) {
        if (isDomainError(e) && e.code === 'not-found') return [];
        throw e;
      }
    }
    const kql = graphQueryForName(text, this.options.scope.resourceGroups);
    const subscriptions = this.options.subscriptionIds.filter((s) => this.options.scope.subscriptions.some((x) => x.toLowerCase() === s.toLowerCase()));
    if (subscriptions.length === 0) return [];
    return this.bounded('findVms', text, this.s.requestTimeoutInMs, undefined, async (signal) => {
      const out: VmSummary[] = [];
      let skipToken: string | undefined;
      do {
        this.counts.armReads++;
        const page = await this.graphWithRetries(
          () => this.clients.graph().resources({ subscriptions, query: kql, options: { resultFormat: 'objectArray', top: GRAPH_PAGE_SIZE, ...(skipToken ? { skipToken } : {}) } }, graphRequestOptions(signal)),
          signal,
        );
        const rows: unknown = page.data;
        if (Array.isArray(rows)) {
          for (const row of rows) {
            const vm = row && typeof row === 'object' ? vmSummaryOfRow(row as Record<string, unknown>) : null;
            if (vm && inScope(this.options.scope, vm.subscriptionId, vm.resourceGroup)) out.push(vm);
          }
        }
        skipToken = page.skipToken;
      } while (skipToken && out.length < this.s.maxSearchResults);
      return out.slice(0, this.s.maxSearchResults);
    });
  }

  async getVm(vmId: string): Promise<VmDetails> {
    const ref = this.vmRef(vmId);
    return this.bounded('getVm', ref.name, this.s.requestTimeoutInMs, undefined, async (signal) => {
      this.counts.armReads++;
      const vm = await this.clients.computeFor(ref.subscriptionId).virtualMachines.get(ref.resourceGroup, ref.name, { expand: 'instanceView', abortSignal: signal });
      return vmDetailsOf(vm);
    });
  }

  // §1b (famhost): one NIC read, no Run Command: a stopped VM gets rdp-no-public-ip too
  async hasPublicIp(vm: VmDetails): Promise<boolean | undefined> {
    this.vmRef(vm.id);
    if (!vm.primaryNicId) return undefined;
    const nic = parseTypedId(vm.primaryNicId, 'Microsoft.Network', 'networkInterfaces');
    if (!nic) throw new DomainError('bad-input', `not a network interface id: ${vm.primaryNicId}`, { params: { target: vm.name } });
    return this.bounded('hasPublicIp', vm.name, this.s.requestTimeoutInMs, undefined, async (signal) => {
      this.counts.armReads++;
      const n = await this.clients.networkFor(nic.subscriptionId).networkInterfaces.get(nic.resourceGroup, nic.name, { abortSignal: signal });
      return (n.ipConfigurations ?? []).some((c) => !!c.publicIPAddress?.id);
    });
  }

  async getEffectiveNsgRules(vm: VmDetails): Promise<EffectiveNsg[]> {
    this.vmRef(vm.id);
    if (!vm.primaryNicId) return [];
    const nic = parseTypedId(vm.primaryNicId, 'Microsoft.Network', 'networkInterfaces');
    if (!nic) throw new DomainError('bad-input', `not a network interface id: ${vm.primaryNicId}`, { params: { target: vm.name } });
    return this.bounded('getEffectiveNsgRules', vm.name, this.s.operationTimeoutInMs, undefined, async (signal) => {
      this.counts.armReads++;
      const poller = await this.clients
        .networkFor(nic.subscriptionId)
        .networkInterfaces.beginListEffectiveNetworkSecurityGroups(nic.resourceGroup, nic.name, { updateIntervalInMs: this.s.pollIntervalInMs, abortSignal: signal });
      const result = await poller.pollUntilDone({ abortSignal: signal });
      return (result.value ?? []).map((g): EffectiveNsg => ({
        networkSecurityGroupId: g.networkSecurityGroup?.id,
        associatedWith: g.association?.networkInterface ? 'networkInterface' : g.association?.subnet ? 'subnet' : 'unknown',
        rules: (g.effectiveSecurityRules ?? []).map(
          (r): EffectiveSecurityRule => ({
            name: r.name ?? '',
            protocol: r.protocol ?? '*',
            sourceAddressPrefix: r.sourceAddressPrefix,
            sourceAddressPrefixes: r.sourceAddressPrefixes,
            expandedSourceAddressPrefix: r.expandedSourceAddressPrefix,
            destinationPortRange: r.destinationPortRange,
            destinationPortRanges: r.destinationPortRanges,
            access: r.access === 'Deny' ? 'Deny' : 'Allow',
            priority: r.priority ?? 0,
            direction: r.direction === 'Outbound' ? 'Outbound' : 'Inbound',
          }),
        ),
      }));
    });
  }

  async runScript(vmId: string, options: RunScriptOptions): Promise<RunScriptResult> {
    const ref = this.vmRef(vmId);
    validateRunScript(options);
    const script = runCommandLines(options.scriptId, options.script);
    const parameters = (options.parameters ?? []).map((p) => ({ name: p.name, value: p.value }));
    const timeout = options.timeoutInMs ?? this.s.runCommandTimeoutInMs;
    return this.bounded('runScript', ref.name, timeout, options.abortSignal, async (signal) => {
      for (let attempt = 0; ; attempt++) {
        this.counts.runCommand++;
        try {
          // sweep-pace: with `polling`, the status polls follow its schedule (run-command-polls.ts), else the SDK's fixed interval
          const polling = options.polling;
          const accepted: { at?: number; retryAfterInMs?: number; operationUrl?: string } = {};
          const poller = this.clients
            .computeFor(ref.subscriptionId)
            .virtualMachines.runCommand(
              ref.resourceGroup,
              ref.name,
              { commandId: 'RunPowerShellScript', script, parameters },
              {
                updateIntervalInMs: this.s.pollIntervalInMs,
                abortSignal: signal,
                ...(polling
                  ? {
                      onResponse: (raw: { status: number | string; headers: { get(name: string): string | undefined } }) => {
                        if (Number(raw.status) >= 300) return;
                        accepted.at = Date.now();
                        accepted.retryAfterInMs = retryAfterInMs((n) => raw.headers.get(n));
                        accepted.operationUrl = raw.headers.get('azure-asyncoperation') ?? raw.headers.get('location');
                      },
                    }
                  : {}),
              },
            );
          if (options.onAccepted) {
            // sweep-resume: the POST answered (a 409 or 429 throws here, before any token); the
            // poller's serialized state lets another process poll this Run Command to its end
            await poller.submitted();
            await this.tellAccepted(options, ref.name, await poller.serialize());
          }
          const result = polling ? await this.pollAccepted(poller, polling, accepted, signal) : await poller.pollUntilDone({ abortSignal: signal });
          return runScriptResultOf(result);
        } catch (e) {
          const info = azureErrorInfo(e);
          if (info.statusCode === 409 && info.code === 'Conflict' && attempt < this.s.conflictRetries) {
            this.options.logger?.info({ operation: 'runScript', vm: ref.name, scriptId: options.scriptId, attempt }, 'run command in progress on the VM; waiting to retry');
            await sleep(this.s.conflictRetryDelayInMs, signal);
            continue;
          }
          throw runScriptError(e, ref.name);
        }
      }
    });
  }

  /**
   * sweep-resume (issue #16): polls to its end a Run Command that runScript started (maybe in
   * another process), from its `onAccepted` token: no second POST. The same bound, result and
   * errors as runScript; with `polling`, the status polls follow its schedule, the first at once
   * (the Run Command was accepted at least a lease ago).
   */
  async resumeRunScript(vmId: string, token: string, options: RunScriptOptions): Promise<RunScriptResult> {
    const ref = this.vmRef(vmId);
    this.checkResumeToken(ref, token);
    const timeout = options.timeoutInMs ?? this.s.runCommandTimeoutInMs;
    return this.bounded('runScript', ref.name, timeout, options.abortSignal, async (signal) => {
      try {
        const client = this.clients.computeFor(ref.subscriptionId);
        const poller = restorePoller(client, token, client.virtualMachines.runCommand, { updateIntervalInMs: this.s.pollIntervalInMs, abortSignal: signal });
        const polling = options.polling;
        const result = polling
          ? await this.pollAccepted(poller, polling, { at: Date.now() - polling.firstPollInMs }, signal)
          : await poller.pollUntilDone({ abortSignal: signal });
        return runScriptResultOf(result);
      } catch (e) {
        throw runScriptError(e, ref.name);
      }
    });
  }

  /** sweep-resume: tells the caller the token; its failure (a store write) does not fail the Run Command, which runs anyway */
  private async tellAccepted(options: RunScriptOptions, vmName: string, token: string): Promise<void> {
    try {
      await options.onAccepted?.(token);
    } catch (err) {
      this.options.logger?.warn({ err, operation: 'runScript', vm: vmName, scriptId: options.scriptId }, 'run command accepted; its resume token was not kept');
    }
  }

  /**
   * sweep-resume: a resume token polls what it names with this gateway's credential, so it must be
   * a Run Command of this very VM on this gateway's Resource Manager endpoint (a stored token that
   * names another host or VM is refused before any request).
   */
  private checkResumeToken(ref: { subscriptionId: string; resourceGroup: string; name: string }, token: string): void {
    const refuse = (why: string): never => {
      throw new DomainError('bad-input', `resumeRunScript: ${why}`, { params: { operation: 'runScript', target: ref.name } });
    };
    let config: { initialRequestUrl?: unknown; requestMethod?: unknown; operationLocation?: unknown; resourceLocation?: unknown } | undefined;
    try {
      config = (JSON.parse(token) as { state?: { config?: typeof config } }).state?.config;
    } catch {
      refuse('the token is not a serialized poller');
    }
    if (!config || typeof config.initialRequestUrl !== 'string' || config.requestMethod !== 'POST') return refuse('the token is not a serialized poller');
    const origin = new URL(this.options.endpoint ?? 'https://management.azure.com').origin;
    const sameHost = (u: unknown): boolean => {
      if (u === undefined) return true;
      try {
        return typeof u === 'string' && new URL(u, origin).origin === origin;
      } catch {
        return false;
      }
    };
    if (![config.initialRequestUrl, config.operationLocation, config.resourceLocation].every(sameHost)) refuse('the token names another host');
    const path = `/subscriptions/${ref.subscriptionId}/resourceGroups/${ref.resourceGroup}/providers/Microsoft.Compute/virtualMachines/${ref.name}/runCommand`.toLowerCase();
    if (new URL(config.initialRequestUrl, origin).pathname.toLowerCase() !== path) refuse('the token is not a Run Command of this VM');
  }

  /** sweep-pace: the POST (conflicts and throttling surface here as before), then the status polls on `polling`'s schedule (also those of a resumed poller). */
  private async pollAccepted<T>(
    poller: StatusPoller<T> & { submitted(): Promise<void>; readonly operationState?: unknown },
    polling: RunCommandPolling,
    accepted: { at?: number; retryAfterInMs?: number; operationUrl?: string },
    signal: AbortSignal,
  ): Promise<T | undefined> {
    await poller.submitted();
    const config = (poller.operationState as { config?: { operationLocation?: string } } | undefined)?.config;
    const hints = this.operationWatch.watch(accepted.operationUrl ?? config?.operationLocation);
    try {
      return await pollRunCommand(poller, polling, { now: Date.now, sleep, signal, acceptedAt: accepted.at ?? Date.now(), initialRetryAfterInMs: accepted.retryAfterInMs, hints });
    } finally {
      hints?.stop();
    }
  }

  startVm(vmId: string, options?: LongOperationOptions): Promise<void> {
    return this.powerOperation('start', vmId, options);
  }

  restartVm(vmId: string, options?: LongOperationOptions): Promise<void> {
    return this.powerOperation('restart', vmId, options);
  }

  async snapshotOsDisk(vmId: string, snapshotName: string, options?: LongOperationOptions): Promise<{ snapshotId: string }> {
    const ref = this.vmRef(vmId);
    validateSnapshotName(snapshotName);
    const vm = await this.getVm(ref.id);
    if (!vm.osDiskId) throw new DomainError('not-found', `VM ${vm.name} has no managed OS disk`, { params: { operation: 'snapshotOsDisk', target: vm.name } });
    const disk = parseTypedId(vm.osDiskId, 'Microsoft.Compute', 'disks');
    if (!disk) throw new DomainError('not-found', `VM ${vm.name} has no managed OS disk`, { params: { operation: 'snapshotOsDisk', target: vm.name } });
    return this.bounded('snapshotOsDisk', vm.name, options?.timeoutInMs ?? this.s.operationTimeoutInMs, options?.abortSignal, async (signal) => {
      this.counts.armReads++;
      const d = await this.clients.computeFor(disk.subscriptionId).disks.get(disk.resourceGroup, disk.name, { abortSignal: signal });
      this.counts.armWrites++;
      const poller = this.clients.computeFor(ref.subscriptionId).snapshots.createOrUpdate(
        ref.resourceGroup,
        snapshotName,
        { location: d.location ?? vm.location, creationData: { createOption: 'Copy', sourceResourceId: d.id ?? vm.osDiskId }, tags: { createdBy: 'rdp-doctor', sourceVm: vm.name } },
        { updateIntervalInMs: this.s.pollIntervalInMs, abortSignal: signal },
      );
      const snap = await poller.pollUntilDone({ abortSignal: signal });
      return { snapshotId: snap.id ?? `/subscriptions/${ref.subscriptionId}/resourceGroups/${ref.resourceGroup}/providers/Microsoft.Compute/snapshots/${snapshotName}` };
    });
  }

  async upsertNsgRule(nsgId: string, rule: SecurityRuleSpec, options?: LongOperationOptions): Promise<void> {
    const nsg = parseTypedId(nsgId, 'Microsoft.Network', 'networkSecurityGroups');
    if (!nsg) throw new DomainError('bad-input', `not a network security group id: ${nsgId}`, { params: { operation: 'upsertNsgRule' } });
    this.checkScope(nsg, 'upsertNsgRule');
    validateRuleSpec(rule);
    await this.bounded('upsertNsgRule', nsg.name, options?.timeoutInMs ?? this.s.operationTimeoutInMs, options?.abortSignal, async (signal) => {
      this.counts.armWrites++;
      const { name, ...props } = rule;
      const poller = await this.clients
        .networkFor(nsg.subscriptionId)
        .securityRules.beginCreateOrUpdate(nsg.resourceGroup, nsg.name, name, { sourcePortRange: '*', destinationAddressPrefix: '*', ...props }, { updateIntervalInMs: this.s.pollIntervalInMs, abortSignal: signal });
      await poller.pollUntilDone({ abortSignal: signal });
    });
  }

  async getNsg(nsgId: string): Promise<NsgDetails> {
    const nsg = parseTypedId(nsgId, 'Microsoft.Network', 'networkSecurityGroups');
    if (!nsg) throw new DomainError('bad-input', `not a network security group id: ${nsgId}`, { params: { operation: 'getNsg' } });
    this.checkScope(nsg, 'getNsg');
    return this.bounded('getNsg', nsg.name, this.s.requestTimeoutInMs, undefined, async (signal) => {
      this.counts.armReads++;
      const g = await this.clients.networkFor(nsg.subscriptionId).networkSecurityGroups.get(nsg.resourceGroup, nsg.name, { abortSignal: signal });
      const rules = (g.securityRules ?? []).map(securityRuleSpecOf);
      return {
        id: g.id ?? nsgId,
        name: g.name ?? nsg.name,
        rules,
        networkInterfaceIds: (g.networkInterfaces ?? []).map((n) => n.id ?? '').filter(Boolean),
        subnetIds: (g.subnets ?? []).map((n) => n.id ?? '').filter(Boolean),
      };
    });
  }

  async deleteNsgRule(nsgId: string, ruleName: string, options?: LongOperationOptions): Promise<void> {
    const nsg = parseTypedId(nsgId, 'Microsoft.Network', 'networkSecurityGroups');
    if (!nsg) throw new DomainError('bad-input', `not a network security group id: ${nsgId}`, { params: { operation: 'deleteNsgRule' } });
    this.checkScope(nsg, 'deleteNsgRule');
    validateRuleName(ruleName);
    await this.bounded('deleteNsgRule', nsg.name, options?.timeoutInMs ?? this.s.operationTimeoutInMs, options?.abortSignal, async (signal) => {
      this.counts.armWrites++;
      const poller = await this.clients
        .networkFor(nsg.subscriptionId)
        .securityRules.beginDelete(nsg.resourceGroup, nsg.name, ruleName, { updateIntervalInMs: this.s.pollIntervalInMs, abortSignal: signal });
      await poller.pollUntilDone({ abortSignal: signal });
    });
  }

  // --- sweep-sim: SweepGateway (issue #16) ---

  async listVmsPage(filter: SweepScopeFilter, skipToken?: string): Promise<VmPage> {
    const { vms, skipToken: next } = await this.sweepPage('vms', filter, skipToken, (row) => {
      const vm = vmSummaryOfRow(row);
      return vm && inScope(this.options.scope, vm.subscriptionId, vm.resourceGroup) ? vm : null;
    }, 'vms');
    return next ? { vms, skipToken: next } : { vms };
  }

  async listNicsPage(filter: SweepScopeFilter, skipToken?: string): Promise<{ nics: SweepNic[]; skipToken?: string }> {
    return this.sweepPage('nics', filter, skipToken, (row) => this.sweepNicOf(row), 'nics');
  }

  async listNsgsPage(filter: SweepScopeFilter, skipToken?: string): Promise<{ nsgs: SweepNsg[]; skipToken?: string }> {
    return this.sweepPage('nsgs', filter, skipToken, (row) => this.sweepNsgOf(row), 'nsgs');
  }

  async listVmStatusPage(subscriptionId: string, nextLink?: string): Promise<{ statuses: SweepVmStatus[]; nextLink?: string }> {
    const [sub] = this.sweepSubscriptions({ subscriptionIds: [subscriptionId] });
    if (nextLink !== undefined) this.checkNextLink(sub as string, nextLink);
    return this.bounded('listVmStatusPage', sub as string, this.s.requestTimeoutInMs, undefined, async (signal) => {
      this.counts.armReads++;
      const pages = this.clients
        .computeFor(sub as string)
        .virtualMachines.listAll({ statusOnly: 'true', abortSignal: signal })
        .byPage(nextLink ? { continuationToken: nextLink } : undefined);
      const r = await pages.next();
      const page = (r.done ? [] : r.value) as Array<VirtualMachineLike> & { continuationToken?: string };
      const statuses: SweepVmStatus[] = [];
      for (const vm of page) {
        const ref = parseVmId(vm.id ?? '');
        if (!ref || !inScope(this.options.scope, ref.subscriptionId, ref.resourceGroup)) continue;
        statuses.push({ vmId: vm.id as string, powerState: powerOf(vm.instanceView), agentStatus: agentStatusOf(vm.instanceView) });
      }
      return page.continuationToken ? { statuses, nextLink: page.continuationToken } : { statuses };
    });
  }

  /** The subscriptions a sweep reads: the filter's (each GUID-shaped and in scope), else every configured one. */
  private sweepSubscriptions(filter: SweepScopeFilter): string[] {
    const configured = this.options.subscriptionIds.filter((s) => this.options.scope.subscriptions.some((x) => x.toLowerCase() === s.toLowerCase()));
    const asked = filter.subscriptionIds ?? [];
    if (asked.length === 0) return configured;
    const out: string[] = [];
    for (const s of asked) {
      if (typeof s !== 'string' || !isSubscriptionId(s)) throw new DomainError('bad-input', 'a subscription id is a GUID', { params: { field: 'subscriptionId' } });
      const known = configured.find((c) => c.toLowerCase() === s.toLowerCase());
      if (!known) throw new DomainError('out-of-scope', `subscription ${s} is outside the configured scope`, { params: { operation: 'sweep', target: s } });
      if (!out.includes(known)) out.push(known);
    }
    return out;
  }

  /** The resource groups a sweep query names: the filter's (checked, in scope), else the configured allow-list, else none (all). */
  private sweepResourceGroups(filter: SweepScopeFilter): readonly string[] | undefined {
    const allowed = this.options.scope.resourceGroups && this.options.scope.resourceGroups.length > 0 ? this.options.scope.resourceGroups : undefined;
    if (filter.resourceGroup === undefined) return allowed;
    const rg = filter.resourceGroup;
    if (typeof rg !== 'string' || !isResourceGroupName(rg)) throw new DomainError('bad-input', 'resource group names are 1-90 letters, digits, and - _ . ( )', { params: { field: 'resourceGroup' } });
    if (allowed && !allowed.some((g) => g.toLowerCase() === rg.toLowerCase())) {
      throw new DomainError('out-of-scope', `resource group ${rg} is outside the configured scope`, { params: { operation: 'sweep', target: rg } });
    }
    return [rg];
  }

  private async sweepPage<T, K extends string>(
    resource: SweepResource,
    filter: SweepScopeFilter,
    skipToken: string | undefined,
    map: (row: Record<string, unknown>) => T | null,
    key: K,
  ): Promise<{ [k in K]: T[] } & { skipToken?: string }> {
    const subscriptions = this.sweepSubscriptions(filter);
    const query = graphQueryForSweep(resource, this.sweepResourceGroups(filter));
    if (skipToken !== undefined && !SKIP_TOKEN.test(skipToken)) throw new DomainError('bad-input', 'not a Resource Graph $skipToken', { params: { field: 'skipToken' } });
    const operation = `list${resource[0]?.toUpperCase()}${resource.slice(1)}Page`;
    if (subscriptions.length === 0) return { [key]: [] } as unknown as { [k in K]: T[] };
    return this.bounded(operation, resource, this.s.requestTimeoutInMs, undefined, async (signal) => {
      this.counts.armReads++;
      const page = await this.graphWithRetries(
        () => this.clients.graph().resources({ subscriptions, query, options: { resultFormat: 'objectArray', top: SWEEP_PAGE_SIZE, ...(skipToken ? { skipToken } : {}) } }, graphRequestOptions(signal)),
        signal,
      );
      const out: T[] = [];
      const rows: unknown = page.data;
      if (Array.isArray(rows)) {
        for (const row of rows) {
          const item = row && typeof row === 'object' ? map(row as Record<string, unknown>) : null;
          if (item) out.push(item);
        }
      }
      const result = { [key]: out } as { [k in K]: T[] } & { skipToken?: string };
      if (page.skipToken) result.skipToken = page.skipToken;
      return result;
    });
  }

  private sweepNicOf(row: Record<string, unknown>): SweepNic | null {
    const id = typeof row.id === 'string' ? row.id : '';
    const ref = parseTypedId(id, 'Microsoft.Network', 'networkInterfaces');
    if (!ref || !inScope(this.options.scope, ref.subscriptionId, ref.resourceGroup)) return null;
    const configs = Array.isArray(row.ipConfigurations) ? (row.ipConfigurations as unknown[]).map(rawObject) : [];
    const primary = configs.find((c) => rawObject(c.properties).primary === true) ?? configs[0];
    const subnetId = text(rawObject(rawObject(primary?.properties).subnet).id);
    const vmId = text(row.vmId);
    const nsgId = text(row.nsgId);
    const nic: SweepNic = { id, hasPublicIp: configs.some((c) => text(rawObject(rawObject(c.properties).publicIPAddress).id) !== undefined) };
    if (vmId) nic.vmId = vmId;
    if (subnetId) nic.subnetId = subnetId;
    if (nsgId) nic.nsgId = nsgId;
    return nic;
  }

  private sweepNsgOf(row: Record<string, unknown>): SweepNsg | null {
    const id = typeof row.id === 'string' ? row.id : '';
    const ref = parseTypedId(id, 'Microsoft.Network', 'networkSecurityGroups');
    if (!ref || !inScope(this.options.scope, ref.subscriptionId, ref.resourceGroup)) return null;
    const ids = (v: unknown): string[] => (Array.isArray(v) ? v.map((x) => text(rawObject(x).id)).filter((x): x is string => x !== undefined) : []);
    const rules = Array.isArray(row.securityRules)
      ? (row.securityRules as unknown[]).map((r) => {
          const o = rawObject(r);
          return securityRuleSpecOf({ ...rawObject(o.properties), name: text(o.name) } as FlatRule);
        })
      : [];
    return { id, name: text(row.name) ?? ref.name, subscriptionId: ref.subscriptionId, resourceGroup: ref.resourceGroup, rules, networkInterfaceIds: ids(row.networkInterfaces), subnetIds: ids(row.subnets) };
  }

  /** A nextLink goes back only to the configured Resource Manager, for that subscription's VM list. */
  private checkNextLink(subscriptionId: string, nextLink: string): void {
    let url: URL;
    try {
      url = new URL(nextLink);
    } catch {
      throw new DomainError('bad-input', 'not a nextLink', { params: { field: 'nextLink' } });
    }
    const origin = new URL(this.options.endpoint ?? 'https://management.azure.com').origin;
    const path = `/subscriptions/${subscriptionId}/providers/Microsoft.Compute/virtualMachines`.toLowerCase();
    if (url.origin !== origin || url.pathname.replace(/\/+$/, '').toLowerCase() !== path || url.username || url.password) {
      throw new DomainError('bad-input', 'the nextLink does not point at this subscription\'s VM list', { params: { field: 'nextLink' } });
    }
  }
  // --- end sweep-sim ---
  // ---------------------------------------------------------------------------------------------
  // RepairGateway (issue #15, repair-sim): offline repair through a rescue VM; the work is in sdk-repair.ts
  // ---------------------------------------------------------------------------------------------
  getVmModel(vmId: string): Promise<VmModel> {
    return this.repair.getVmModel(vmId);
  }
  getDisk(diskId: string): Promise<DiskInfo | null> {
    return this.repair.getDisk(diskId);
  }
  createSnapshot(spec: CreateSnapshotSpec, options?: LongOperationOptions): Promise<{ snapshotId: string }> {
    return this.repair.createSnapshot(spec, options);
  }
  createDiskFromSnapshot(spec: CreateDiskSpec, options?: LongOperationOptions): Promise<{ diskId: string }> {
    return this.repair.createDiskFromSnapshot(spec, options);
  }
  createRescueVm(spec: RescueVmSpec, options?: LongOperationOptions): Promise<{ vmId: string; nicId: string; osDiskId: string }> {
    return this.repair.createRescueVm(spec, options);
  }
  attachDataDisk(vmId: string, diskId: string, lun: number, options?: LongOperationOptions): Promise<void> {
    return this.repair.attachDataDisk(vmId, diskId, lun, options);
  }
  detachDataDisk(vmId: string, diskId: string, options?: LongOperationOptions): Promise<void> {
    return this.repair.detachDataDisk(vmId, diskId, options);
  }
  deallocateVm(vmId: string, options?: LongOperationOptions): Promise<void> {
    return this.repair.deallocateVm(vmId, options);
  }
  swapOsDisk(vmId: string, diskId: string, options?: LongOperationOptions): Promise<void> {
    return this.repair.swapOsDisk(vmId, diskId, options);
  }
  deleteVm(vmId: string, options?: LongOperationOptions): Promise<void> {
    return this.repair.deleteVm(vmId, options);
  }
  deleteNic(nicId: string, options?: LongOperationOptions): Promise<void> {
    return this.repair.deleteNic(nicId, options);
  }
  deleteDisk(diskId: string, options?: LongOperationOptions): Promise<void> {
    return this.repair.deleteDisk(diskId, options);
  }
  deleteSnapshot(snapshotId: string, options?: LongOperationOptions): Promise<void> {
    return this.repair.deleteSnapshot(snapshotId, options);
  }
  listTaggedResources(subscriptionId: string, resourceGroup: string, tagName: string, tagValue: string): Promise<TaggedResource[]> {
    return this.repair.listTaggedResources(subscriptionId, resourceGroup, tagName, tagValue);
  }
  // --- end of the RepairGateway block ---

  private async powerOperation(kind: 'start' | 'restart', vmId: string, options?: LongOperationOptions): Promise<void> {
    const ref = this.vmRef(vmId);
    const operation = kind === 'start' ? 'startVm' : 'restartVm';
    await this.bounded(operation, ref.name, options?.timeoutInMs ?? this.s.operationTimeoutInMs, options?.abortSignal, async (signal) => {
      this.counts.armWrites++;
      const vms = this.clients.computeFor(ref.subscriptionId).virtualMachines;
      const opts = { updateIntervalInMs: this.s.pollIntervalInMs, abortSignal: signal };
      const poller = kind === 'start' ? vms.start(ref.resourceGroup, ref.name, opts) : vms.restart(ref.resourceGroup, ref.name, opts);
      await poller.pollUntilDone({ abortSignal: signal });
      await this.waitForAgent(ref, operation, signal);
    });
  }

  private async waitForAgent(ref: ParsedResourceId, operation: string, signal: AbortSignal): Promise<void> {
    const vms = this.clients.computeFor(ref.subscriptionId).virtualMachines;
    for (;;) {
      try {
        this.counts.armReads++;
        const view = await vms.instanceView(ref.resourceGroup, ref.name, { abortSignal: signal });
        if (powerOf(view) === 'running' && agentStatusOf(view) === 'Ready') return;
        await sleep(this.s.agentPollIntervalInMs, signal);
      } catch (e) {
        if (signal.aborted) {
          // the VM is up but its agent never reported Ready within the bound
          throw new DomainError('agent-not-ready', `${operation}: VM agent not Ready before the time limit`, { params: { operation, target: ref.name }, cause: e });
        }
        throw e;
      }
    }
  }

  private vmRef(vmId: string): ParsedResourceId & { id: string } {
    const ref = parseVmId(vmId);
    if (!ref) throw new DomainError('bad-input', `not a virtual machine resource id: ${vmId}`, { params: { target: vmId } });
    this.checkScope(ref, 'vm');
    return { ...ref, id: `/subscriptions/${ref.subscriptionId}/resourceGroups/${ref.resourceGroup}/providers/Microsoft.Compute/virtualMachines/${ref.name}` };
  }

  private checkScope(ref: ParsedResourceId, operation: string): void {
    if (!inScope(this.options.scope, ref.subscriptionId, ref.resourceGroup)) {
      throw new DomainError('out-of-scope', `${operation}: ${ref.resourceGroup}/${ref.name} is outside the configured scope`, { params: { operation, target: ref.name } });
    }
  }

  private async bounded<T>(operation: string, target: string, timeoutInMs: number, callerSignal: AbortSignal | undefined, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await withDeadline(timeoutInMs, callerSignal, work, (why: BoundOutcome, cause: unknown) => {
        if (isDomainError(cause) && cause.code !== 'timeout') return cause;
        return new DomainError('timeout', `${operation}: ${why === 'caller' ? 'aborted by the caller' : `no answer within ${timeoutInMs} ms`}`, {
          params: { operation, target, timeoutSeconds: Math.ceil(timeoutInMs / 1000) },
          cause,
        });
      });
    } catch (e) {
      const err = toDomainError(e, { operation, target });
      this.options.logger?.warn({ operation, target, code: err.code, statusCode: err.statusCode, azureCode: err.azureCode }, 'azure call failed');
      throw err;
    }
  }

  /** ms-rest-js has its retries turned off (see SdkClients.graph), so the same rules are applied here. */
  private async graphWithRetries<T>(call: () => Promise<T>, signal: AbortSignal): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (e) {
        const info = azureErrorInfo(e);
        if (attempt < this.s.maxRetries && isNetworkError(e)) {
          // a search is a read: a connection reset before any answer is retried like a 5xx
          await sleep(Math.min(this.s.retryDelayInMs * 2 ** attempt, this.s.maxRetryDelayInMs), signal);
          continue;
        }
        if (attempt >= this.s.maxRetries || info.statusCode === undefined) throw e;
        let waitMs: number | undefined;
        if (info.statusCode === 429 || info.statusCode === 503) {
          const headers = (e as { response?: { headers?: { get(n: string): string | undefined } } }).response?.headers;
          waitMs = headers ? retryAfterInMs((n) => headers.get(n)) ?? quotaResetInMs(headers.get('x-ms-user-quota-resets-after')) : undefined;
          if (waitMs !== undefined && waitMs > this.s.maxRetryAfterInMs) throw e;
          if (info.statusCode === 429) this.throttled++;
        }
        if (waitMs === undefined) {
          if (info.statusCode === 429 || (info.statusCode >= 500 && info.statusCode !== 501 && info.statusCode !== 505)) {
            waitMs = Math.min(this.s.retryDelayInMs * 2 ** attempt, this.s.maxRetryDelayInMs);
          } else throw e;
        }
        await sleep(waitMs, signal);
      }
    }
  }
}

/** A Run Command's result as RunScriptResult (runScript and resumeRunScript). */
function runScriptResultOf(result: RunCommandResult | undefined): RunScriptResult {
  const value = result?.value ?? [];
  const stream = (name: string): string => value.find((v) => (v.code ?? '').includes(`/${name}/`))?.message ?? '';
  return { stdout: stream('StdOut'), stderr: stream('StdErr') };
}

/** What a Run Command's failure becomes (runScript past its conflict retries, and resumeRunScript). */
function runScriptError(e: unknown, target: string): unknown {
  const info = azureErrorInfo(e);
  if (info.statusCode === 409 && info.code === 'Conflict') return toDomainError(e, { operation: 'runScript', target });
  if (info.statusCode === 409 && info.code === 'OperationNotAllowed') {
    // the VM cannot take a Run Command now (not running): same next steps as a missing agent
    return new DomainError('agent-not-ready', `runScript: ${info.message}`, { params: { operation: 'runScript', target }, statusCode: 409, azureCode: info.code, cause: e });
  }
  return e;
}

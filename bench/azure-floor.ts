import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../bot/config';
import { diagnoseVm } from '../services/incidents/diagnosis';
import { silentLogger } from '../services/log';
import { openAzure } from '../services/wiring/azure';
import type { SimulatorChild } from './simulator';

/**
 * `npm run bench:turn-cost -- --azure` (issue #16, turn cost): what the Azure side of one diagnose
 * conversation costs alone, the floor under the bot's CPU per turn that no change to the bot's own
 * code can cut. In the bench process, through the product's own gateway (SDK clients, pipeline,
 * TLS) against the same simulator child: the message turn's VM look-up (`findVms`, a Resource
 * Graph query) and the background diagnosis (`diagnoseVm`: the VM with its instance view, the
 * NIC, the effective NSG rules as a long-running operation, the Run Command and its polls, then
 * the parsing and the findings), `concurrency` at a time, CPU from process.cpuUsage.
 */
export interface AzureFloor {
  /** CPU ms per conversation: findVms + diagnoseVm */
  perConversationMs: number;
  findVmsMs: number;
  diagnoseMs: number;
}

export async function azureFloor(sim: SimulatorChild, tmp: string, vms: string[], conversations: number, concurrency: number): Promise<AzureFloor> {
  const config = loadConfig({ ...process.env, DATA_DIR: mkdtempSync(join(tmp, 'azure-floor-')), AZURE_ARM_ENDPOINT: sim.endpoint, AZURE_ARM_CA_FILE: sim.caFile, LOG_LEVEL: 'warn' });
  const azure = await openAzure(config, silentLogger);
  try {
    const gateway = azure.gateway;
    const ids = new Map<string, string>();
    for (const name of vms) {
      const found = await gateway.findVms(name);
      if (found.length !== 1) throw new Error(`azure floor: ${name} matched ${found.length} VMs`);
      ids.set(name, found[0].id);
    }
    const cpuPer = async (n: number, one: (i: number) => Promise<unknown>): Promise<number> => {
      let next = 0;
      const run = async () => {
        while (next < n) await one(next++);
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, n) }, run)); // warm-up, same work
      next = 0;
      const before = process.cpuUsage();
      await Promise.all(Array.from({ length: Math.min(concurrency, n) }, run));
      const used = process.cpuUsage(before);
      return (used.user + used.system) / 1000 / n;
    };
    const vm = (i: number) => vms[i % vms.length];
    const findVmsMs = await cpuPer(conversations, (i) => gateway.findVms(vm(i)));
    const diagnoseMs = await cpuPer(conversations, (i) => diagnoseVm(gateway, ids.get(vm(i)) ?? ''));
    return { perConversationMs: findVmsMs + diagnoseMs, findVmsMs, diagnoseMs };
  } finally {
    await azure.close();
  }
}

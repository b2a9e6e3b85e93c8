import Database from 'better-sqlite3';
import { SqliteSweepRepo } from '../../services/store/sqlite-sweeps';
import { slotPhase } from '../../services/store/sweeps';

/**
 * sweep-resume: a SQLite file written before the slot had phases is migrated in place (additive
 * columns), and its rows read as `sending` (their Run Command may have been sent).
 */
it('an old slot table gains the phase columns; its rows read as sending; a new claim starts at claimed', async () => {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE sweep_vm_slots (vm_key TEXT PRIMARY KEY, sweep_id TEXT NOT NULL, at TEXT NOT NULL, released INTEGER NOT NULL)');
  db.prepare("INSERT INTO sweep_vm_slots VALUES ('/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/old', 'sw', ?, 0)").run(new Date().toISOString());
  const repo = new SqliteSweepRepo(db);
  const old = await repo.runCommandSlot('/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/old');
  expect(old).toMatchObject({ sweepId: 'sw', released: false });
  expect(old?.phase).toBeUndefined();
  expect(slotPhase(old!)).toBe('sending');
  // no holder to match: an old row is never advanced (never taken over)
  expect(await repo.advanceRunCommand('/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/old', 'sw', 'any', { phase: 'claimed' })).toBe(false);
  const vm = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/new';
  expect(await repo.claimRunCommand(vm, 'sw', new Date(), 3600_000, 'h')).toBe(true);
  expect(await repo.runCommandSlot(vm)).toMatchObject({ phase: 'claimed', holder: 'h' });
  // a second open of the same file does not add the columns twice
  expect(() => new SqliteSweepRepo(db)).not.toThrow();
  db.close();
});

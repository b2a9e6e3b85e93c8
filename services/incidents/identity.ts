import type { Person } from './model';

/**
 * Who a person is for every rights check: their Entra object id when the channel gives it (the
 * same person keeps it across channel accounts: Teams, a second tenant account, the web chat),
 * else the channel account id (local development only: nothing without an Entra id is an approver).
 */
export function identityOf(p: Pick<Person, 'id' | 'aadObjectId'>): string {
  return p.aadObjectId ? `aad:${p.aadObjectId.toLowerCase()}` : `channel:${p.id}`;
}

export function samePerson(a: Pick<Person, 'id' | 'aadObjectId'>, b: Pick<Person, 'id' | 'aadObjectId'>): boolean {
  if (identityOf(a) === identityOf(b)) return true;
  // one side without an Entra id: the same channel account is still the same person
  return (!a.aadObjectId || !b.aadObjectId) && a.id === b.id;
}

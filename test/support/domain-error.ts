import { DomainError } from '../../services/errors';

/** The DomainError `p` rejects with; any other rejection is rethrown, and a resolution fails the test. */
export async function domainErrorOf(p: Promise<unknown>): Promise<DomainError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DomainError) return e;
    throw e;
  }
  throw new Error('expected a DomainError');
}

/** The code of the DomainError `p` rejects with (domainErrorOf). */
export async function domainErrorCodeOf(p: Promise<unknown>): Promise<string> {
  return (await domainErrorOf(p)).code;
}

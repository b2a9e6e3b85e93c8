import type { TurnContext } from 'botbuilder';
import type { Person } from '../services/incidents/model';

/** Who sent this activity. */
export function personOf(context: TurnContext): Person {
  const from = context.activity.from ?? { id: 'unknown', name: '' };
  return {
    id: String(from.id ?? 'unknown'),
    name: typeof from.name === 'string' ? from.name : undefined,
    aadObjectId: typeof from.aadObjectId === 'string' ? from.aadObjectId : undefined,
  };
}

import type { ConversationReference } from 'botbuilder';
import type { ChatAddress } from '../services/incidents/model';

/**
 * The chat side of the domain's ChatAddress: today a botbuilder ConversationReference, stored as
 * its JSON (the SQLite and Azure stores hold exactly what they held before). The domain keeps the
 * address and hands it back; only bot/ and dialogs/ look inside, through these functions.
 */
export function chatAddressOf(reference: Partial<ConversationReference>): ChatAddress {
  return reference as ChatAddress;
}

export function conversationReferenceOf(address: ChatAddress): Partial<ConversationReference> {
  return address as Partial<ConversationReference>;
}

/** The id of the conversation an address reaches (undefined for an address without one). */
export function conversationIdOf(address: ChatAddress | undefined): string | undefined {
  return address ? conversationReferenceOf(address).conversation?.id : undefined;
}

import type { DomainError } from '../services/errors';
import type { Translate } from '../services/i18n';

/**
 * The user's sentence for a domain error: its message key with its parameters, where a
 * parameter that names another message key (`detailKey`) is translated too, and a parameter the
 * raiser did not know (the VM's name, say) comes from the context.
 */
export function errorText(t: Translate, e: DomainError, context: Record<string, string | number> = {}): string {
  const params: Record<string, string | number> = { vm: '', what: '', detail: '', permission: '', timeoutSeconds: '?', ref: '', ...context, ...e.params };
  if (typeof e.params.detailKey === 'string') params.detail = t(e.params.detailKey, e.params);
  // an Azure error without a sentence of ours still names Azure's code, never an empty detail
  if (!params.detail && e.code === 'azure-error') params.detail = String(e.azureCode ?? e.params.azureCode ?? e.statusCode ?? '?');
  // "That input is not valid:" never ends at the colon: the VM name rules when the VM was the bad value
  if (!params.detail && e.code === 'bad-input') params.detail = e.params.field === 'vm' ? t('chat.vmName.rules') : t('chat.badInputGeneric');
  // a refusal may name a more precise sentence than its code's (which limit was hit, say)
  return t(typeof e.params.messageKey === 'string' ? e.params.messageKey : e.messageKey, params);
}

/** Which subscriptions (and optionally resource groups) the bot may touch. */
export interface AzureScope {
  subscriptions: readonly string[];
  /** When present, only these resource groups (in any of the subscriptions). */
  resourceGroups?: readonly string[];
}

export function inScope(scope: AzureScope, subscriptionId: string, resourceGroup: string): boolean {
  const sub = subscriptionId.toLowerCase();
  if (!scope.subscriptions.some((s) => s.toLowerCase() === sub)) return false;
  if (!scope.resourceGroups || scope.resourceGroups.length === 0) return true;
  const rg = resourceGroup.toLowerCase();
  return scope.resourceGroups.some((g) => g.toLowerCase() === rg);
}

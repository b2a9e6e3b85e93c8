/** What reaching approvers needs from Microsoft Graph (services/graph/client.ts implements it; tests may give their own). */
export interface TeamsAppGraph {
  /** Installs the bot's Teams app for the user (Entra object id) when it is not (idempotent) and returns the personal chat's id. */
  ensurePersonalChat(userId: string): Promise<{ chatId: string; installed: boolean }>;
}

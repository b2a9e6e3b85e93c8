import type { AccessToken, TokenCredential } from '@azure/identity';

/**
 * For a loopback Resource Manager (the simulator) only: any bearer value is accepted there,
 * and no real identity must ever be sent to it.
 */
export class StaticDevelopmentCredential implements TokenCredential {
  async getToken(): Promise<AccessToken> {
    return { token: 'rdp-doctor-local-development-token', expiresOnTimestamp: Date.now() + 3600_000 };
  }
}

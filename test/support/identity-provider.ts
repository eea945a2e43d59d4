import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/**
 * A real OpenID Connect provider for the tests: `oidc-provider` (the certified implementation
 * behind many identity services), on 127.0.0.1 and a free port, with its own sign-in and consent
 * pages. Nothing of the protocol is imitated: Assure discovers it, is sent to it, and exchanges
 * the code with it as it would with Microsoft Entra ID.
 *
 * Two dials make it misbehave as a real provider can: `tamper.audience` re-issues the ID token
 * for another application (validly signed with the provider's own key), and the ID token lives
 * only `ID_TOKEN_SECONDS`, so an app whose clock is later than that sees it expired.
 */
export const ID_TOKEN_SECONDS = 300;

export type ProviderAccount = { email?: string; email_verified?: boolean; name?: string; groups?: string[] };

export type TestIdentityProvider = {
  issuer: string;
  clientId: string;
  clientSecret: string;
  tamper: { audience: string | null };
  close: () => Promise<void>;
};

export async function startIdentityProvider(input: { redirectUri: string; accounts: Record<string, ProviderAccount> }): Promise<TestIdentityProvider> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = 'test-signing-key';
  const clientId = 'assure-test';
  const clientSecret = 'a-client-secret-for-the-tests-only-0123456789';
  const tamper: { audience: string | null } = { audience: null };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [input.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    jwks: { keys: [{ ...(privateKey.export({ format: 'jwk' }) as object), kid, use: 'sig', alg: 'RS256' }] as never },
    cookies: { keys: ['identity-provider-cookie-key-for-tests'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
    // Like Entra ID, put the claims in the ID token itself.
    conformIdTokenClaims: false,
    ttl: { IdToken: ID_TOKEN_SECONDS },
    features: { devInteractions: { enabled: true } },
    findAccount: async (_ctx: unknown, id: string) => {
      const account = input.accounts[id];
      return account ? { accountId: id, claims: async () => ({ sub: id, ...account }) } : undefined;
    },
  });

  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as { id_token?: string } | undefined;
    if (ctx.path === '/token' && tamper.audience && body?.id_token) {
      ctx.body = { ...body, id_token: resign(body.id_token, { aud: tamper.audience }, privateKey, kid) };
    }
  });
  server.on('request', provider.callback());

  return {
    issuer,
    clientId,
    clientSecret,
    tamper,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The same token with some claims changed, signed again with the provider's key. */
function resign(jwt: string, changes: Record<string, unknown>, key: KeyObject, kid: string): string {
  const payload = { ...JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')), ...changes };
  const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid })).toString('base64url');
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const signature = sign('sha256', Buffer.from(`${header}.${body}`), key).toString('base64url');
  return `${header}.${body}.${signature}`;
}

/** A free local port, for an app whose address must be known before it starts. */
export async function freePort(): Promise<number> {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

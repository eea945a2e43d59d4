import * as client from 'openid-client';
import type { Clock } from '../clock.ts';
import type { OidcConfig } from './oidc-config.ts';

/**
 * The OpenID Connect relying party, on `openid-client`: the authorisation code flow with PKCE
 * (S256), `state` and `nonce`. The library checks the ID token's signature against the
 * provider's published keys, its issuer, its audience (our client id), its expiry and the nonce;
 * Assure adds the one-use state (see account/sso.ts). Time for those checks is the app's clock,
 * handed to the library as its clock skew, so a test or a replay that sets the time sets it here.
 */
export type OidcClaims = {
  iss: string;
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  groups?: string[];
  amr?: string[];
};

export type AuthorisationRequest = { url: string; state: string; nonce: string; codeVerifier: string };

export class OidcSignInError extends Error {
  /** A short reason for the activity log, never shown to the person. */
  readonly reason: string;
  constructor(reason: string) {
    super(reason);
    this.reason = reason;
  }
}

export type OidcRelyingParty = {
  authorisationRequest(): Promise<AuthorisationRequest>;
  /** Exchanges the code in the callback's query for tokens and answers the ID token's checked claims. */
  completeSignIn(callbackQuery: URLSearchParams, expected: { state: string; nonce: string; codeVerifier: string }): Promise<OidcClaims>;
};

/** Plain HTTP to the provider only for a provider on this machine outside production (the tests'). */
function allowsPlainHttp(issuer: string, production: boolean): boolean {
  const url = new URL(issuer);
  return !production && url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}

export function oidcRelyingParty(oidc: OidcConfig, options: { clock: Clock; production: boolean }): OidcRelyingParty {
  const insecure = allowsPlainHttp(oidc.issuer, options.production);
  let discovered: Promise<client.ServerMetadata> | null = null;

  /** The provider's metadata, discovered once; a failed discovery is tried again next time. */
  function serverMetadata() {
    discovered ??= client
      .discovery(new URL(oidc.issuer), oidc.clientId, oidc.clientSecret, undefined, { execute: insecure ? [client.allowInsecureRequests] : [], timeout: 10 })
      .then((configuration) => configuration.serverMetadata())
      .catch((error: unknown) => {
        discovered = null;
        throw new OidcSignInError(`discovery of ${oidc.issuer} failed: ${(error as Error).message}`);
      });
    return discovered;
  }

  async function configuration() {
    const skewSeconds = Math.round((options.clock.now().getTime() - Date.now()) / 1000);
    const configuration = new client.Configuration(await serverMetadata(), oidc.clientId, {
      client_secret: oidc.clientSecret,
      [client.clockSkew]: skewSeconds,
    });
    if (insecure) client.allowInsecureRequests(configuration);
    configuration.timeout = 10;
    return configuration;
  }

  return {
    async authorisationRequest() {
      const codeVerifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(await configuration(), {
        redirect_uri: oidc.redirectUrl,
        scope: oidc.scopes,
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      return { url: url.href, state, nonce, codeVerifier };
    },

    async completeSignIn(callbackQuery, expected) {
      const currentUrl = new URL(oidc.redirectUrl);
      for (const [name, value] of callbackQuery) currentUrl.searchParams.append(name, value);
      try {
        const tokens = await client.authorizationCodeGrant(await configuration(), currentUrl, {
          pkceCodeVerifier: expected.codeVerifier,
          expectedState: expected.state,
          expectedNonce: expected.nonce,
          idTokenExpected: true,
        });
        const claims = tokens.claims();
        if (!claims) throw new OidcSignInError('no ID token');
        return claims as unknown as OidcClaims;
      } catch (error) {
        if (error instanceof OidcSignInError) throw error;
        // openid-client wraps the precise check that failed (which claim, which value) as the cause.
        const detail = error as { code?: string; message?: string; error?: string; error_description?: string; cause?: { message?: string } };
        const parts = [detail.code, detail.error, detail.message, detail.error_description, detail.cause?.message];
        throw new OidcSignInError(parts.filter(Boolean).join(': ').slice(0, 300));
      }
    },
  };
}

import type { FastifyInstance } from 'fastify';
import type { AppDependencies } from '../../platform/http/types.ts';
import { oidcRelyingParty } from '../../platform/auth/oidc.ts';
import { notFound } from '../../platform/errors.ts';
import { sessionCookieName, sessionCookieOptions } from '../../platform/http/pipeline.ts';
import { safeNext } from './next-path.ts';
import { beginSsoSignIn, finishSsoSignIn } from './sso.ts';

/** The browser's half of the state: a signed cookie, only for the callback's path, for minutes. */
const STATE_COOKIE = 'assure_sso_state';
const STATUS = { stale: 400, provider: 401, 'no-account': 403, disabled: 403 } as const;

export async function ssoRoutes(app: FastifyInstance, { db, config, clock }: AppDependencies) {
  const oidc = config.oidc;
  const rp = oidc ? oidcRelyingParty(oidc, { clock, production: config.environment === 'production' }) : null;

  app.get('/sign-in/sso', { config: { access: 'public', rateLimit: { max: 30, timeWindow: '1 minute' } } }, async (request, reply) => {
    if (!rp) throw notFound();
    const next = safeNext((request.query as Record<string, unknown>).next);
    const { url, state } = await beginSsoSignIn(db, rp, { next, now: clock.now() });
    reply.setCookie(STATE_COOKIE, state, { path: '/sign-in/sso', httpOnly: true, sameSite: 'lax', secure: config.secureCookies ? true : ('auto' as const), signed: true, maxAge: 600 });
    return reply.redirect(url, 303);
  });

  app.get('/sign-in/sso/callback', { config: { access: 'public', rateLimit: { max: 30, timeWindow: '1 minute' } } }, async (request, reply) => {
    if (!rp) throw notFound();
    const raw = request.cookies[STATE_COOKIE];
    const unsigned = raw ? request.unsignCookie(raw) : null;
    reply.clearCookie(STATE_COOKIE, { path: '/sign-in/sso', httpOnly: true, sameSite: 'lax', secure: config.secureCookies ? true : 'auto' });
    const query = new URLSearchParams(request.url.split('?')[1] ?? '');
    const outcome = await finishSsoSignIn(db, rp, config, {
      query,
      browserState: unsigned?.valid ? (unsigned.value ?? undefined) : undefined,
      now: clock.now(),
      ipAddress: request.ip,
      userAgent: request.headers['user-agent'] ?? null,
    });
    if (!outcome.ok) {
      return reply.code(STATUS[outcome.problem]).page('account/views/sso-problem.njk', { problem: outcome.problem, email: outcome.email, ssoLabel: oidc!.label });
    }
    reply.setCookie(sessionCookieName(config), outcome.sessionToken, sessionCookieOptions(config));
    return reply.redirect(outcome.next, 303);
  });
}

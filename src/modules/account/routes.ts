import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppDependencies } from '../../platform/http/types.ts';
import { logActivity } from '../../platform/activity.ts';
import { deleteSession } from '../../platform/auth/queries.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { sessionCookieName, sessionCookieOptions } from '../../platform/http/pipeline.ts';
import { fieldErrorsFrom } from '../../platform/views.ts';
import { holdSessionForMfa, MFA_COOKIE, MFA_COOKIE_PATH } from './mfa.ts';
import { safeNext } from './next-path.ts';
import { accountSecurity } from './session-routes.ts';
import { changePassword, createApiToken, listApiTokens, notificationChoiceOf, revokeApiToken, setNotificationChoice, signIn, DEFAULT_TOKEN_LIFETIME_DAYS, TOKEN_LIFETIMES_DAYS } from './service.ts';

const signInForm = z.object({
  email: z.string().trim().min(1, 'Enter your e-mail address').max(254).email('Enter an e-mail address in the correct format, like name@example.org'),
  password: z.string().min(1, 'Enter your password').max(256),
});

const notificationForm = z.object({
  notificationChoice: z.enum(['each_event', 'daily_digest'], { error: 'Choose how you want to hear about your audits' }),
});

const tokenForm = z.object({
  name: z.string().trim().min(1, 'Enter a name for the token').max(100, 'Name must be 100 characters or fewer'),
  lifetimeDays: z.coerce
    .number({ error: 'Choose how long the token works' })
    .default(DEFAULT_TOKEN_LIFETIME_DAYS)
    .refine((days) => (TOKEN_LIFETIMES_DAYS as readonly number[]).includes(days), 'Choose how long the token works'),
});

export async function accountRoutes(app: FastifyInstance, { db, config, clock }: AppDependencies) {
  const cookieName = sessionCookieName(config);
  app.get('/sign-in', { config: { access: 'public' } }, async (request, reply) => {
    if (request.principal) return reply.redirect('/', 303);
    const query = request.query as Record<string, unknown>;
    const next = safeNext(query.next);
    const signedOut = query.signedOut === 'everywhere' ? 'everywhere' : query.signedOut === '1' ? 'here' : null;
    return reply.page('account/views/sign-in.njk', { values: { next }, signedOut });
  });

  app.post(
    '/sign-in',
    // The rate limit that counts is signIn's, in the database, per e-mail and address; this one
    // only spares one server a flood of argon2 checks from a single address.
    { config: { access: 'public', rateLimit: { max: 120, timeWindow: '1 minute' } } },
    async (request, reply) => {
      if (!config.localSignIn) throw new AppError('FORBIDDEN', `Sign in with ${config.oidc?.label ?? 'single sign-on'}`);
      const body = request.body as Record<string, unknown>;
      const next = safeNext(body.next);
      const parsed = signInForm.safeParse(body);
      if (!parsed.success) {
        return reply.code(400).page('account/views/sign-in.njk', { errors: fieldErrorsFrom(parsed.error), values: { email: body.email, next } });
      }
      const result = await signIn(db, config, clock, {
        ...parsed.data,
        ipAddress: request.ip,
        userAgent: request.headers['user-agent'] ?? null,
      });
      if (!result.ok) {
        return reply.code(result.tooMany ? 429 : 401).page('account/views/sign-in.njk', {
          errors: [{ field: 'email', message: result.message }],
          values: { email: parsed.data.email, next },
        });
      }
      if (await holdSessionForMfa(db, { sessionToken: result.sessionToken, now: clock.now(), requiredRoles: config.mfaRequiredRoles })) {
        reply.setCookie(MFA_COOKIE, result.sessionToken, { ...sessionCookieOptions(config), path: MFA_COOKIE_PATH });
        return reply.redirect(`/sign-in/mfa?next=${encodeURIComponent(next)}`, 303);
      }
      reply.setCookie(cookieName, result.sessionToken, sessionCookieOptions(config));
      return reply.redirect(next, 303);
    },
  );

  app.post('/sign-out', { config: { access: 'public' } }, async (request, reply) => {
    if (request.sessionToken) {
      await deleteSession(db, request.sessionToken);
      await logActivity(db, { principal: request.principal, ipAddress: request.ip, at: request.at }, { action: 'sign-out', recordType: 'user', recordId: request.principal?.userId ?? null });
    }
    reply.clearCookie(cookieName, sessionCookieOptions(config));
    return reply.redirect('/sign-in?signedOut=1', 303);
  });

  // Touching the session is all it takes: the authentication hook slid the idle window.
  app.get('/session/keep-alive', { config: { access: 'account' } }, async (_request, reply) => reply.code(204).header('Cache-Control', 'no-store').send());

  app.get('/account', { config: { access: 'account' } }, async (request, reply) => {
    return reply.page('account/views/account.njk', {
      tokens: await listApiTokens(db, request.principal!.userId),
      lifetimes: TOKEN_LIFETIMES_DAYS,
      security: await accountSecurity(db, { clock, config }, { userId: request.principal!.userId, sessionToken: request.sessionToken }),
      sessionEnded: (request.query as Record<string, unknown>).sessionEnded === '1',
      notificationChoice: await notificationChoiceOf(db, request.principal!.userId),
      flash: (request.query as Record<string, unknown>).notifications === 'saved' ? 'Your e-mail choice has been saved.' : undefined,
    });
  });

  app.post('/account/notifications', { config: { access: 'account' } }, async (request, reply) => {
    const principal = request.principal!;
    const parsed = notificationForm.safeParse(request.body);
    if (!parsed.success) {
      return reply.code(400).page('account/views/account.njk', {
        errors: fieldErrorsFrom(parsed.error),
        tokens: await listApiTokens(db, principal.userId),
        lifetimes: TOKEN_LIFETIMES_DAYS,
        security: await accountSecurity(db, { clock, config }, { userId: principal.userId, sessionToken: request.sessionToken }),
        notificationChoice: await notificationChoiceOf(db, principal.userId),
      });
    }
    await setNotificationChoice(db, { principal, ipAddress: request.ip, at: request.at }, parsed.data.notificationChoice);
    return reply.redirect('/account?notifications=saved#notifications', 303);
  });

  app.get('/account/password', { config: { access: 'account' } }, async (_request, reply) => {
    return reply.page('account/views/password.njk');
  });

  app.post('/account/password', { config: { access: 'account' } }, async (request, reply) => {
    const body = request.body as Record<string, string | undefined>;
    const errors = await changePassword(db, {
      userId: request.principal!.userId,
      sessionToken: request.sessionToken!,
      current: body.currentPassword ?? '',
      next: body.newPassword ?? '',
      confirm: body.confirmPassword ?? '',
    });
    if (errors.length) return reply.code(400).page('account/views/password.njk', { errors });
    return reply.page('account/views/account.njk', {
      flash: 'Your password has been changed. Your API tokens have been revoked.',
      notificationChoice: await notificationChoiceOf(db, request.principal!.userId),
      tokens: await listApiTokens(db, request.principal!.userId),
      lifetimes: TOKEN_LIFETIMES_DAYS,
    });
  });

  app.post('/account/tokens', { config: { access: 'account' } }, async (request, reply) => {
    const parsed = tokenForm.safeParse(request.body);
    const principal = request.principal!;
    if (!parsed.success) {
      return reply.code(400).page('account/views/account.njk', {
        errors: fieldErrorsFrom(parsed.error),
        values: request.body as Record<string, unknown>,
        notificationChoice: await notificationChoiceOf(db, principal.userId),
        tokens: await listApiTokens(db, principal.userId),
        lifetimes: TOKEN_LIFETIMES_DAYS,
      });
    }
    const expiresAt = new Date(clock.now().getTime() + parsed.data.lifetimeDays * 86_400_000);
    const token = await createApiToken(db, { userId: principal.userId, organisationId: principal.organisationId, name: parsed.data.name, expiresAt });
    return reply.page('account/views/token-created.njk', { token, name: parsed.data.name, expiresAt });
  });

  app.post('/account/tokens/:tokenId/revoke', { config: { access: 'account' } }, async (request, reply) => {
    const { tokenId } = z.object({ tokenId: z.string().uuid() }).parse(request.params);
    if (!(await revokeApiToken(db, { userId: request.principal!.userId, tokenId }))) throw notFound('Token');
    return reply.redirect('/account?revoked=1', 303);
  });
}

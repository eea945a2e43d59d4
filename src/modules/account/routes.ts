import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppDependencies } from '../../app.ts';
import { logActivity } from '../../platform/activity.ts';
import { deleteSession } from '../../platform/auth/queries.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { SESSION_COOKIE, sessionCookieOptions } from '../../platform/http/pipeline.ts';
import { fieldErrorsFrom } from '../../platform/views.ts';
import { holdSessionForMfa, MFA_COOKIE, MFA_COOKIE_PATH } from './mfa.ts';
import { safeNext } from './next-path.ts';
import { accountSecurity } from './session-routes.ts';
import { changePassword, createApiToken, listApiTokens, revokeApiToken, signIn } from './service.ts';

const signInForm = z.object({
  email: z.string().trim().min(1, 'Enter your e-mail address').max(254).email('Enter an e-mail address in the correct format, like name@example.org'),
  password: z.string().min(1, 'Enter your password').max(256),
});

const tokenForm = z.object({ name: z.string().trim().min(1, 'Enter a name for the token').max(100, 'Name must be 100 characters or fewer') });

export async function accountRoutes(app: FastifyInstance, { db, config, clock }: AppDependencies) {
  app.get('/sign-in', { config: { access: 'public' } }, async (request, reply) => {
    if (request.principal) return reply.redirect('/', 303);
    const next = safeNext((request.query as Record<string, unknown>).next);
    return reply.page('account/views/sign-in.njk', { values: { next } });
  });

  app.post(
    '/sign-in',
    { config: { access: 'public', rateLimit: { max: 20, timeWindow: '1 minute' } } },
    async (request, reply) => {
      if (!config.localSignIn) throw new AppError('FORBIDDEN', `Sign in with ${config.oidc?.label ?? 'single sign-on'}`);
      const body = request.body as Record<string, unknown>;
      const next = safeNext(body.next);
      const parsed = signInForm.safeParse(body);
      if (!parsed.success) {
        return reply.code(400).page('account/views/sign-in.njk', { errors: fieldErrorsFrom(parsed.error), values: { email: body.email, next } });
      }
      const result = await signIn(db, config, {
        ...parsed.data,
        ipAddress: request.ip,
        userAgent: request.headers['user-agent'] ?? null,
      });
      if (!result.ok) {
        return reply.code(result.locked ? 423 : 401).page('account/views/sign-in.njk', {
          errors: [{ field: 'email', message: result.message }],
          locked: result.locked,
          values: { email: parsed.data.email, next },
        });
      }
      if (await holdSessionForMfa(db, { sessionToken: result.sessionToken, now: clock.now(), requiredRoles: config.mfaRequiredRoles })) {
        reply.setCookie(MFA_COOKIE, result.sessionToken, { ...sessionCookieOptions(request), path: MFA_COOKIE_PATH });
        return reply.redirect(`/sign-in/mfa?next=${encodeURIComponent(next)}`, 303);
      }
      reply.setCookie(SESSION_COOKIE, result.sessionToken, sessionCookieOptions(request));
      return reply.redirect(next, 303);
    },
  );

  app.post('/sign-out', { config: { access: 'public' } }, async (request, reply) => {
    if (request.sessionToken) {
      await deleteSession(db, request.sessionToken);
      await logActivity(db, { principal: request.principal, ipAddress: request.ip }, { action: 'sign-out', recordType: 'user', recordId: request.principal?.userId ?? null });
    }
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.redirect('/sign-in?signedOut=1', 303);
  });

  // Touching the session is all it takes: the authentication hook slid the idle window.
  app.get('/session/keep-alive', { config: { access: 'account' } }, async (_request, reply) => reply.code(204).header('Cache-Control', 'no-store').send());

  app.get('/account', { config: { access: 'account' } }, async (request, reply) => {
    return reply.page('account/views/account.njk', {
      tokens: await listApiTokens(db, request.principal!.userId),
      security: await accountSecurity(db, { clock, config }, { userId: request.principal!.userId, sessionToken: request.sessionToken }),
      sessionEnded: (request.query as Record<string, unknown>).sessionEnded === '1',
    });
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
      flash: 'Your password has been changed',
      tokens: await listApiTokens(db, request.principal!.userId),
    });
  });

  app.post('/account/tokens', { config: { access: 'account' } }, async (request, reply) => {
    const parsed = tokenForm.safeParse(request.body);
    const principal = request.principal!;
    if (!parsed.success) {
      return reply.code(400).page('account/views/account.njk', {
        errors: fieldErrorsFrom(parsed.error),
        tokens: await listApiTokens(db, principal.userId),
      });
    }
    const token = await createApiToken(db, { userId: principal.userId, organisationId: principal.organisationId, name: parsed.data.name });
    return reply.page('account/views/token-created.njk', { token, name: parsed.data.name });
  });

  app.post('/account/tokens/:tokenId/revoke', { config: { access: 'account' } }, async (request, reply) => {
    const { tokenId } = z.object({ tokenId: z.string().uuid() }).parse(request.params);
    if (!(await revokeApiToken(db, { userId: request.principal!.userId, tokenId }))) throw notFound('Token');
    return reply.redirect('/account?revoked=1', 303);
  });
}

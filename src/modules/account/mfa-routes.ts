import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AppDependencies } from '../../platform/http/types.ts';
import { logActivity } from '../../platform/activity.ts';
import { loadPrincipal } from '../../platform/auth/queries.ts';
import { notFound } from '../../platform/errors.ts';
import { sessionCookieName, sessionCookieOptions } from '../../platform/http/pipeline.ts';
import {
  beginMfaSetUp,
  completeMfa,
  confirmMfaSetUp,
  findWaitingSession,
  MFA_COOKIE,
  MFA_COOKIE_PATH,
  mfaForEveryone,
  mfaStatus,
  recordMfaFailure,
  resetMfa,
  setMfaForEveryone,
  verifySecondFactor,
} from './mfa.ts';
import { safeNext } from './next-path.ts';

const codeForm = z.object({ code: z.string().trim().max(40).default(''), next: z.unknown().optional() });
const ENTER_CODE = 'Enter the 6-digit code from your authenticator app';
const WRONG_CODE = 'The code is not correct or has expired. Enter the code your app shows now';

/**
 * The second step of a password sign-in (the code, or setting the app up the first time), the
 * authenticator on "Your account", and the council's choice to require it of everyone.
 */
export async function mfaRoutes(app: FastifyInstance, { db, config, clock }: AppDependencies) {
  const rateLimit = { max: 20, timeWindow: '1 minute' };

  /** The waiting session, or back to the sign-in page: nothing here works without a password first. */
  async function waiting(request: FastifyRequest, reply: FastifyReply) {
    const session = await findWaitingSession(db, request.cookies[MFA_COOKIE], clock.now());
    if (!session) reply.redirect('/sign-in', 303);
    return session;
  }

  async function finishSignIn(request: FastifyRequest, reply: FastifyReply, input: { userId: string; how: string }) {
    const token = await completeMfa(db, { sessionToken: request.cookies[MFA_COOKIE]!, now: clock.now(), absoluteHours: config.sessionAbsoluteHours });
    if (!token) return null;
    reply.clearCookie(MFA_COOKIE, { ...sessionCookieOptions(config), path: MFA_COOKIE_PATH });
    reply.setCookie(sessionCookieName(config), token, sessionCookieOptions(config));
    const principal = await loadPrincipal(db, input.userId);
    await logActivity(db, { principal, ipAddress: request.ip, at: request.at }, { action: 'sign-in', recordType: 'user', recordId: input.userId, summary: `second factor passed (${input.how})` });
    return token;
  }

  app.get('/sign-in/mfa', { config: { access: 'public' } }, async (request, reply) => {
    const session = await waiting(request, reply);
    if (!session) return reply;
    const next = safeNext((request.query as Record<string, unknown>).next);
    if (!session.totp_confirmed_at) {
      const status = await mfaStatus(db, session.user_id, config.mfaRequiredRoles);
      const setUp = await beginMfaSetUp(db, config, session.user_id);
      return reply.page('account/views/mfa-set-up.njk', { setUp, required: status.required, formAction: '/sign-in/mfa/set-up', values: { next } });
    }
    return reply.page('account/views/mfa-code.njk', { values: { next } });
  });

  app.post('/sign-in/mfa', { config: { access: 'public', rateLimit } }, async (request, reply) => {
    const session = await waiting(request, reply);
    if (!session) return reply;
    const form = codeForm.parse(request.body);
    const next = safeNext(form.next);
    if (!form.code) return reply.code(400).page('account/views/mfa-code.njk', { errors: [{ field: 'code', message: ENTER_CODE }], values: { next } });
    const how = await verifySecondFactor(db, config, { userId: session.user_id, code: form.code, now: clock.now() });
    if (!how) {
      const { endedSignIn } = await recordMfaFailure(db, request.cookies[MFA_COOKIE]!);
      await logActivity(
        db,
        { principal: null, ipAddress: request.ip, at: request.at, label: session.email, organisationId: session.organisation_id },
        { action: 'sign-in-failed', recordType: 'user', recordId: session.user_id, summary: endedSignIn ? 'wrong security codes: sign-in ended' : 'wrong security code' },
      );
      if (endedSignIn) {
        reply.clearCookie(MFA_COOKIE, { ...sessionCookieOptions(config), path: MFA_COOKIE_PATH });
        return reply.redirect('/sign-in', 303);
      }
      return reply.code(401).page('account/views/mfa-code.njk', { errors: [{ field: 'code', message: WRONG_CODE }], values: { next } });
    }
    if (!(await finishSignIn(request, reply, { userId: session.user_id, how: how === 'totp' ? 'authenticator' : 'recovery code' }))) return reply.redirect('/sign-in', 303);
    return reply.redirect(next, 303);
  });

  /** The set-up page again, with a new key to scan, when the code was missing or wrong. */
  async function setUpRefused(reply: FastifyReply, input: { userId: string; formAction: string; code: string; next: string }) {
    const status = await mfaStatus(db, input.userId, config.mfaRequiredRoles);
    return reply.code(400).page('account/views/mfa-set-up.njk', {
      setUp: await beginMfaSetUp(db, config, input.userId),
      required: status.required,
      formAction: input.formAction,
      errors: [{ field: 'code', message: input.code ? WRONG_CODE : ENTER_CODE }],
      values: { next: input.next },
    });
  }

  app.post('/sign-in/mfa/set-up', { config: { access: 'public', rateLimit } }, async (request, reply) => {
    const session = await waiting(request, reply);
    if (!session) return reply;
    const form = codeForm.parse(request.body);
    const next = safeNext(form.next);
    const codes = form.code ? await confirmMfaSetUp(db, config, { userId: session.user_id, organisationId: session.organisation_id, code: form.code, now: clock.now() }) : null;
    if (!codes) return setUpRefused(reply, { userId: session.user_id, formAction: '/sign-in/mfa/set-up', code: form.code, next });
    if (!(await finishSignIn(request, reply, { userId: session.user_id, how: 'authenticator set up' }))) return reply.redirect('/sign-in', 303);
    // The page is rendered for the person now signed in: the layout shows their name.
    request.principal = await loadPrincipal(db, session.user_id);
    return reply.page('account/views/mfa-recovery-codes.njk', { codes, next });
  });

  app.get('/account/mfa', { config: { access: 'account' } }, async (request, reply) => {
    const status = await mfaStatus(db, request.principal!.userId, config.mfaRequiredRoles);
    if (status.enrolled) return reply.page('account/views/mfa-account.njk', { status });
    const setUp = await beginMfaSetUp(db, config, request.principal!.userId);
    return reply.page('account/views/mfa-set-up.njk', { setUp, required: status.required, formAction: '/account/mfa', values: { next: '/account' } });
  });

  app.post('/account/mfa', { config: { access: 'account', rateLimit } }, async (request, reply) => {
    const principal = request.principal!;
    const form = codeForm.parse(request.body);
    const codes = form.code ? await confirmMfaSetUp(db, config, { userId: principal.userId, organisationId: principal.organisationId, code: form.code, now: clock.now() }) : null;
    if (!codes) return setUpRefused(reply, { userId: principal.userId, formAction: '/account/mfa', code: form.code, next: '/account' });
    await logActivity(db, { principal, ipAddress: request.ip, at: request.at }, { action: 'update', recordType: 'user', recordId: principal.userId, summary: 'authenticator app set up' });
    return reply.page('account/views/mfa-recovery-codes.njk', { codes, next: '/account' });
  });

  app.post('/organisation/users/:id/reset-mfa', { config: { access: 'org.manage' } }, async (request, reply) => {
    const { id } = z.object({ id: z.string().uuid() }).parse(request.params);
    const principal = request.principal!;
    if (!(await resetMfa(db, { organisationId: principal.organisationId, userId: id }))) throw notFound('User');
    await logActivity(db, { principal, ipAddress: request.ip, at: request.at }, { action: 'update', recordType: 'user', recordId: id, summary: 'authenticator app reset' });
    return reply.redirect(`/organisation/users/${id}?done=mfa-reset`, 303);
  });

  app.get('/organisation/sign-in-security', { config: { access: 'org.manage' } }, async (request, reply) => {
    const saved = (request.query as Record<string, unknown>).saved === '1';
    return reply.page('org/views/sign-in-security.njk', { saved, ssoLabel: config.oidc?.label, mfaForEveryone: await mfaForEveryone(db, request.principal!.organisationId) });
  });

  app.post('/organisation/sign-in-security', { config: { access: 'org.manage' } }, async (request, reply) => {
    const principal = request.principal!;
    const required = (request.body as Record<string, unknown>).mfaForEveryone === 'yes';
    await setMfaForEveryone(db, { organisationId: principal.organisationId, required });
    await logActivity(db, { principal, ipAddress: request.ip, at: request.at }, { action: 'update', recordType: 'organisation', recordId: principal.organisationId, summary: required ? 'authenticator app required of everyone' : 'authenticator app required of administrators and QA leads only' });
    return reply.redirect('/organisation/sign-in-security?saved=1', 303);
  });
}

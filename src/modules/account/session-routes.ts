import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppDependencies } from '../../platform/http/types.ts';
import { logActivity } from '../../platform/activity.ts';
import { endAllSessions, endSession, listActiveSessions } from '../../platform/auth/sessions.ts';
import { notFound } from '../../platform/errors.ts';
import { sessionCookieName, sessionCookieOptions } from '../../platform/http/pipeline.ts';
import { mfaStatus } from './mfa.ts';

/**
 * What "Your account" shows beyond the basics: where this person is signed in (each session
 * can be ended, or all at once) and their authenticator app.
 */
export async function accountSecurity(db: AppDependencies['db'], deps: Pick<AppDependencies, 'clock' | 'config'>, input: { userId: string; sessionToken: string | null }) {
  return {
    sessions: await listActiveSessions(db, { userId: input.userId, currentToken: input.sessionToken, now: deps.clock.now(), idleMinutes: deps.config.sessionIdleMinutes }),
    mfa: await mfaStatus(db, input.userId, deps.config.mfaRequiredRoles),
  };
}

export async function sessionRoutes(app: FastifyInstance, { db, config }: AppDependencies) {
  app.post('/account/sessions/:publicId/end', { config: { access: 'account' } }, async (request, reply) => {
    const { publicId } = z.object({ publicId: z.string().uuid() }).parse(request.params);
    const principal = request.principal!;
    const { ended, wasCurrent } = await endSession(db, { userId: principal.userId, publicId, currentToken: request.sessionToken });
    if (!ended) throw notFound('Session');
    await logActivity(db, { principal, ipAddress: request.ip, at: request.at }, { action: 'sign-out', recordType: 'user', recordId: principal.userId, summary: wasCurrent ? 'this session ended' : 'another session ended' });
    if (wasCurrent) {
      reply.clearCookie(sessionCookieName(config), sessionCookieOptions(config));
      return reply.redirect('/sign-in?signedOut=1', 303);
    }
    return reply.redirect('/account?sessionEnded=1#sessions', 303);
  });

  app.post('/account/sessions/end-all', { config: { access: 'account' } }, async (request, reply) => {
    const principal = request.principal!;
    const count = await endAllSessions(db, principal.userId);
    await logActivity(db, { principal, ipAddress: request.ip, at: request.at }, { action: 'sign-out', recordType: 'user', recordId: principal.userId, summary: `signed out everywhere (${count} session${count === 1 ? '' : 's'})` });
    reply.clearCookie(sessionCookieName(config), sessionCookieOptions(config));
    return reply.redirect('/sign-in?signedOut=everywhere', 303);
  });
}

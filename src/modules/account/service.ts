import type { Config } from '../../config.ts';
import { inTransaction, type Db } from '../../db/index.ts';
import type { NotificationChoice } from '../../db/types.ts';
import type { Principal } from '../../platform/access.ts';
import { logActivity, type Actor } from '../../platform/activity.ts';
import { hashPassword, passwordProblem, verifyPassword } from '../../platform/auth/passwords.ts';
import {
  deleteOtherSessions,
  findUserByEmail,
  hashToken,
  loadPrincipal,
  newToken,
  claimSignInAttempt,
  clearSignInRateLimit,
  purgeExpiredSignInState,
  recordSuccessfulSignIn,
  revokeApiTokensOf,
  withinSignInRateLimit,
} from '../../platform/auth/queries.ts';
import { openSession } from '../../platform/auth/sessions.ts';
import { systemClock, type Clock } from '../../platform/clock.ts';
import type { FieldError } from '../../platform/errors.ts';
import { sql } from 'kysely';

export type SignInResult =
  | { ok: true; sessionToken: string }
  | { ok: false; tooMany: boolean; message: string };

/**
 * One answer for every refused sign-in — a wrong password, an unknown or disabled e-mail, a
 * locked account — so that nobody can learn from it whether an e-mail has an account here.
 */
export function refusedMessage(config: Config) {
  return `Enter a correct e-mail address and password. After ${config.loginMaxFailures} wrong attempts an account is locked for ${config.loginLockMinutes} minutes: then try again later, or ask an administrator to unlock it.`;
}

export const TOO_MANY_MESSAGE = 'Too many attempts to sign in with this e-mail address from here. Wait a few minutes and try again.';

/**
 * Signs a person in. The rate limit (per e-mail and address, in the database) comes first;
 * then the attempt is claimed on the account before the password is checked, so simultaneous
 * guesses cannot outrun the lock-out. Every refusal answers the same words, and costs one
 * argon2 check whichever the reason, so neither the page nor its timing tells an unknown
 * e-mail from a locked account. Refusals of a known account are logged for its organisation,
 * where its administrators see them.
 */
export async function signIn(
  db: Db,
  config: Config,
  clock: Clock,
  input: { email: string; password: string; ipAddress: string; userAgent: string | null },
): Promise<SignInResult> {
  const now = clock.now();
  const refused = { ok: false as const, tooMany: false, message: refusedMessage(config) };
  const withinLimit = await withinSignInRateLimit(db, { email: input.email, ipAddress: input.ipAddress }, {
    now,
    max: config.signInRateLimit,
    windowSeconds: config.signInRateWindowMinutes * 60,
  });
  const user = await findUserByEmail(db, input.email);
  const actor: Actor = { principal: null, ipAddress: input.ipAddress, at: now, label: input.email.slice(0, 200), organisationId: user?.organisation_id };
  const failed = (summary: string) => logActivity(db, actor, { action: 'sign-in-failed', recordType: 'user', recordId: user?.id ?? null, summary });
  if (!withinLimit) {
    await failed('refused: too many attempts from this address');
    return { ok: false, tooMany: true, message: TOO_MANY_MESSAGE };
  }
  if (!user || user.disabled_at) {
    await verifyPassword(input.password, DUMMY_HASH);
    await failed(user ? 'refused: the account is disabled' : 'unknown account');
    return refused;
  }
  const attempt = await claimSignInAttempt(db, user.id, { now, maxFailures: config.loginMaxFailures, lockMinutes: config.loginLockMinutes });
  if (!attempt.allowed) {
    await verifyPassword(input.password, DUMMY_HASH);
    await failed('refused: the account is locked');
    return refused;
  }
  if (!(await verifyPassword(input.password, user.password_hash))) {
    await failed('wrong password');
    if (attempt.reachesLimit) {
      await logActivity(db, actor, {
        action: 'lock',
        recordType: 'user',
        recordId: user.id,
        summary: `locked for ${config.loginLockMinutes} minutes after ${config.loginMaxFailures} failed sign-ins`,
      });
    }
    return refused;
  }
  await recordSuccessfulSignIn(db, user.id);
  await clearSignInRateLimit(db, { email: input.email, ipAddress: input.ipAddress });
  await purgeExpiredSignInState(db, { now, idleMinutes: config.sessionIdleMinutes, throttleWindowSeconds: config.signInRateWindowMinutes * 60 });
  const sessionToken = await openSession(db, {
    userId: user.id,
    organisationId: user.organisation_id,
    method: 'password',
    mfaPassedAt: null,
    now,
    absoluteHours: config.sessionAbsoluteHours,
    ipAddress: input.ipAddress,
    userAgent: input.userAgent,
  });
  const principal = await loadPrincipal(db, user.id);
  await logActivity(db, { principal, ipAddress: input.ipAddress, at: now }, { action: 'sign-in', recordType: 'user', recordId: user.id });
  return { ok: true, sessionToken };
}

/** A valid argon2id hash of nothing anyone types: checked against when there is no real hash to check. */
const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3mFq0nH4KnrtoMbWvVBzOTdyq8kE1kJ4YmYzMzQ1Njc4OTA';

export async function changePassword(
  db: Db,
  input: { userId: string; sessionToken: string; current: string; next: string; confirm: string },
): Promise<FieldError[]> {
  const user = await db.selectFrom('users').select(['password_hash', 'email', 'display_name']).where('id', '=', input.userId).executeTakeFirstOrThrow();
  const errors: FieldError[] = [];
  if (!input.current) errors.push({ field: 'currentPassword', message: 'Enter your current password' });
  else if (!(await verifyPassword(input.current, user.password_hash))) {
    errors.push({ field: 'currentPassword', message: 'Your current password is not correct' });
  }
  const problem = await passwordProblem(input.next, { email: user.email, displayName: user.display_name });
  if (problem) errors.push({ field: 'newPassword', message: problem });
  else if (input.next !== input.confirm) errors.push({ field: 'confirmPassword', message: 'The passwords do not match' });
  if (errors.length) return errors;
  await db
    .updateTable('users')
    .set({ password_hash: await hashPassword(input.next), password_changed_at: sql`now()`, version: sql`version + 1` })
    .where('id', '=', input.userId)
    .execute();
  // Other devices signed in with the old password are signed out, and scripts holding its tokens stop.
  await deleteOtherSessions(db, input.userId, input.sessionToken);
  await revokeApiTokensOf(db, input.userId);
  return [];
}

export async function listApiTokens(db: Db, userId: string) {
  return db
    .selectFrom('api_tokens')
    .select(['id', 'name', 'token_prefix', 'created_at', 'last_used_at', 'revoked_at', 'expires_at'])
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .execute();
}

/** How long a token may live, in days: chosen when it is made, a year at most. */
export const TOKEN_LIFETIMES_DAYS = [30, 90, 180, 365] as const;
export const DEFAULT_TOKEN_LIFETIME_DAYS = 90;

/**
 * Creates a personal API token that works until `expiresAt` (by the clock), or until it is
 * revoked — by its owner, by a change of their password or by the account being disabled.
 * The token is returned once and only its hash is kept.
 */
export async function createApiToken(db: Db, input: { userId: string; organisationId: string; name: string; expiresAt?: Date }) {
  const secret = `assure_${newToken().token}`;
  // Without a chosen expiry (scripts and tests), the default lifetime from the system clock.
  const expiresAt = input.expiresAt ?? new Date(systemClock.now().getTime() + DEFAULT_TOKEN_LIFETIME_DAYS * 86_400_000);
  await db
    .insertInto('api_tokens')
    .values({
      user_id: input.userId,
      organisation_id: input.organisationId,
      name: input.name,
      token_hash: hashToken(secret),
      token_prefix: secret.slice(0, 12),
      expires_at: expiresAt,
    })
    .execute();
  return secret;
}

export async function revokeApiToken(db: Db, input: { userId: string; tokenId: string }) {
  const result = await db
    .updateTable('api_tokens')
    .set({ revoked_at: sql`now()` })
    .where('id', '=', input.tokenId)
    .where('user_id', '=', input.userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** How the person wants to hear of their audits' events (see audits/notifications.ts). */
export async function notificationChoiceOf(db: Db, userId: string): Promise<NotificationChoice> {
  const row = await db.selectFrom('users').select('notification_choice').where('id', '=', userId).executeTakeFirst();
  return row?.notification_choice ?? 'each_event';
}

export async function setNotificationChoice(db: Db, actor: { principal: Principal; ipAddress: string | null; at: Date }, choice: NotificationChoice): Promise<void> {
  await inTransaction(db, async (trx) => {
    await trx.updateTable('users').set({ notification_choice: choice, updated_at: actor.at }).where('id', '=', actor.principal.userId).execute();
    await logActivity(trx, actor, { action: 'update', recordType: 'user', recordId: actor.principal.userId, summary: `e-mail choice: ${choice === 'daily_digest' ? 'daily reminder only' : 'each event'}` });
  });
}

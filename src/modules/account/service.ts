import type { Config } from '../../config.ts';
import type { Db } from '../../db/index.ts';
import { logActivity, type Actor } from '../../platform/activity.ts';
import { hashPassword, passwordProblem, verifyPassword } from '../../platform/auth/passwords.ts';
import {
  createSession,
  deleteOtherSessions,
  findUserByEmail,
  hashToken,
  loadPrincipal,
  newToken,
  recordFailedSignIn,
  recordSuccessfulSignIn,
} from '../../platform/auth/queries.ts';
import type { FieldError } from '../../platform/errors.ts';
import { sql } from 'kysely';

export type SignInResult =
  | { ok: true; sessionToken: string }
  | { ok: false; locked: boolean; message: string };

const WRONG = 'Enter a correct e-mail address and password';

/**
 * Signs a person in. Failures are counted; past the limit the account locks for a while
 * and says so. The same answer is given for an unknown e-mail and a wrong password.
 */
export async function signIn(
  db: Db,
  config: Config,
  input: { email: string; password: string; ipAddress: string | null; userAgent: string | null; at: Date },
): Promise<SignInResult> {
  const user = await findUserByEmail(db, input.email);
  const actor: Actor = { principal: null, ipAddress: input.ipAddress, at: input.at, label: input.email.slice(0, 200) };
  if (!user || user.disabled_at) {
    // Spend the same time as a real check, so timing does not reveal which e-mails exist.
    await verifyPassword(input.password, DUMMY_HASH);
    await logActivity(db, actor, { action: 'sign-in-failed', recordType: 'user', summary: 'unknown or disabled account' });
    return { ok: false, locked: false, message: WRONG };
  }
  if (user.locked_until && new Date(user.locked_until) > input.at) {
    return { ok: false, locked: true, message: lockedMessage(config) };
  }
  if (!(await verifyPassword(input.password, user.password_hash))) {
    const { locked } = await recordFailedSignIn(db, user.id, { maxFailures: config.loginMaxFailures, lockMinutes: config.loginLockMinutes });
    await logActivity(db, actor, { action: locked ? 'lock' : 'sign-in-failed', recordType: 'user', recordId: user.id });
    return locked ? { ok: false, locked: true, message: lockedMessage(config) } : { ok: false, locked: false, message: WRONG };
  }
  await recordSuccessfulSignIn(db, user.id);
  const sessionToken = await createSession(db, {
    userId: user.id,
    organisationId: user.organisation_id,
    absoluteHours: config.sessionAbsoluteHours,
    ipAddress: input.ipAddress,
    userAgent: input.userAgent,
  });
  const principal = await loadPrincipal(db, user.id);
  await logActivity(db, { principal, ipAddress: input.ipAddress, at: input.at }, { action: 'sign-in', recordType: 'user', recordId: user.id });
  return { ok: true, sessionToken };
}

function lockedMessage(config: Config) {
  return `Your account is locked after too many failed attempts. Try again in ${config.loginLockMinutes} minutes, or ask an administrator to unlock it.`;
}

const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3mFq0nH4KnrtoMbWvVBzOTdyq8kE1kJ4YmYzMzQ1Njc4OTA';

export async function changePassword(
  db: Db,
  input: { userId: string; sessionToken: string; current: string; next: string; confirm: string },
): Promise<FieldError[]> {
  const user = await db.selectFrom('users').select(['password_hash']).where('id', '=', input.userId).executeTakeFirstOrThrow();
  const errors: FieldError[] = [];
  if (!input.current) errors.push({ field: 'currentPassword', message: 'Enter your current password' });
  else if (!(await verifyPassword(input.current, user.password_hash))) {
    errors.push({ field: 'currentPassword', message: 'Your current password is not correct' });
  }
  const problem = passwordProblem(input.next);
  if (problem) errors.push({ field: 'newPassword', message: problem });
  else if (input.next !== input.confirm) errors.push({ field: 'confirmPassword', message: 'The passwords do not match' });
  if (errors.length) return errors;
  await db
    .updateTable('users')
    .set({ password_hash: await hashPassword(input.next), password_changed_at: sql`now()`, version: sql`version + 1` })
    .where('id', '=', input.userId)
    .execute();
  // Other devices signed in with the old password are signed out.
  await deleteOtherSessions(db, input.userId, input.sessionToken);
  return [];
}

export async function listApiTokens(db: Db, userId: string) {
  return db
    .selectFrom('api_tokens')
    .select(['id', 'name', 'token_prefix', 'created_at', 'last_used_at', 'revoked_at'])
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .execute();
}

/** Creates a personal API token. The token is returned once and only its hash is kept. */
export async function createApiToken(db: Db, input: { userId: string; organisationId: string; name: string }) {
  const secret = `assure_${newToken().token}`;
  await db
    .insertInto('api_tokens')
    .values({
      user_id: input.userId,
      organisation_id: input.organisationId,
      name: input.name,
      token_hash: hashToken(secret),
      token_prefix: secret.slice(0, 12),
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

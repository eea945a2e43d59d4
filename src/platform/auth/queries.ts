import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../../db/index.ts';
import type { Principal } from '../access.ts';

/** Session and API tokens are random; only their SHA-256 is stored, so a leaked table is useless. */
export function newToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export async function findUserByEmail(db: Db, email: string) {
  return db
    .selectFrom('users')
    .selectAll()
    .where(sql`lower(email)`, '=', email.trim().toLowerCase())
    .executeTakeFirst();
}

export async function loadPrincipal(db: Db, userId: string): Promise<Principal | null> {
  const user = await db
    .selectFrom('users')
    .select(['id', 'organisation_id', 'staff_id', 'email', 'display_name', 'disabled_at'])
    .where('id', '=', userId)
    .executeTakeFirst();
  if (!user || user.disabled_at) return null;
  const grants = await db
    .selectFrom('role_grants')
    .select(['role', 'scope', 'team_id', 'service_id'])
    .where('user_id', '=', userId)
    .execute();
  return {
    userId: user.id,
    organisationId: user.organisation_id,
    staffId: user.staff_id,
    email: user.email,
    displayName: user.display_name,
    grants: grants.map((grant) => ({ role: grant.role, scope: grant.scope, teamId: grant.team_id, serviceId: grant.service_id })),
  };
}

export async function recordFailedSignIn(db: Db, userId: string, options: { maxFailures: number; lockMinutes: number }) {
  const row = await db
    .updateTable('users')
    .set({ failed_sign_ins: sql`failed_sign_ins + 1` })
    .where('id', '=', userId)
    .returning('failed_sign_ins')
    .executeTakeFirstOrThrow();
  if (row.failed_sign_ins >= options.maxFailures) {
    await db
      .updateTable('users')
      .set({ locked_until: sql`now() + make_interval(mins => ${options.lockMinutes})`, failed_sign_ins: 0 })
      .where('id', '=', userId)
      .execute();
    return { locked: true };
  }
  return { locked: false };
}

export async function recordSuccessfulSignIn(db: Db, userId: string) {
  await db.updateTable('users').set({ failed_sign_ins: 0, locked_until: null }).where('id', '=', userId).execute();
}

export async function createSession(
  db: Db,
  input: { userId: string; organisationId: string; absoluteHours: number; ipAddress: string | null; userAgent: string | null },
): Promise<string> {
  const { token, hash } = newToken();
  await db
    .insertInto('sessions')
    .values({
      id: hash,
      user_id: input.userId,
      organisation_id: input.organisationId,
      expires_at: sql<Date>`now() + make_interval(hours => ${input.absoluteHours})`,
      ip_address: input.ipAddress,
      user_agent: input.userAgent?.slice(0, 300) ?? null,
    })
    .execute();
  return token;
}

/**
 * The session behind a cookie, if it is neither past its absolute lifetime nor idle too long.
 * Touching it slides the idle window; writes are skipped within a minute to spare the database.
 */
export async function findLiveSession(db: Db, token: string, idleMinutes: number) {
  const session = await db
    .selectFrom('sessions')
    .select(['id', 'user_id', 'expires_at', 'last_seen_at'])
    .where('id', '=', hashToken(token))
    // A session waiting for its MFA code opens nothing (account/mfa.ts).
    .where('awaiting_mfa', '=', false)
    .where('expires_at', '>', sql<Date>`now()`)
    .where('last_seen_at', '>', sql<Date>`now() - make_interval(mins => ${idleMinutes})`)
    .executeTakeFirst();
  if (!session) return null;
  if (Date.now() - new Date(session.last_seen_at).getTime() > 60_000) {
    await db.updateTable('sessions').set({ last_seen_at: sql`now()` }).where('id', '=', session.id).execute();
  }
  return session;
}

export async function deleteSession(db: Db, token: string) {
  await db.deleteFrom('sessions').where('id', '=', hashToken(token)).execute();
}

export async function deleteOtherSessions(db: Db, userId: string, keepToken: string) {
  await db.deleteFrom('sessions').where('user_id', '=', userId).where('id', '!=', hashToken(keepToken)).execute();
}

export async function findApiTokenUser(db: Db, token: string): Promise<string | null> {
  const row = await db
    .updateTable('api_tokens')
    .set({ last_used_at: sql`now()` })
    .where('token_hash', '=', hashToken(token))
    .where('revoked_at', 'is', null)
    .returning('user_id')
    .executeTakeFirst();
  return row?.user_id ?? null;
}

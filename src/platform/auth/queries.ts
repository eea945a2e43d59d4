import { createHash, randomBytes } from 'node:crypto';
import { sql, type ExpressionBuilder, type Selection } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { Db } from '../../db/index.ts';
import type { Database } from '../../db/types.ts';
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
  const row = await db.selectFrom('users').select(principalColumns).where('users.id', '=', userId).executeTakeFirst();
  return row ? principalFrom(row) : null;
}

/**
 * The user and their role grants in one statement (the grants as a JSON array): every signed-in
 * request loads its principal, so one round trip to the database instead of two.
 */
function principalColumns(eb: ExpressionBuilder<Database, 'users'>) {
  return [
    'users.id as user_id',
    'users.organisation_id',
    'users.staff_id',
    'users.email',
    'users.display_name',
    'users.disabled_at',
    jsonArrayFrom(eb.selectFrom('role_grants').select(['role', 'scope', 'team_id', 'service_id']).whereRef('role_grants.user_id', '=', 'users.id')).as('grants'),
  ] as const;
}

type PrincipalRow = Selection<Database, 'users', ReturnType<typeof principalColumns>[number]>;

function principalFrom(row: PrincipalRow): Principal | null {
  if (row.disabled_at) return null;
  return {
    userId: row.user_id,
    organisationId: row.organisation_id,
    staffId: row.staff_id,
    email: row.email,
    displayName: row.display_name,
    grants: row.grants.map((grant) => ({ role: grant.role, scope: grant.scope, teamId: grant.team_id, serviceId: grant.service_id })),
  };
}

/**
 * Claims one sign-in attempt for an account before its password is checked, in one statement,
 * so simultaneous guesses are counted one by one under the row's lock: the attempt that
 * reaches the limit locks the account at once, and attempts past it are refused unchecked.
 * A lock that has run out (by the clock) starts the count again; a lock still running pushes
 * the count past the limit, whatever an earlier version of this code left in it.
 * `allowed` says whether this attempt may be checked; `reachesLimit`, whether its failure locks.
 */
export async function claimSignInAttempt(db: Db, userId: string, options: { now: Date; maxFailures: number; lockMinutes: number }) {
  const { now, maxFailures } = options;
  const lockUntil = new Date(now.getTime() + options.lockMinutes * 60_000);
  const nextCount = sql<number>`(case when locked_until is not null and locked_until <= ${now} then 1 else failed_sign_ins + 1 end)`;
  const row = await db
    .updateTable('users')
    .set({
      failed_sign_ins: sql<number>`case when locked_until > ${now} then greatest(failed_sign_ins, ${maxFailures}) + 1 else ${nextCount} end`,
      locked_until: sql<Date | null>`case when locked_until > ${now} then locked_until when ${nextCount} >= ${maxFailures} then ${lockUntil}::timestamptz else null end`,
    })
    .where('id', '=', userId)
    .returning(['failed_sign_ins'])
    .executeTakeFirstOrThrow();
  const attempt = Number(row.failed_sign_ins);
  return { allowed: attempt <= maxFailures, reachesLimit: attempt === maxFailures };
}

export async function recordSuccessfulSignIn(db: Db, userId: string) {
  await db.updateTable('users').set({ failed_sign_ins: 0, locked_until: null }).where('id', '=', userId).execute();
}

/**
 * The rate limit of sign-in, kept in the database so every app server shares it: attempts per
 * e-mail (as typed, known or not) and address within a window. Counted per pair, so staff
 * behind one office address do not use up each other's attempts. Returns whether this
 * attempt is within the limit.
 */
export async function withinSignInRateLimit(db: Db, key: { email: string; ipAddress: string }, options: { now: Date; max: number; windowSeconds: number }) {
  const windowStart = new Date(options.now.getTime() - options.windowSeconds * 1000);
  const row = await db
    .insertInto('sign_in_throttle')
    .values({ email_key: key.email.trim().toLowerCase(), ip_address: key.ipAddress, window_started_at: options.now, attempts: 1 })
    .onConflict((conflict) =>
      conflict.columns(['email_key', 'ip_address']).doUpdateSet({
        attempts: sql<number>`case when sign_in_throttle.window_started_at <= ${windowStart} then 1 else sign_in_throttle.attempts + 1 end`,
        window_started_at: sql<Date>`case when sign_in_throttle.window_started_at <= ${windowStart} then ${options.now}::timestamptz else sign_in_throttle.window_started_at end`,
      }),
    )
    .returning('attempts')
    .executeTakeFirstOrThrow();
  return Number(row.attempts) <= options.max;
}

/** A successful sign-in clears its pair's count: only attempts since the last success are limited. */
export async function clearSignInRateLimit(db: Db, key: { email: string; ipAddress: string }) {
  await db.deleteFrom('sign_in_throttle').where('email_key', '=', key.email.trim().toLowerCase()).where('ip_address', '=', key.ipAddress).execute();
}

/**
 * Sessions past their absolute lifetime or idle too long, and rate-limit windows that have
 * closed, are deleted: nothing that can no longer be used is kept. Run at every sign-in.
 */
export async function purgeExpiredSignInState(db: Db, options: { now: Date; idleMinutes: number; throttleWindowSeconds: number }) {
  const idleSince = new Date(options.now.getTime() - options.idleMinutes * 60_000);
  await db
    .deleteFrom('sessions')
    .where((eb) => eb.or([eb('expires_at', '<=', options.now), eb('last_seen_at', '<=', idleSince)]))
    .execute();
  await db
    .deleteFrom('sign_in_throttle')
    .where('window_started_at', '<=', new Date(options.now.getTime() - options.throttleWindowSeconds * 1000))
    .execute();
}

/**
 * The session behind a cookie, if it is neither past its absolute lifetime nor idle too long,
 * and its principal (null for a disabled account), read in one statement with the user and
 * their grants. Touching it slides the idle window; writes are skipped within a minute to spare
 * the database.
 */
export async function findLiveSession(db: Db, token: string, options: { now: Date; idleMinutes: number }) {
  const { now } = options;
  const row = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['sessions.id as session_id', 'sessions.last_seen_at'])
    .select(principalColumns)
    .where('sessions.id', '=', hashToken(token))
    // A session waiting for its MFA code opens nothing (account/mfa.ts).
    .where('sessions.awaiting_mfa', '=', false)
    .where('sessions.expires_at', '>', now)
    .where('sessions.last_seen_at', '>', new Date(now.getTime() - options.idleMinutes * 60_000))
    .executeTakeFirst();
  if (!row) return null;
  if (now.getTime() - new Date(row.last_seen_at).getTime() > 60_000) {
    await db.updateTable('sessions').set({ last_seen_at: now }).where('id', '=', row.session_id).execute();
  }
  return { id: row.session_id, userId: row.user_id, principal: principalFrom(row) };
}

export async function deleteSession(db: Db, token: string) {
  await db.deleteFrom('sessions').where('id', '=', hashToken(token)).execute();
}

export async function deleteOtherSessions(db: Db, userId: string, keepToken: string) {
  await db.deleteFrom('sessions').where('user_id', '=', userId).where('id', '!=', hashToken(keepToken)).execute();
}

/**
 * The principal behind an API token that is neither revoked nor expired (by the clock), read
 * with the user and their grants in one statement. A disabled account's tokens find no
 * principal; a password change or reset revokes them. The token's "last used" is written at
 * most once a minute (it is shown to the minute), so a script's requests do not each write.
 */
export async function findApiTokenPrincipal(db: Db, token: string, now: Date): Promise<Principal | null> {
  const row = await db
    .selectFrom('api_tokens')
    .innerJoin('users', 'users.id', 'api_tokens.user_id')
    .select(['api_tokens.id as token_id', 'api_tokens.last_used_at'])
    .select(principalColumns)
    .where('api_tokens.token_hash', '=', hashToken(token))
    .where('api_tokens.revoked_at', 'is', null)
    .where('api_tokens.expires_at', '>', now)
    .executeTakeFirst();
  if (!row) return null;
  if (!row.last_used_at || now.getTime() - new Date(row.last_used_at).getTime() > 60_000) {
    await db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', row.token_id).execute();
  }
  return principalFrom(row);
}

/** Every live API token of a user revoked: when their password changes or their account is disabled. */
export async function revokeApiTokensOf(db: Db, userId: string) {
  // revoked_at is bookkeeping: a token is refused for being revoked at all, not by when.
  await db.updateTable('api_tokens').set({ revoked_at: sql`now()` }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
}

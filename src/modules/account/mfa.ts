import { sql } from 'kysely';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/index.ts';
import type { Role } from '../../db/types.ts';
import { hashToken, newToken } from '../../platform/auth/queries.ts';
import {
  hashRecoveryCode,
  newRecoveryCodes,
  newTotpSecret,
  sealSecret,
  totpQrSvg,
  totpStepOf,
  totpUri,
  unsealSecret,
} from '../../platform/auth/totp.ts';

/**
 * MFA for local accounts: a TOTP authenticator, with single-use recovery codes for a lost phone.
 * Required of administrators and QA leads (MFA_REQUIRED_ROLES), and of everyone when the council says so; anyone
 * may set it up for themselves. A password sign-in that needs it leaves a session waiting for
 * the code, which opens nothing until the code is given (and is then re-issued under a new
 * token). Single sign-on leaves MFA to the council's identity provider.
 */
/** The waiting session's token travels in its own cookie, sent only to the MFA pages, until the code is given. */
export const MFA_COOKIE = 'assure_mfa';
export const MFA_COOKIE_PATH = '/sign-in/mfa';
/** How long a password sign-in waits for its code, and how many wrong codes it allows. */
export const MFA_WAIT_MINUTES = 10;
export const MFA_MAX_FAILURES = 5;

export async function mfaStatus(db: Db, userId: string, requiredRoles: readonly Role[]) {
  const user = await db
    .selectFrom('users')
    .innerJoin('organisations', 'organisations.id', 'users.organisation_id')
    .select(['users.totp_confirmed_at', 'organisations.mfa_required_for_everyone'])
    .where('users.id', '=', userId)
    .executeTakeFirstOrThrow();
  const grants = await db.selectFrom('role_grants').select('role').where('user_id', '=', userId).execute();
  const byRole = grants.some((grant) => requiredRoles.includes(grant.role));
  const remaining = await db
    .selectFrom('mfa_recovery_codes')
    .select(sql<number>`count(*)::int`.as('count'))
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow();
  return {
    enrolled: user.totp_confirmed_at !== null,
    required: byRole || user.mfa_required_for_everyone,
    recoveryCodesLeft: Number(remaining.count),
  };
}

/**
 * After a correct password: if this person must (or chose to) give a code, the new session
 * waits for it, for a few minutes only. Answers whether it does.
 */
export async function holdSessionForMfa(db: Db, input: { sessionToken: string; now: Date; requiredRoles: readonly Role[] }): Promise<boolean> {
  const session = await db.selectFrom('sessions').select('user_id').where('id', '=', hashToken(input.sessionToken)).executeTakeFirst();
  if (!session) return false;
  const status = await mfaStatus(db, session.user_id, input.requiredRoles);
  if (!status.enrolled && !status.required) return false;
  await db
    .updateTable('sessions')
    .set({ awaiting_mfa: true, expires_at: new Date(input.now.getTime() + MFA_WAIT_MINUTES * 60_000) })
    .where('id', '=', hashToken(input.sessionToken))
    .execute();
  return true;
}

/** The session behind a cookie that is waiting for its MFA code, with its person. */
export async function findWaitingSession(db: Db, token: string | undefined, now: Date) {
  if (!token) return null;
  return (
    (await db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select(['sessions.id', 'sessions.user_id', 'sessions.organisation_id', 'users.email', 'users.totp_secret', 'users.totp_confirmed_at'])
      .where('sessions.id', '=', hashToken(token))
      .where('sessions.awaiting_mfa', '=', true)
      .where('sessions.expires_at', '>', now)
      .where('users.disabled_at', 'is', null)
      .executeTakeFirst()) ?? null
  );
}

/**
 * The code passed: the waiting session becomes a full one under a new token (so a token seen
 * before the code is worth nothing), for the usual lifetime from now.
 */
export async function completeMfa(db: Db, input: { sessionToken: string; now: Date; absoluteHours: number }): Promise<string | null> {
  const { token, hash } = newToken();
  const row = await db
    .updateTable('sessions')
    .set({
      id: hash,
      awaiting_mfa: false,
      mfa_passed_at: input.now,
      last_seen_at: input.now,
      expires_at: new Date(input.now.getTime() + input.absoluteHours * 3_600_000),
    })
    .where('id', '=', hashToken(input.sessionToken))
    .where('awaiting_mfa', '=', true)
    .returning('id')
    .executeTakeFirst();
  return row ? token : null;
}

/** A wrong code: counted; past the limit the waiting session is ended and sign-in starts again. */
export async function recordMfaFailure(db: Db, sessionToken: string): Promise<{ endedSignIn: boolean }> {
  const row = await db
    .updateTable('sessions')
    .set({ mfa_failures: sql`mfa_failures + 1` })
    .where('id', '=', hashToken(sessionToken))
    .returning('mfa_failures')
    .executeTakeFirst();
  if (!row || row.mfa_failures >= MFA_MAX_FAILURES) {
    await db.deleteFrom('sessions').where('id', '=', hashToken(sessionToken)).execute();
    return { endedSignIn: true };
  }
  return { endedSignIn: false };
}

/**
 * Checks a code from the authenticator, or failing that a recovery code (used up as it is
 * accepted). A TOTP code's time step is recorded in the same statement that checks it is
 * newer than the last, so the same code never works twice, even from two requests at once.
 */
export async function verifySecondFactor(db: Db, config: Config, input: { userId: string; code: string; now: Date }): Promise<'totp' | 'recovery' | null> {
  const user = await db.selectFrom('users').select(['totp_secret', 'totp_confirmed_at']).where('id', '=', input.userId).executeTakeFirstOrThrow();
  if (!user.totp_secret || !user.totp_confirmed_at) return null;
  const step = totpStepOf(unsealSecret(user.totp_secret, config.sessionSecret), input.code, input.now);
  if (step !== null) {
    const taken = await db
      .updateTable('users')
      .set({ totp_last_step: step })
      .where('id', '=', input.userId)
      .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
      .returning('id')
      .executeTakeFirst();
    return taken ? 'totp' : null;
  }
  const used = await db
    .updateTable('mfa_recovery_codes')
    .set({ used_at: input.now })
    .where('user_id', '=', input.userId)
    .where('code_hash', '=', hashRecoveryCode(input.code))
    .where('used_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return used ? 'recovery' : null;
}

/**
 * Set-up, step one: a secret for the authenticator, kept (sealed) but not in force until a
 * first code proves the app has it. Reloading the page shows the same secret.
 */
export async function beginMfaSetUp(db: Db, config: Config, userId: string) {
  const user = await db.selectFrom('users').select(['email', 'totp_secret', 'totp_confirmed_at']).where('id', '=', userId).executeTakeFirstOrThrow();
  let secret = user.totp_secret && !user.totp_confirmed_at ? unsealSecret(user.totp_secret, config.sessionSecret) : null;
  if (!secret) {
    secret = newTotpSecret();
    await db
      .updateTable('users')
      .set({ totp_secret: sealSecret(secret, config.sessionSecret), totp_confirmed_at: null, totp_last_step: null })
      .where('id', '=', userId)
      .execute();
  }
  const uri = totpUri(secret, { label: user.email, issuer: config.serviceName });
  return { secret, secretGroups: secret.match(/.{1,4}/g)!.join(' '), qrSvg: await totpQrSvg(uri) };
}

/**
 * Set-up, step two: the first code. When it is right, MFA is in force and a fresh set of
 * recovery codes is made (any old ones stop working); they are returned to be shown once.
 */
export async function confirmMfaSetUp(db: Db, config: Config, input: { userId: string; organisationId: string; code: string; now: Date }): Promise<string[] | null> {
  const user = await db.selectFrom('users').select(['totp_secret', 'totp_confirmed_at']).where('id', '=', input.userId).executeTakeFirstOrThrow();
  if (!user.totp_secret || user.totp_confirmed_at) return null;
  const step = totpStepOf(unsealSecret(user.totp_secret, config.sessionSecret), input.code, input.now);
  if (step === null) return null;
  const codes = newRecoveryCodes();
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('users').set({ totp_confirmed_at: input.now, totp_last_step: step }).where('id', '=', input.userId).execute();
    await trx.deleteFrom('mfa_recovery_codes').where('user_id', '=', input.userId).execute();
    await trx
      .insertInto('mfa_recovery_codes')
      .values(codes.map((code) => ({ user_id: input.userId, organisation_id: input.organisationId, code_hash: hashRecoveryCode(code) })))
      .execute();
  });
  return codes;
}

export async function setMfaForEveryone(db: Db, input: { organisationId: string; required: boolean }) {
  await db.updateTable('organisations').set({ mfa_required_for_everyone: input.required, updated_at: sql`now()` }).where('id', '=', input.organisationId).execute();
}

export async function mfaForEveryone(db: Db, organisationId: string): Promise<boolean> {
  const row = await db.selectFrom('organisations').select('mfa_required_for_everyone').where('id', '=', organisationId).executeTakeFirstOrThrow();
  return row.mfa_required_for_everyone;
}

/**
 * An administrator's reset, for a lost phone and lost recovery codes: the secret and codes go,
 * and so do the person's sessions; their next password sign-in sets the app up again.
 */
export async function resetMfa(db: Db, input: { organisationId: string; userId: string }): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const user = await trx
      .updateTable('users')
      .set({ totp_secret: null, totp_confirmed_at: null, totp_last_step: null })
      .where('id', '=', input.userId)
      .where('organisation_id', '=', input.organisationId)
      .returning('id')
      .executeTakeFirst();
    if (!user) return false;
    await trx.deleteFrom('mfa_recovery_codes').where('user_id', '=', input.userId).execute();
    await trx.deleteFrom('sessions').where('user_id', '=', input.userId).execute();
    return true;
  });
}

import { sql, type Insertable } from 'kysely';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/index.ts';
import type { RoleGrantsTable } from '../../db/types.ts';
import { logActivity } from '../../platform/activity.ts';
import type { GroupRole } from '../../platform/auth/oidc-config.ts';
import { OidcSignInError, type OidcClaims, type OidcRelyingParty } from '../../platform/auth/oidc.ts';
import { hashToken, loadPrincipal } from '../../platform/auth/queries.ts';
import { openSession } from '../../platform/auth/sessions.ts';

/**
 * Single sign-on with the council's identity provider. A person is matched by the provider's
 * stable subject once known, otherwise by a verified e-mail address (and the subject is then
 * remembered). Nobody is given roles silently: an administrator grants them, or the documented
 * group mapping (OIDC_GROUP_ROLES) does, and a person the provider vouches for but whom neither
 * names is refused with a page saying whom to ask.
 */
const FLOW_MINUTES = 10;

export async function beginSsoSignIn(db: Db, rp: OidcRelyingParty, input: { next: string; now: Date }) {
  const request = await rp.authorisationRequest();
  // Abandoned sign-ins are swept as new ones start: the table holds only minutes of them.
  await db.deleteFrom('oidc_sign_ins').where('expires_at', '<', input.now).execute();
  await db
    .insertInto('oidc_sign_ins')
    .values({
      state_hash: hashToken(request.state),
      code_verifier: request.codeVerifier,
      nonce: request.nonce,
      next_path: input.next,
      expires_at: new Date(input.now.getTime() + FLOW_MINUTES * 60_000),
    })
    .execute();
  return { url: request.url, state: request.state };
}

export type SsoOutcome =
  | { ok: true; sessionToken: string; next: string }
  | { ok: false; problem: 'stale' | 'provider' | 'no-account' | 'disabled'; email?: string };

/**
 * The provider sent the browser back. The state is used up at once, before anything else, so a
 * replayed callback finds nothing; it must also match the one this browser was given (cookie),
 * so nobody can sign a victim into the attacker's account with a link.
 */
export async function finishSsoSignIn(
  db: Db,
  rp: OidcRelyingParty,
  config: Config,
  input: { query: URLSearchParams; browserState: string | undefined; now: Date; ipAddress: string | null; userAgent: string | null },
): Promise<SsoOutcome> {
  const oidc = config.oidc!;
  const state = input.query.get('state') ?? '';
  const anonymous = { principal: null, ipAddress: input.ipAddress, at: input.now, label: 'single sign-on' };
  const flow = state
    ? await db.deleteFrom('oidc_sign_ins').where('state_hash', '=', hashToken(state)).returningAll().executeTakeFirst()
    : undefined;
  if (!flow || new Date(flow.expires_at) <= input.now || input.browserState !== state) {
    const why = !flow ? 'unknown or already used state' : input.browserState !== state ? 'state not issued to this browser' : 'sign-in took too long';
    await logActivity(db, anonymous, { action: 'sign-in-failed', recordType: 'user', summary: `single sign-on: ${why}` });
    return { ok: false, problem: 'stale' };
  }
  let claims: OidcClaims;
  try {
    if (input.query.get('error')) throw new OidcSignInError(`provider answered ${input.query.get('error')}`);
    claims = await rp.completeSignIn(input.query, { state, nonce: flow.nonce, codeVerifier: flow.code_verifier });
  } catch (error) {
    const reason = error instanceof OidcSignInError ? error.reason : String(error);
    await logActivity(db, anonymous, { action: 'sign-in-failed', recordType: 'user', summary: `single sign-on refused: ${reason}`.slice(0, 500) });
    return { ok: false, problem: 'provider' };
  }

  const organisation = await db.selectFrom('organisations').select(['id']).where('slug', '=', oidc.organisationSlug).executeTakeFirst();
  if (!organisation) throw new Error(`OIDC_ORGANISATION "${oidc.organisationSlug}" is not an organisation in Assure`);
  const email = typeof claims.email === 'string' ? claims.email.trim().toLowerCase() : null;
  const emailVerified = Boolean(email) && (claims.email_verified === true || oidc.trustEmail);
  const actor = { principal: null, ipAddress: input.ipAddress, at: input.now, label: (email ?? claims.sub).slice(0, 200), organisationId: organisation.id };

  const user = await matchUser(db, { organisationId: organisation.id, claims, email: emailVerified ? email : null, groupRoles: oidc.groupRoles, now: input.now });
  if (!user) {
    await logActivity(db, actor, { action: 'sign-in-failed', recordType: 'user', summary: `single sign-on: no Assure account${email ? '' : ' (no e-mail claim)'}${email && !emailVerified ? ' (e-mail not verified)' : ''}` });
    return { ok: false, problem: 'no-account', email: email ?? undefined };
  }
  if (user.disabled_at) {
    await logActivity(db, actor, { action: 'sign-in-failed', recordType: 'user', recordId: user.id, summary: 'single sign-on: account disabled' });
    return { ok: false, problem: 'disabled' };
  }
  if (oidc.groupRoles.length) await followGroups(db, { userId: user.id, organisationId: organisation.id, groups: claims.groups ?? [], groupRoles: oidc.groupRoles });
  const sessionToken = await openSession(db, {
    userId: user.id,
    organisationId: organisation.id,
    method: 'oidc',
    // The provider says when it asked for more than a password (Entra ID: amr "mfa").
    mfaPassedAt: claims.amr?.includes('mfa') ? input.now : null,
    now: input.now,
    absoluteHours: config.sessionAbsoluteHours,
    ipAddress: input.ipAddress,
    userAgent: input.userAgent,
  });
  const principal = await loadPrincipal(db, user.id);
  await logActivity(db, { principal, ipAddress: input.ipAddress, at: input.now }, { action: 'sign-in', recordType: 'user', recordId: user.id, summary: 'single sign-on' });
  return { ok: true, sessionToken, next: flow.next_path };
}

async function matchUser(db: Db, input: { organisationId: string; claims: OidcClaims; email: string | null; groupRoles: GroupRole[]; now: Date }) {
  const { iss, sub } = input.claims;
  const bySubject = await db.selectFrom('users').select(['id', 'disabled_at']).where('oidc_issuer', '=', iss).where('oidc_subject', '=', sub).executeTakeFirst();
  if (bySubject) return bySubject;
  if (!input.email) return null;
  // Only an account not yet tied to another subject: a reused address never takes over an account.
  const byEmail = await db
    .updateTable('users')
    .set({ oidc_issuer: iss, oidc_subject: sub })
    .where(sql`lower(email)`, '=', input.email)
    .where('organisation_id', '=', input.organisationId)
    .where('oidc_subject', 'is', null)
    .returning(['id', 'disabled_at'])
    .executeTakeFirst();
  if (byEmail) return byEmail;
  const taken = await db.selectFrom('users').select('id').where(sql`lower(email)`, '=', input.email).executeTakeFirst();
  if (taken) return null;
  return createFromGroups(db, { ...input, email: input.email });
}

/** A person new to Assure whose groups the mapping names: an account with those roles only. */
async function createFromGroups(db: Db, input: { organisationId: string; claims: OidcClaims; email: string; groupRoles: GroupRole[]; now: Date }) {
  const groups = new Set(input.claims.groups ?? []);
  if (!input.groupRoles.some((mapping) => groups.has(mapping.group))) return null;
  const user = await db
    .insertInto('users')
    .values({
      organisation_id: input.organisationId,
      email: input.email,
      display_name: (input.claims.name ?? input.email).slice(0, 200),
      // Not a password hash: no password can ever match it. This person signs in only through the provider.
      password_hash: '!single-sign-on',
      oidc_issuer: input.claims.iss,
      oidc_subject: input.claims.sub,
    })
    .returning(['id', 'disabled_at'])
    .executeTakeFirstOrThrow();
  await logActivity(db, { principal: null, ipAddress: null, at: input.now, label: 'single sign-on', organisationId: input.organisationId }, { action: 'create', recordType: 'user', recordId: user.id, summary: 'account made from identity provider groups' });
  return user;
}

/** The grants the groups give now replace the ones they gave before; an administrator's stay. */
async function followGroups(db: Db, input: { userId: string; organisationId: string; groups: string[]; groupRoles: GroupRole[] }) {
  const groups = new Set(input.groups);
  const wanted: Insertable<RoleGrantsTable>[] = [];
  for (const mapping of input.groupRoles.filter((entry) => groups.has(entry.group))) {
    const unit =
      mapping.scope === 'team'
        ? await db.selectFrom('teams').select('id').where('organisation_id', '=', input.organisationId).where('name', '=', mapping.unitName!).executeTakeFirst()
        : mapping.scope === 'service'
          ? await db.selectFrom('services').select('id').where('organisation_id', '=', input.organisationId).where('name', '=', mapping.unitName!).executeTakeFirst()
          : null;
    if (mapping.scope !== 'organisation' && !unit) continue;
    wanted.push({
      organisation_id: input.organisationId,
      user_id: input.userId,
      role: mapping.role,
      scope: mapping.scope,
      team_id: mapping.scope === 'team' ? unit!.id : null,
      service_id: mapping.scope === 'service' ? unit!.id : null,
      granted_by_group: mapping.group,
    });
  }
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('role_grants').where('user_id', '=', input.userId).where('granted_by_group', 'is not', null).execute();
    if (wanted.length) await trx.insertInto('role_grants').values(wanted).execute();
  });
}

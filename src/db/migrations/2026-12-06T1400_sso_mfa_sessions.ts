import { sql, type Kysely } from 'kysely';

/**
 * Single sign-on, MFA and the sessions a person can see and end.
 * - users remember the identity provider's subject once matched (issuer + sub), so a changed
 *   e-mail address at the council does not lose the account;
 * - a local account may carry a TOTP secret (sealed with the app's key) and single-use recovery
 *   codes, kept only as hashes; the last time step used is kept so a code is never accepted twice;
 * - a role can be granted by a group in the identity provider, and is then kept in step with it;
 * - a council can require MFA of everyone;
 * - a session says how it was signed in and whether MFA was passed; until then it waits for the
 *   code and opens nothing; it has a public id to be listed and ended by, never its token's hash;
 * - an OpenID Connect sign-in in flight keeps its state (hashed), nonce and PKCE verifier here,
 *   and is deleted as it is used, so a replayed state finds nothing.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table users
      add column oidc_issuer text,
      add column oidc_subject text,
      add column totp_secret text,
      add column totp_confirmed_at timestamptz,
      add column totp_last_step integer;
    create unique index users_oidc_identity on users (oidc_issuer, oidc_subject) where oidc_subject is not null;

    -- A grant made by the identity provider's group claim (OIDC_GROUP_ROLES) names the group, and
    -- follows it: each single sign-on replaces these grants with the ones the groups give now.
    alter table role_grants add column granted_by_group text;

    create table mfa_recovery_codes (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      user_id uuid not null references users(id) on delete cascade,
      code_hash text not null,
      used_at timestamptz,
      created_at timestamptz not null default now()
    );
    create index mfa_recovery_codes_user on mfa_recovery_codes (user_id);

    alter table organisations add column mfa_required_for_everyone boolean not null default false;

    alter table sessions
      add column public_id uuid not null default gen_random_uuid(),
      add column sign_in_method text not null default 'password' check (sign_in_method in ('password', 'oidc')),
      add column awaiting_mfa boolean not null default false,
      add column mfa_failures integer not null default 0,
      add column mfa_passed_at timestamptz;
    create unique index sessions_public_id on sessions (public_id);

    create table oidc_sign_ins (
      state_hash text primary key,
      code_verifier text not null,
      nonce text not null,
      next_path text not null,
      expires_at timestamptz not null,
      created_at timestamptz not null default now()
    );
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop table if exists oidc_sign_ins;
    drop index if exists sessions_public_id;
    alter table sessions drop column public_id, drop column sign_in_method, drop column awaiting_mfa, drop column mfa_failures, drop column mfa_passed_at;
    alter table organisations drop column mfa_required_for_everyone;
    drop table if exists mfa_recovery_codes;
    alter table role_grants drop column granted_by_group;
    drop index if exists users_oidc_identity;
    alter table users drop column oidc_issuer, drop column oidc_subject, drop column totp_secret, drop column totp_confirmed_at, drop column totp_last_step;
  `.execute(db);
}

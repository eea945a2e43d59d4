import { z } from 'zod';
import { ROLES } from '../access.ts';
import type { Role, Scope } from '../../db/types.ts';

/**
 * Single sign-on settings, read from the environment by config.ts (the only reader of
 * process.env) and checked here, so a mistake is told at start with the variable's name.
 */
export const oidcEnvironment = {
  OIDC_ISSUER: z.string().url().optional(),
  OIDC_CLIENT_ID: z.string().trim().min(1).optional(),
  OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  OIDC_REDIRECT_URL: z.string().url().optional(),
  OIDC_ORGANISATION: z.string().trim().min(1).optional(),
  OIDC_SCOPES: z.string().trim().default('openid email profile'),
  OIDC_GROUP_ROLES: z.string().trim().optional(),
  OIDC_TRUST_EMAIL: z.enum(['true', 'false', '1', '0', '']).optional().transform((value) => value === 'true' || value === '1'),
  OIDC_LABEL: z.string().trim().min(1).max(60).default('your council account'),
  LOCAL_SIGN_IN: z.enum(['true', 'false', '1', '0']).default('true').transform((value) => value === 'true' || value === '1'),
  MFA_REQUIRED_ROLES: z
    .string()
    .default('administrator,qa_lead')
    .transform((text) => text.split(',').map((role) => role.trim()).filter(Boolean))
    .refine((roles) => roles.every((role) => (ROLES as readonly string[]).includes(role)), `must list roles among ${ROLES.join(', ')}`)
    .transform((roles) => roles as Role[]),
};

/** A group in the identity provider's `groups` claim that grants a role, with its scope. */
export type GroupRole = { group: string; role: Role; scope: Scope; unitName: string | null };

export type OidcConfig = {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Where the provider sends the browser back: <PUBLIC_URL>/sign-in/sso/callback by default. */
  redirectUrl: string;
  /** The council (organisation slug) whose people sign in through this provider. */
  organisationSlug: string;
  scopes: string;
  groupRoles: GroupRole[];
  /** Take the e-mail claim as verified without `email_verified` (Entra ID, single tenant). */
  trustEmail: boolean;
  /** "Sign in with …" */
  label: string;
};

type OidcEnvironment = z.infer<z.ZodObject<typeof oidcEnvironment>>;

export function oidcConfigFrom(env: OidcEnvironment, publicUrl: string | undefined): OidcConfig | undefined {
  if (!env.OIDC_ISSUER) return undefined;
  const missing = (['OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'OIDC_ORGANISATION'] as const).filter((name) => !env[name]);
  if (missing.length) throw new Error(`OIDC_ISSUER is set, so ${missing.join(', ')} must be set too`);
  const redirectUrl = env.OIDC_REDIRECT_URL ?? (publicUrl ? `${publicUrl}/sign-in/sso/callback` : undefined);
  if (!redirectUrl) throw new Error('OIDC_REDIRECT_URL (or PUBLIC_URL) must be set for single sign-on');
  return {
    issuer: env.OIDC_ISSUER,
    clientId: env.OIDC_CLIENT_ID!,
    clientSecret: env.OIDC_CLIENT_SECRET!,
    redirectUrl,
    organisationSlug: env.OIDC_ORGANISATION!,
    scopes: env.OIDC_SCOPES.split(/\s+/).includes('openid') ? env.OIDC_SCOPES : `openid ${env.OIDC_SCOPES}`,
    groupRoles: parseGroupRoles(env.OIDC_GROUP_ROLES ?? ''),
    trustEmail: env.OIDC_TRUST_EMAIL,
    label: env.OIDC_LABEL,
  };
}

/**
 * OIDC_GROUP_ROLES: `group=role` pairs separated by `;`. A role is organisation-wide unless it
 * names its service or team: `group=auditor:team:North Unit 1`, `group=moderator:service:Area North`.
 */
export function parseGroupRoles(text: string): GroupRole[] {
  if (!text) return [];
  return text
    .split(';')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const match = /^([^=]+)=([a-z_]+)(?::(team|service):(.+))?$/.exec(entry);
      if (!match) throw new Error(`OIDC_GROUP_ROLES: "${entry}" is not group=role, group=role:team:Name or group=role:service:Name`);
      const [, group, role, scope, unitName] = match as unknown as [string, string, string, Scope | undefined, string | undefined];
      if (!(ROLES as readonly string[]).includes(role)) throw new Error(`OIDC_GROUP_ROLES: "${role}" is not a role (one of ${ROLES.join(', ')})`);
      return { group: group.trim(), role: role as Role, scope: scope ?? 'organisation', unitName: unitName?.trim() ?? null };
    });
}

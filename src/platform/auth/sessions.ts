import type { Db } from '../../db/index.ts';
import { hashToken, newToken } from './queries.ts';

/**
 * The sessions a person can see and end. Each is shown by its public id; the row's id (the
 * hash of the cookie's token) never leaves the server.
 */
export type ActiveSession = {
  publicId: string;
  createdAt: Date;
  lastSeenAt: Date;
  ipAddress: string | null;
  browser: string;
  method: 'password' | 'oidc';
  mfaPassed: boolean;
  current: boolean;
};

export async function listActiveSessions(db: Db, input: { userId: string; currentToken: string | null; now: Date; idleMinutes: number }): Promise<ActiveSession[]> {
  const currentId = input.currentToken ? hashToken(input.currentToken) : null;
  const idleSince = new Date(input.now.getTime() - input.idleMinutes * 60_000);
  const rows = await db
    .selectFrom('sessions')
    .select(['id', 'public_id', 'created_at', 'last_seen_at', 'ip_address', 'user_agent', 'sign_in_method', 'mfa_passed_at'])
    .where('user_id', '=', input.userId)
    .where('awaiting_mfa', '=', false)
    .where('expires_at', '>', input.now)
    .where('last_seen_at', '>', idleSince)
    .orderBy('last_seen_at', 'desc')
    .execute();
  return rows.map((row) => ({
    publicId: row.public_id,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    ipAddress: row.ip_address,
    browser: describeBrowser(row.user_agent),
    method: row.sign_in_method,
    mfaPassed: row.mfa_passed_at !== null,
    current: row.id === currentId,
  }));
}

/** Ends one of a person's sessions; answers whether it was the one making the request. */
export async function endSession(db: Db, input: { userId: string; publicId: string; currentToken: string | null }): Promise<{ ended: boolean; wasCurrent: boolean }> {
  const row = await db
    .deleteFrom('sessions')
    .where('user_id', '=', input.userId)
    .where('public_id', '=', input.publicId)
    .returning('id')
    .executeTakeFirst();
  return { ended: Boolean(row), wasCurrent: Boolean(row && input.currentToken && row.id === hashToken(input.currentToken)) };
}

/** Signs a person out everywhere: every session, on every device. */
export async function endAllSessions(db: Db, userId: string): Promise<number> {
  const result = await db.deleteFrom('sessions').where('user_id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows);
}

const BROWSERS: [RegExp, string][] = [
  [/Edg(?:e|A|iOS)?\//, 'Edge'],
  [/OPR\//, 'Opera'],
  [/Firefox\/|FxiOS\//, 'Firefox'],
  [/Chrome\/|CriOS\/|Chromium\//, 'Chrome'],
  [/Safari\//, 'Safari'],
];
const SYSTEMS: [RegExp, string][] = [
  [/Windows/, 'Windows'],
  [/iPhone|iPad|iPod/, 'iOS'],
  [/Android/, 'Android'],
  [/CrOS/, 'ChromeOS'],
  [/Mac OS X|Macintosh/, 'macOS'],
  [/Linux/, 'Linux'],
];

/** "Chrome on Windows": enough for a person to recognise their own device, no more. */
export function describeBrowser(userAgent: string | null): string {
  if (!userAgent) return 'Unknown browser';
  const browser = BROWSERS.find(([pattern]) => pattern.test(userAgent))?.[1];
  const system = SYSTEMS.find(([pattern]) => pattern.test(userAgent))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system ?? userAgent.slice(0, 60);
}

/** Opens a session, signed in by password or single sign-on; its lifetime runs from the app's clock. */
export async function openSession(
  db: Db,
  input: { userId: string; organisationId: string; method: 'password' | 'oidc'; mfaPassedAt: Date | null; now: Date; absoluteHours: number; ipAddress: string | null; userAgent: string | null },
): Promise<string> {
  const { token, hash } = newToken();
  await db
    .insertInto('sessions')
    .values({
      id: hash,
      user_id: input.userId,
      organisation_id: input.organisationId,
      sign_in_method: input.method,
      mfa_passed_at: input.mfaPassedAt,
      created_at: input.now,
      last_seen_at: input.now,
      expires_at: new Date(input.now.getTime() + input.absoluteHours * 3_600_000),
      ip_address: input.ipAddress,
      user_agent: input.userAgent?.slice(0, 300) ?? null,
    })
    .execute();
  return token;
}

import { argon2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { ZxcvbnFactory } from '@zxcvbn-ts/core';

/**
 * argon2id from Node's own crypto (no native addon), stored as a PHC string so the
 * parameters travel with the hash and can be raised later without breaking old hashes.
 * Parameters: OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane).
 */
const argon2Async = promisify(argon2);
const PARAMETERS = { memory: 19_456, passes: 2, parallelism: 1, tagLength: 32 };

export async function hashPassword(password: string): Promise<string> {
  const nonce = randomBytes(16);
  const hash = await argon2Async('argon2id', { message: password, nonce, ...PARAMETERS });
  const { memory, passes, parallelism } = PARAMETERS;
  return `$argon2id$v=19$m=${memory},t=${passes},p=${parallelism}$${nonce.toString('base64url')}$${hash.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([\w-]+)\$([\w-]+)$/.exec(stored);
  if (!match) return false;
  const [, memory, passes, parallelism, nonce, expected] = match as unknown as [string, string, string, string, string, string];
  const expectedHash = Buffer.from(expected, 'base64url');
  const actual = await argon2Async('argon2id', {
    message: password,
    nonce: Buffer.from(nonce, 'base64url'),
    memory: Number(memory),
    passes: Number(passes),
    parallelism: Number(parallelism),
    tagLength: expectedHash.length,
  });
  return timingSafeEqual(actual, expectedHash);
}

/** The password rule, told to users in these words. */
export const PASSWORD_RULE = 'Password must be at least 12 characters';

/**
 * NCSC and NIST SP 800-63B: a length, a check against passwords known to be common or
 * breached, and nothing of the person's own; no rules about symbols, digits or capitals, and
 * no forced expiry. The lists ship with the product (zxcvbn-ts's common-password and English
 * dictionaries, about 50,000 leaked passwords), so no password ever leaves the server. A
 * password zxcvbn scores under 3 — guessable in under 10^10 tries, like `123456789012` or
 * `aaaaaaaaaaaa` — is refused with its reason.
 */
export async function passwordProblem(password: string, person: { email?: string; displayName?: string } = {}): Promise<string | null> {
  if (password.length < 12) return PASSWORD_RULE;
  if (password.length > 256) return 'Password must be 256 characters or fewer';
  const lower = password.toLowerCase();
  const ownWords = [person.email, person.email?.split('@')[0], person.displayName]
    .map((word) => word?.trim().toLowerCase() ?? '')
    .filter((word) => word.length >= 4);
  if (ownWords.some((word) => lower.includes(word))) return 'Password must not contain your e-mail address or name';
  const result = (await passwordChecker()).check(password, ownWords);
  if (result.score < 3) {
    const why = result.feedback.warning ? ` (${result.feedback.warning.replace(/\.$/, '').toLowerCase()})` : '';
    return `Password is too easy to guess${why}: use three or more random words`;
  }
  return null;
}

let checker: Promise<ZxcvbnFactory> | undefined;
/**
 * Loaded on first use: the dictionaries are megabytes that take a second to load, which
 * every start of the app and the command line would otherwise pay.
 */
function passwordChecker(): Promise<ZxcvbnFactory> {
  checker ??= (async () => {
    const [{ ZxcvbnFactory }, common, english] = await Promise.all([import('@zxcvbn-ts/core'), import('@zxcvbn-ts/language-common'), import('@zxcvbn-ts/language-en')]);
    return new ZxcvbnFactory({ dictionary: { ...common.dictionary, ...english.dictionary }, graphs: common.adjacencyGraphs, translations: english.translations });
  })();
  return checker;
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../../config.ts';
import { AppError } from '../errors.ts';

/**
 * Limits that keep Assure answering whatever its clients send: timeouts on every connection,
 * a cap on uploads from people not signed in, and text the database can store.
 */

/**
 * Fastify's server options from the configuration. Node checks the whole-request timeout on an
 * interval (30 seconds by default), so the interval follows the timeout down when it is short.
 */
export function serverTimeouts(config: Config) {
  const requestTimeout = config.requestTimeoutSeconds * 1000;
  return {
    requestTimeout,
    connectionTimeout: config.idleTimeoutSeconds * 1000,
    keepAliveTimeout: config.keepAliveTimeoutSeconds * 1000,
    http: {
      // Headers must arrive first: within a minute, or within the whole request's time if shorter.
      headersTimeout: Math.min(60_000, requestTimeout),
      connectionsCheckingInterval: Math.max(250, Math.min(30_000, Math.floor(requestTimeout / 4))),
    },
  };
}

/**
 * An upload (multipart) from someone not signed in is always refused, but reading or draining
 * its body would hold a connection as long as the client cares to trickle it. Its connection is
 * closed with the answer, and only a few may be open at once; more are refused at once.
 */
export function setUpUploadCap(app: FastifyInstance, config: Pick<Config, 'unauthenticatedUploadsMax'>) {
  let open = 0;
  app.addHook('onRequest', async (request, reply) => {
    if (request.principal || !isMultipart(request)) return;
    reply.header('Connection', 'close');
    if (open >= config.unauthenticatedUploadsMax) {
      throw new AppError('TOO_MANY', 'Too many uploads at once. Sign in and try again.');
    }
    open += 1;
    request.raw.once('close', () => {
      open -= 1;
    });
  });
}

function isMultipart(request: FastifyRequest): boolean {
  return /^multipart\//i.test(request.headers['content-type'] ?? '');
}

/**
 * PostgreSQL cannot store a NUL character in text, so a NUL byte in any field of a form, a
 * query string, a JSON body or a path would reach the database as an error 500. It is refused
 * here, once for every route, as a 400 that names the field.
 */
export function setUpTextChecks(app: FastifyInstance) {
  app.addHook('preValidation', async (request) => {
    for (const [where, value] of [
      ['query', request.query],
      ['body', request.body],
      ['params', request.params],
    ] as const) {
      const field = fieldWithNul(value);
      if (field === null) continue;
      const name = field || where;
      const message = `The field "${name}" contains a character that cannot be stored (a NUL byte): remove it and try again`;
      throw new AppError('BAD_REQUEST', message, [{ field: name, message }]);
    }
  });
}

/** The path of the first field (or field name) with a NUL byte: '' for the value itself, null for none. */
export function fieldWithNul(value: unknown, path = '', depth = 0): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (!value || typeof value !== 'object' || depth > 20 || Buffer.isBuffer(value)) return null;
  for (const [key, inner] of Object.entries(value)) {
    const innerPath = path ? `${path}.${key}` : key;
    if (key.includes('\u0000')) return innerPath.replaceAll('\u0000', '\\0');
    const found = fieldWithNul(inner, innerPath, depth + 1);
    if (found !== null) return found;
  }
  return null;
}

import type { FastifyInstance, FastifyReply } from 'fastify';
import type nunjucks from 'nunjucks';
import { ZodError } from 'zod';
import type { Config } from '../../config.ts';
import { isDatabaseUnavailable, type Db } from '../../db/index.ts';
import { ukDateAt, type Clock } from '../clock.ts';
import type { IsoDate } from '../working-days.ts';
import { can, ROLE_LABELS, roles, type Principal } from '../access.ts';
import { findApiTokenPrincipal, findLiveSession } from '../auth/queries.ts';
import { AppError, STATUS_OF } from '../errors.ts';
import { fieldErrorsFrom } from '../views.ts';
import type { PageContext, RouteAccess } from './types.ts';

/**
 * Served over HTTPS (PUBLIC_URL https://), the cookies take the `__Host-` prefix: the browser
 * then keeps them only if they are Secure, for this host alone and the whole path, so neither a
 * sibling subdomain nor a plain-HTTP page can plant or read them.
 */
export function sessionCookieName(config: Config) {
  return config.secureCookies ? '__Host-assure_session' : 'assure_session';
}

export function csrfCookieName(config: Config) {
  return config.secureCookies ? '__Host-assure_csrf' : 'assure_csrf';
}

/** Session cookie attributes: HttpOnly, SameSite=Lax, Secure over HTTPS (always, when Assure is served over HTTPS). */
export function sessionCookieOptions(config: Config) {
  return { path: '/', httpOnly: true, sameSite: 'lax' as const, secure: config.secureCookies ? true : ('auto' as const) };
}

/**
 * The path as the router reads it: percent-decoded once and its dot segments resolved, so
 * `/%61pi/v1/…` or `/x/../api/v1/…` is the API, as it is to the router. Undecodable: as given.
 */
export function normalisedPath(url: string): string {
  const raw = url.split('?')[0] ?? '/';
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // Left as it is: the router refuses it too.
  }
  return new URL(decoded.replace(/\\/g, '/'), 'http://assure.invalid').pathname;
}

/** Who is asking: a session cookie for pages, a bearer token for the API — never both. */
export function setUpAuthentication(app: FastifyInstance, deps: { db: Db; config: Config; clock: Clock }) {
  const cookieName = sessionCookieName(deps.config);
  app.decorateRequest('principal', null);
  app.decorateRequest('at', null as unknown as Date);
  app.decorateRequest('today', '' as IsoDate);
  app.decorateRequest('sessionToken', null);
  app.decorateRequest('isApi', false);
  app.addHook('onRequest', async (request, reply) => {
    request.at = deps.clock.now();
    request.today = ukDateAt(request.at);
    // The route the router chose decides, or for no route the normalised path: never the raw URL.
    const path = request.routeOptions.url ?? normalisedPath(request.url);
    request.isApi = path === '/api' || path.startsWith('/api/');
    if (path === '/health' || path.startsWith('/assets/')) return;
    if (request.isApi) {
      const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
      request.principal = bearer ? await findApiTokenPrincipal(deps.db, bearer, deps.clock.now()) : null;
      return;
    }
    const token = request.cookies[cookieName];
    if (!token) return;
    const session = await findLiveSession(deps.db, token, { now: deps.clock.now(), idleMinutes: deps.config.sessionIdleMinutes });
    if (!session) {
      reply.clearCookie(cookieName, sessionCookieOptions(deps.config));
      return;
    }
    request.sessionToken = token;
    request.principal = session.principal;
  });
}

export type RouteAccessEntry = { method: string; url: string; access: RouteAccess };

/**
 * Every route declares who may use it; this hook enforces it, before any handler runs.
 * The declared table is kept on the instance (`routeAccessTable`) so a test can walk it.
 */
export function setUpAuthorisation(app: FastifyInstance) {
  const table: RouteAccessEntry[] = [];
  app.decorate('routeAccessTable', table);
  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    if (String(route.url).startsWith('/assets')) return;
    if (!access) throw new Error(`route ${route.method} ${route.url} does not declare its access`);
    for (const method of [route.method].flat()) table.push({ method, url: route.url, access });
  });
  app.addHook('preHandler', async (request) => {
    const access = request.routeOptions.config.access;
    if (!access || access === 'public') return;
    if (!request.principal) throw new AppError('UNAUTHENTICATED', 'Sign in to continue');
    if (!can(request.principal, access)) throw new AppError('FORBIDDEN', 'You do not have permission to see this page');
  });
}

/**
 * CSRF: every unsafe request from a page carries the token in its body's `_csrf` field (or an
 * `X-CSRF-Token` header), never in the address, which ends up in history and logs. A multipart
 * form (an upload) sends `_csrf` as a hidden field before its file: the form is read up to the
 * file, whose stream is left for the route (`request.upload`), so nothing is buffered first.
 */
export function setUpCsrfCheck(app: FastifyInstance) {
  app.decorateRequest('upload', undefined);
  app.addHook('preHandler', async (request, reply) => {
    if (request.isApi || ['GET', 'HEAD', 'OPTIONS'].includes(request.method)) return;
    if (request.isMultipart()) {
      const fileSize = request.routeOptions.config.uploadFileSize;
      request.upload = await request.file(fileSize ? { limits: { fileSize, files: 1 } } : undefined).catch(() => undefined);
      const field = request.upload?.fields._csrf;
      const token = field && !Array.isArray(field) && field.type === 'field' ? String(field.value) : undefined;
      if (token !== undefined) (request as { uploadCsrfToken?: string }).uploadCsrfToken = token;
    }
    await new Promise<void>((resolve, reject) => {
      // The plugin answers a bad token through reply.send(error): here it becomes a thrown error, for the error handler.
      const answer = Object.create(reply, { send: { value: (error: Error) => reject(error) } }) as typeof reply;
      app.csrfProtection(request, answer, () => resolve());
    }).catch((error: unknown) => {
      request.upload?.file.resume();
      throw error;
    });
  });
}

export function navigationFor(principal: Principal | null, currentPath: string) {
  if (!principal) return [];
  const items = [
    { href: '/', text: 'Home', show: true },
    { href: '/my-audits', text: 'My audits', show: Boolean(principal.staffId) },
    { href: '/my-actions', text: 'My actions', show: Boolean(principal.staffId) },
    { href: '/audits', text: 'Audit tracker', show: can(principal, 'audits.view') },
    { href: '/reports', text: 'Reports', show: can(principal, 'reports.view') },
    { href: '/programme', text: 'Programme', show: can(principal, 'programme.view') },
    { href: '/children', text: 'Children', show: can(principal, 'children.view') },
    { href: '/tools', text: 'Audit tools', show: can(principal, 'tools.view') },
    { href: '/organisation', text: 'Organisation', show: can(principal, 'org.view') },
    { href: '/activity', text: 'Activity log', show: can(principal, 'activity.view') },
    { href: '/account', text: 'Your account', show: true },
  ];
  // Completing one's own audit is "My audits" work, though its address is under the tracker's.
  const section = /^\/audits\/[^/]+\/form(\/|$)/.test(currentPath) && principal.staffId ? '/my-audits' : currentPath;
  return items
    .filter((item) => item.show)
    .map((item) => ({
      href: item.href,
      text: item.text,
      active: item.href === '/' ? section === '/' : section === item.href || section.startsWith(`${item.href}/`),
    }));
}

export function setUpPageRendering(app: FastifyInstance, deps: { views: nunjucks.Environment; config: Config }) {
  app.decorateReply('page', function page(this: FastifyReply, template: string, context: PageContext = {}) {
    const request = this.request;
    const path = request.url.split('?')[0] ?? '/';
    const html = deps.views.render(template, {
      ...context,
      serviceName: deps.config.serviceName,
      principal: request.principal,
      principalRoles: request.principal ? roles(request.principal).map((role) => ROLE_LABELS[role]) : [],
      navigation: navigationFor(request.principal, path),
      csrfToken: this.generateCsrf(),
      cspNonce: (this as unknown as { cspNonce?: { script: string } }).cspNonce?.script,
      currentPath: path,
      sessionIdleMinutes: deps.config.sessionIdleMinutes,
      signInChoices: { sso: deps.config.oidc?.label ?? null, local: deps.config.localSignIn },
    });
    // Sent as bytes, encoded once: sent as text, the page (a string Nunjucks built from thousands
    // of pieces) was measured for its Content-Length and then encoded again for the socket, a
    // quarter of the read view's time under load.
    this.header('Cache-Control', 'no-store').type('text/html; charset=utf-8').send(Buffer.from(html, 'utf8'));
    return this;
  });
}

/**
 * Errors become GOV.UK error pages (or precise JSON on the API). No stack trace or SQL
 * reaches a user; unexpected errors are logged with the request id.
 */
export function setUpErrorHandling(app: FastifyInstance) {
  app.setNotFoundHandler((request, reply) => {
    if (request.isApi) return reply.code(404).send({ error: 'NOT_FOUND', message: 'No such API route' });
    return reply.code(404).page('errors/404.njk');
  });

  app.setErrorHandler((error, request, reply) => {
    const known = toAppError(error);
    if (!known) request.log.error({ err: error }, 'unexpected error');
    else if (known.code === 'UNAVAILABLE') request.log.warn({ err: error }, 'database unavailable');
    const appError = known ?? new AppError('BAD_REQUEST', 'Something went wrong');
    const status = known ? STATUS_OF[appError.code] : 500;
    if (request.isApi) {
      reply.header('Cache-Control', 'no-store');
      return reply.code(status).send({
        error: known ? appError.code : 'INTERNAL',
        message: known ? appError.message : 'Something went wrong. The error has been logged.',
        ...(appError.fieldErrors.length ? { errors: appError.fieldErrors } : {}),
      });
    }
    if (status === 503) reply.header('Retry-After', '30');
    if (status === 401) {
      const next = encodeURIComponent(request.url);
      return reply.redirect(`/sign-in?next=${next}`, 303);
    }
    const template = ERROR_PAGES[status] ?? 'errors/400.njk';
    return reply.code(status).page(template, { message: appError.message });
  });
}

const ERROR_PAGES: Record<number, string> = { 403: 'errors/403.njk', 404: 'errors/404.njk', 500: 'errors/500.njk', 503: 'errors/503.njk' };

function toAppError(error: unknown): AppError | null {
  if (error instanceof AppError) return error;
  // The database went away under this request (restart, failover, dropped connection): its
  // transaction was rolled back, so nothing of it is stored, and a later try will work.
  if (isDatabaseUnavailable(error)) return new AppError('UNAVAILABLE', 'The service is unavailable for a moment: the database could not be reached. Try again in a minute.');
  if (error instanceof ZodError) return new AppError('INVALID', 'The request is not valid', fieldErrorsFrom(error));
  const candidate = error as { statusCode?: number; code?: string; message?: string };
  if (candidate.code === 'FST_CSRF_INVALID_TOKEN' || candidate.code === 'FST_CSRF_MISSING_SECRET') {
    return new AppError('FORBIDDEN', 'This form has expired. Go back, refresh the page and try again.');
  }
  if (candidate.statusCode === 429) return new AppError('TOO_MANY', 'Too many attempts. Wait a minute and try again.');
  if (candidate.statusCode === 413) return new AppError('BAD_REQUEST', 'The file is too large');
  if (candidate.statusCode && candidate.statusCode >= 400 && candidate.statusCode < 500) {
    return new AppError('BAD_REQUEST', 'The request could not be understood');
  }
  return null;
}

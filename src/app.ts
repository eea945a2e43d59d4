import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import qs from 'node:querystring';
import type { TrustProxy } from './config.ts';
import { PUBLIC_DIR } from './platform/assets.ts';
import { requestLogSerializers } from './platform/http/request-log.ts';
import {
  csrfCookieName,
  setUpAuthentication,
  setUpAuthorisation,
  setUpCsrfCheck,
  setUpErrorHandling,
  setUpPageRendering,
} from './platform/http/pipeline.ts';
import { setUpSecurityHeaders } from './platform/http/security.ts';
import { serverTimeouts, setUpTextChecks, setUpUploadCap } from './platform/http/limits.ts';
import type { AppDependencies } from './platform/http/types.ts';

export type { AppDependencies };
import { createViewEnvironment, ROOT_DIR, SRC_DIR } from './platform/views.ts';
import { healthRoutes } from './modules/health/routes.ts';
import { accountRoutes } from './modules/account/routes.ts';
import { mfaRoutes } from './modules/account/mfa-routes.ts';
import { sessionRoutes } from './modules/account/session-routes.ts';
import { ssoRoutes } from './modules/account/sso-routes.ts';
import { homeRoutes } from './modules/home/routes.ts';
import { orgRoutes } from './modules/org/routes.ts';
import { childrenRoutes } from './modules/children/routes.ts';
import { auditRoutes } from './modules/audits/routes.ts';
import { actionRoutes } from './modules/actions/routes.ts';
import { activityRoutes } from './modules/activity/routes.ts';
import { searchRoutes } from './modules/search/routes.ts';
import { toolRoutes } from './modules/tools/routes.ts';
import { apiRoutes } from './modules/api/routes.ts';
import { reportRoutes } from './modules/reports/routes.ts';
import { reportExportRoutes } from './modules/reports/export-routes.ts';
import { reportIssueRoutes } from './modules/reports/issue-routes.ts';
import { reportFeedApiRoutes, reportFeedRoutes } from './modules/reports/feed-routes.ts';
import { scheduleRoutes } from './modules/programme/schedule-routes.ts';
import { themeRoutes } from './modules/reports/themes-routes.ts';
import { roundRoutes } from './modules/programme/rounds-routes.ts';


/**
 * The request pipeline, in order: health → security headers → cookies and parsing → static
 * assets → page rendering → authentication → the cap on uploads from people not signed in →
 * text checks (no NUL bytes) → authorisation → CSRF → routes → 404 → errors. Timeouts on every
 * connection come from the configuration (serverTimeouts).
 */
export async function buildApp(deps: AppDependencies, options: { logStream?: NodeJS.WritableStream } = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger:
      deps.config.logLevel === 'silent'
        ? false
        : { level: deps.config.logLevel, serializers: requestLogSerializers, ...(options.logStream ? { stream: options.logStream } : {}) },
    // Only the configured proxies' X-Forwarded-For is believed (never `true`: see config.ts).
    trustProxy: fastifyTrustProxy(deps.config.trustProxy),
    bodyLimit: 1024 * 1024,
    ...serverTimeouts(deps.config),
    // Repeated form fields (checkboxes) arrive as arrays; nothing else needs more.
    routerOptions: { ignoreTrailingSlash: true },
  });

  setUpAuthorisation(app);
  await setUpSecurityHeaders(app);
  await app.register(cookie, { secret: deps.config.sessionSecret });
  await app.register(formbody, { parser: (body) => qs.parse(body) });
  await app.register(multipart, { limits: { fileSize: 200 * 1024 * 1024, files: 1 } });
  await app.register(rateLimit, { global: false });
  await app.register(csrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: csrfCookieName(deps.config),
    cookieOpts: { path: '/', httpOnly: true, sameSite: 'lax', signed: true, secure: deps.config.secureCookies ? true : 'auto' },
    // Never from the query string: an address ends up in history and logs.
    getToken: (request) => {
      const body = request.body as Record<string, unknown> | undefined;
      const upload = (request as { uploadCsrfToken?: string }).uploadCsrfToken;
      return String(body?._csrf ?? upload ?? request.headers['x-csrf-token'] ?? '');
    },
  });
  await setUpStaticAssets(app);

  setUpPageRendering(app, { views: createViewEnvironment(), config: deps.config });
  setUpAuthentication(app, deps);
  setUpUploadCap(app, deps.config);
  setUpTextChecks(app);
  setUpCsrfCheck(app);
  // Before the routes, so that every encapsulated route scope inherits them.
  setUpErrorHandling(app);

  await app.register(async (scope) => healthRoutes(scope, deps));
  await app.register(async (scope) => accountRoutes(scope, deps));
  await app.register(async (scope) => mfaRoutes(scope, deps));
  await app.register(async (scope) => sessionRoutes(scope, deps));
  await app.register(async (scope) => ssoRoutes(scope, deps));
  await app.register(async (scope) => homeRoutes(scope, deps));
  await app.register(async (scope) => orgRoutes(scope, deps));
  await app.register(async (scope) => childrenRoutes(scope, deps));
  await app.register(async (scope) => auditRoutes(scope, deps));
  await app.register(async (scope) => actionRoutes(scope, deps));
  await app.register(async (scope) => activityRoutes(scope, deps));
  await app.register(async (scope) => searchRoutes(scope, deps));
  await app.register(async (scope) => toolRoutes(scope, deps));
  await app.register(async (scope) => reportRoutes(scope, deps));
  await app.register(async (scope) => reportExportRoutes(scope, deps));
  await app.register(async (scope) => reportIssueRoutes(scope, deps));
  await app.register(async (scope) => reportFeedRoutes(scope, deps));
  await app.register(async (scope) => reportFeedApiRoutes(scope, deps), { prefix: '/api/v1' });
  await app.register(async (scope) => scheduleRoutes(scope, deps));
  await app.register(async (scope) => themeRoutes(scope, deps));
  await app.register(async (scope) => roundRoutes(scope, deps));
  await app.register(async (scope) => apiRoutes(scope, deps), { prefix: '/api/v1' });

  return app;
}

/** A hop count becomes proxy-addr's own rule for it: trust the nearest n hops. */
function fastifyTrustProxy(trust: TrustProxy) {
  return typeof trust === 'number' ? (_address: string, hop: number) => hop < trust : trust;
}

async function setUpStaticAssets(app: FastifyInstance) {
  const long = { maxAge: '1d', immutable: false };
  await app.register(fastifyStatic, {
    root: path.join(ROOT_DIR, 'node_modules/govuk-frontend/dist/govuk/assets'),
    prefix: '/assets/govuk/',
    ...long,
  });
  await app.register(fastifyStatic, {
    root: [path.join(ROOT_DIR, 'node_modules/govuk-frontend/dist/govuk'), path.join(SRC_DIR, 'assets/js')],
    prefix: '/assets/js/',
    allowedPath: (pathName) => pathName.endsWith('.js'),
    decorateReply: false,
    ...long,
  });
  await app.register(fastifyStatic, {
    // MOJ's stylesheet asks for its own images (the filter tags' remove cross) and a few of GOV.UK's.
    root: [path.join(ROOT_DIR, 'node_modules/@ministryofjustice/frontend/moj/assets/images'), path.join(ROOT_DIR, 'node_modules/govuk-frontend/dist/govuk/assets/images')],
    prefix: '/assets/moj/images/',
    decorateReply: false,
    ...long,
  });
  await app.register(fastifyStatic, {
    root: path.join(PUBLIC_DIR, 'stylesheets'),
    prefix: '/assets/stylesheets/',
    decorateReply: false,
    ...long,
  });
}

import type { MultipartFile } from '@fastify/multipart';
import type { Principal, Permission } from '../access.ts';
import type { FieldError } from '../errors.ts';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/index.ts';
import type { Clock } from '../clock.ts';
import type { IsoDate } from '../working-days.ts';

/** What the app is built from: the database, the configuration and the one clock of business time. */
export type AppDependencies = { db: Db; config: Config; clock: Clock };

export type RouteAccess = Permission | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may use this route. Every route must say; the app refuses to start otherwise. */
    access?: RouteAccess;
    /** An upload route's own limit on its file, in bytes (below the app's overall limit). */
    uploadFileSize?: number;
  }
  interface FastifyInstance {
    /** Every route and who may use it, as declared: walked by the access test. */
    routeAccessTable: { method: string; url: string; access: RouteAccess }[];
  }
  interface FastifyRequest {
    principal: Principal | null;
    sessionToken: string | null;
    /** True for /api/v1 requests: they answer JSON and authenticate with a bearer token. */
    isApi: boolean;
    /** The moment of this request by the app's one clock: the business time of all it does. */
    at: Date;
    /** The UK calendar day of `at`: the "today" of every rule this request applies. */
    today: IsoDate;
    /**
     * The file of a multipart form, opened by the CSRF check (which reads the form's `_csrf`
     * field, sent before the file); undefined when the form sent none. The route reads it from
     * here: a multipart body can be read once.
     */
    upload: MultipartFile | undefined;
  }
  interface FastifyReply {
    /** Renders a page with the layout's context (user, CSRF token, CSP nonce); never cached. */
    page(template: string, context?: PageContext): FastifyReply;
  }
}

export type PageContext = Record<string, unknown> & { errors?: FieldError[]; values?: Record<string, unknown> };

import { z } from 'zod';
import type { Role } from './db/types.ts';
import { oidcEnvironment, oidcConfigFrom, type OidcConfig } from './platform/auth/oidc-config.ts';

/**
 * The only reader of process.env. Everything else receives a typed Config.
 */
const booleanFlag = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((value) => value === 'true' || value === '1');

const environmentSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().trim().min(1).optional(),
  DATABASE_URL: z.string().url().optional(),
  DATABASE_PREPARED_STATEMENTS: z.enum(['true', 'false', '1', '0']).default('true').transform((value) => value === 'true' || value === '1'),
  DATA_DIR: z.string().default('./data'),
  ALLOW_EMBEDDED_DB: booleanFlag,
  SESSION_SECRET: z.string().min(32).optional(),
  SESSION_IDLE_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(30),
  SESSION_ABSOLUTE_HOURS: z.coerce.number().int().min(1).max(7 * 24).default(12),
  LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).max(100).default(5),
  LOGIN_LOCK_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(15),
  TRUST_PROXY: z.string().trim().optional(),
  SIGN_IN_RATE_LIMIT: z.coerce.number().int().min(1).max(1000).default(10),
  SIGN_IN_RATE_WINDOW_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(15),
  REQUEST_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(60 * 60).default(300),
  IDLE_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(60 * 60).default(60),
  KEEP_ALIVE_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(60 * 60).default(72),
  UNAUTHENTICATED_UPLOADS_MAX: z.coerce.number().int().min(0).max(10_000).default(10),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SERVICE_NAME: z.string().default('Assure'),
  PROTECTIVE_MARKING: z.string().trim().min(1, 'must not be empty').max(60, 'must be 60 characters or fewer').default('OFFICIAL-SENSITIVE'),
  SMTP_URL: z
    .string()
    .url()
    .refine((value) => /^smtps?:\/\//.test(value), 'must start smtp:// or smtps://')
    .optional(),
  MAIL_FROM: z.string().min(3).default('Assure <assure@localhost>'),
  OUTBOX_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(24 * 60 * 60).default(30),
  EMAIL_TRANSPORT: z.enum(['smtp', 'notify']).default('smtp'),
  NOTIFY_API_KEY: z
    .string()
    .trim()
    .regex(/^.+-[0-9a-f-]{36}-[0-9a-f-]{36}$/i, 'must be a GOV.UK Notify API key: {key name}-{service id}-{secret key}')
    .optional(),
  NOTIFY_TEMPLATE_ID: z.string().trim().uuid('must be the id of a GOV.UK Notify e-mail template').optional(),
  NOTIFY_BASE_URL: z.string().url().default('https://api.notifications.service.gov.uk'),
  PUBLIC_URL: z
    .string()
    .url()
    .refine((value) => /^https?:\/\//.test(value), 'must start http:// or https://')
    .transform((value) => value.replace(/\/+$/, ''))
    .optional(),
  REMINDERS_ENABLED: z.enum(['true', 'false', '1', '0']).default('true').transform((value) => value === 'true' || value === '1'),
  REMINDER_HOUR: z.coerce.number().int().min(0).max(23).default(7),
  REMINDER_WINDOW_WORKING_DAYS: z.coerce.number().int().min(0).max(20).default(2),
  REMINDER_INTERVAL_SECONDS: z.coerce.number().int().min(10).max(24 * 60 * 60).default(300),
  ASSURE_TEST_IMPORT_PAUSE_AT: z.enum(['reading', 'final-write', 'commit']).optional(),
  ...oidcEnvironment,
});

export type Config = {
  /** Single sign-on with the council's identity provider; undefined: local accounts only. */
  oidc: OidcConfig | undefined;
  /** Sign-in with e-mail and password; a council with single sign-on may turn it off. */
  localSignIn: boolean;
  /** Roles whose local sign-in always asks for an authenticator code (administrator and QA lead by default). */
  mfaRequiredRoles: Role[];
  environment: 'development' | 'production' | 'test';
  port: number;
  /** The address to listen on; undefined: the caller's default (the demo keeps to this machine). */
  host: string | undefined;
  databaseUrl: string | undefined;
  /** Statements prepared on each PostgreSQL connection (off behind a pooler that cannot keep them). */
  databasePreparedStatements: boolean;
  dataDir: string;
  allowEmbeddedDatabase: boolean;
  sessionSecret: string;
  sessionIdleMinutes: number;
  sessionAbsoluteHours: number;
  loginMaxFailures: number;
  loginLockMinutes: number;
  /** Which proxies' X-Forwarded-* headers are believed: none, a hop count, or their addresses and CIDRs. */
  trustProxy: TrustProxy;
  /** Sign-in attempts allowed per e-mail and address within the window. */
  signInRateLimit: number;
  signInRateWindowMinutes: number;
  /** Served over HTTPS (PUBLIC_URL https://): cookies are Secure and named with the __Host- prefix. */
  secureCookies: boolean;
  /**
   * How long a client may take: to send a whole request, headers and body (requestTimeoutSeconds);
   * to send or receive nothing at all on a connection (idleTimeoutSeconds); to send its next
   * request on a kept-alive connection (keepAliveTimeoutSeconds). Then the connection is closed,
   * so slow or stalled clients cannot hold the server's connections for ever.
   */
  requestTimeoutSeconds: number;
  idleTimeoutSeconds: number;
  keepAliveTimeoutSeconds: number;
  /** How many uploads (multipart) from people not signed in may be open at once; more are refused. */
  unauthenticatedUploadsMax: number;
  logLevel: string;
  serviceName: string;
  /** The protective marking printed on every page of a document that leaves Assure (DOCX, PDF). */
  protectiveMarking: string;
  /** Where the outbox delivers e-mail, e.g. smtp://127.0.0.1:1025; undefined: not configured. */
  smtpUrl: string | undefined;
  mailFrom: string;
  outboxIntervalSeconds: number;
  /** How the outbox delivers: SMTP (smtpUrl) or GOV.UK Notify (notify). */
  emailTransport: 'smtp' | 'notify';
  /** Set when emailTransport is 'notify'. */
  notify: { apiKey: string; templateId: string; baseUrl: string } | undefined;
  /** Where people reach Assure, e.g. https://assure.council.gov.uk: links in e-mails are made absolute with it. */
  publicUrl: string | undefined;
  /** The daily reminder digest: whether it runs, from which hour (UK time), and how far ahead it looks. */
  remindersEnabled: boolean;
  reminderHour: number;
  reminderWindowWorkingDays: number;
  reminderIntervalSeconds: number;
  /** Tests only: the command-line import stops at this named point until killed (restart and crash tests). */
  importPauseAt: 'reading' | 'final-write' | 'commit' | undefined;
};

export class ConfigError extends Error {}

/**
 * Where to listen. The demo, whose passwords are published, keeps to this machine unless HOST
 * says otherwise; Assure itself listens on every interface (behind its load balancer) by default.
 */
export function listenAddress(config: Config, options: { demo: boolean }): { host: string; note: string } {
  if (config.host) return { host: config.host, note: `listening on ${config.host} (HOST)` };
  if (options.demo) return { host: '127.0.0.1', note: "only this machine can reach it, as the demo's passwords are published (set HOST=0.0.0.0 to open it to the network)" };
  return { host: '0.0.0.0', note: 'listening on every interface (set HOST to choose one)' };
}

export type TrustProxy = false | number | string[];

/**
 * TRUST_PROXY names the load balancers whose X-Forwarded-For is believed: a hop count (`1`) or
 * their addresses and CIDRs (`10.0.0.0/8,192.168.1.5`). `true` — believe any client that sends
 * the header — is refused: it lets anyone forge their address, in the log and the rate limit.
 */
export function parseTrustProxy(value: string | undefined): TrustProxy {
  if (value === undefined || value === '' || value === 'false' || value === '0') return false;
  if (value === 'true') {
    throw new ConfigError('TRUST_PROXY=true would believe X-Forwarded-For from anyone: give the number of proxies in front of Assure (1) or their addresses or CIDRs (10.0.0.0/8,192.168.1.5)');
  }
  if (/^\d+$/.test(value)) return Number(value);
  const entries = value.split(',').map((entry) => entry.trim()).filter(Boolean);
  const address = /^(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9a-f:]*:[0-9a-f:.]*)(?:\/\d{1,3})?$/i;
  const named = new Set(['loopback', 'linklocal', 'uniquelocal']);
  const wrong = entries.find((entry) => !address.test(entry) && !named.has(entry));
  if (wrong || entries.length === 0) throw new ConfigError(`Invalid setting TRUST_PROXY: "${wrong ?? value}" is neither a hop count, an IP address nor a CIDR`);
  return entries;
}

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  const parsed = environmentSchema.safeParse(environment);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`Invalid setting ${issue?.path.join('.')}: ${issue?.message}`);
  }
  const env = parsed.data;
  if (env.NODE_ENV === 'production' && !env.SESSION_SECRET) {
    throw new ConfigError('SESSION_SECRET (32 characters or more) is required when NODE_ENV=production');
  }
  if (env.EMAIL_TRANSPORT === 'notify' && (!env.NOTIFY_API_KEY || !env.NOTIFY_TEMPLATE_ID)) {
    throw new ConfigError('EMAIL_TRANSPORT=notify needs NOTIFY_API_KEY and NOTIFY_TEMPLATE_ID (a template with ((subject)) and ((body)))');
  }
  let oidc: OidcConfig | undefined;
  try {
    oidc = oidcConfigFrom(env, env.PUBLIC_URL ?? (env.NODE_ENV === 'production' ? undefined : `http://localhost:${env.PORT}`));
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  if (!env.LOCAL_SIGN_IN && !oidc) throw new ConfigError('LOCAL_SIGN_IN=false needs single sign-on (OIDC_ISSUER and the other OIDC_ settings): nobody could sign in');
  return {
    oidc,
    localSignIn: env.LOCAL_SIGN_IN,
    mfaRequiredRoles: env.MFA_REQUIRED_ROLES,
    environment: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST,
    databaseUrl: env.DATABASE_URL,
    databasePreparedStatements: env.DATABASE_PREPARED_STATEMENTS,
    dataDir: env.DATA_DIR,
    allowEmbeddedDatabase: env.ALLOW_EMBEDDED_DB,
    // Outside production a fixed development secret keeps sessions valid across restarts.
    sessionSecret: env.SESSION_SECRET ?? 'assure-development-secret-not-for-production-use',
    sessionIdleMinutes: env.SESSION_IDLE_MINUTES,
    sessionAbsoluteHours: env.SESSION_ABSOLUTE_HOURS,
    loginMaxFailures: env.LOGIN_MAX_FAILURES,
    loginLockMinutes: env.LOGIN_LOCK_MINUTES,
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    signInRateLimit: env.SIGN_IN_RATE_LIMIT,
    signInRateWindowMinutes: env.SIGN_IN_RATE_WINDOW_MINUTES,
    secureCookies: Boolean(env.PUBLIC_URL?.startsWith('https://')),
    requestTimeoutSeconds: env.REQUEST_TIMEOUT_SECONDS,
    idleTimeoutSeconds: env.IDLE_TIMEOUT_SECONDS,
    keepAliveTimeoutSeconds: env.KEEP_ALIVE_TIMEOUT_SECONDS,
    unauthenticatedUploadsMax: env.UNAUTHENTICATED_UPLOADS_MAX,
    logLevel: env.LOG_LEVEL,
    serviceName: env.SERVICE_NAME,
    protectiveMarking: env.PROTECTIVE_MARKING,
    smtpUrl: env.SMTP_URL,
    mailFrom: env.MAIL_FROM,
    outboxIntervalSeconds: env.OUTBOX_INTERVAL_SECONDS,
    emailTransport: env.EMAIL_TRANSPORT,
    notify:
      env.EMAIL_TRANSPORT === 'notify' ? { apiKey: env.NOTIFY_API_KEY!, templateId: env.NOTIFY_TEMPLATE_ID!, baseUrl: env.NOTIFY_BASE_URL } : undefined,
    // Outside production the links in e-mails lead to this machine, so the demo's e-mails work.
    publicUrl: env.PUBLIC_URL ?? (env.NODE_ENV === 'production' ? undefined : `http://localhost:${env.PORT}`),
    remindersEnabled: env.REMINDERS_ENABLED,
    reminderHour: env.REMINDER_HOUR,
    reminderWindowWorkingDays: env.REMINDER_WINDOW_WORKING_DAYS,
    reminderIntervalSeconds: env.REMINDER_INTERVAL_SECONDS,
    importPauseAt: env.NODE_ENV === 'production' ? undefined : env.ASSURE_TEST_IMPORT_PAUSE_AT,
  };
}

import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { listenAddress, loadConfig, ConfigError } from './config.ts';
import { buildApp } from './app.ts';
import { systemClock } from './platform/clock.ts';
import { openDatabase, DatabaseUnavailableError } from './db/index.ts';
import { migrateToLatest, SchemaNewerThanCodeError } from './db/migrate.ts';
import { buildAssets } from './platform/assets.ts';
import { isEmpty, seedDemoCouncil } from './demo/seed.ts';
import { failInterruptedImports, runningImportIds } from './modules/children/service.ts';
import { sweepUploadSpool } from './modules/children/upload-spool.ts';
import { startMailSink, type MailSink } from './platform/mail-sink.ts';
import { notifyTransport, smtpTransport, startOutboxWorker, type EmailTransport } from './platform/outbox.ts';
import { startReminderWorker } from './modules/reminders/service.ts';

/**
 * Starts Assure: read settings, open and migrate the database, optionally load the demo
 * council into an empty database, listen. Any failure to start is one line and exit 1.
 */
async function main() {
  const config = loadConfig();
  // The one clock of business time for the server, its workers and its SQL.
  const clock = systemClock;
  const withDemo = process.argv.includes('--demo');
  if (!config.databaseUrl && config.environment === 'production' && !config.allowEmbeddedDatabase) {
    throw new ConfigError('refusing to run on the embedded database with NODE_ENV=production; set DATABASE_URL, or ALLOW_EMBEDDED_DB=true for a trial');
  }
  await buildAssets();
  const handle = await openDatabase(config);
  if (!config.databaseUrl && config.environment === 'production') {
    console.warn('WARNING: running production on the embedded database. Use PostgreSQL (DATABASE_URL) for real use.');
  }
  const listening = listenAddress(config, { demo: withDemo });
  let app;
  try {
    await migrateToLatest(handle.db);
    if (withDemo && (await isEmpty(handle.db))) {
      const loaded = await seedDemoCouncil(handle.db, { now: clock.now() });
      console.log(`Loaded the demo council ${loaded.organisation.name}: ${loaded.staff} staff, ${loaded.users} users, ${loaded.children} children, ${loaded.tools} audit tools, ${loaded.audits} audits at every stage of their life and ${loaded.pastAudits} closed over the last two years.`);
    }
    // Imports whose process has gone are failed and their spooled uploads deleted; imports a
    // live process is running (another server, the command line) are left alone.
    await failInterruptedImports(handle.db, clock);
    await sweepUploadSpool(path.resolve(config.dataDir, 'uploads'), await runningImportIds(handle.db));
    app = await buildApp({ db: handle.db, config, clock });
    await app.listen({ port: config.port, host: listening.host });
  } catch (error) {
    await handle.close();
    throw error;
  }
  // The port actually bound: PORT=0 asks the system for a free one.
  const port = (app.server.address() as AddressInfo | null)?.port ?? config.port;
  const shownHost = listening.host === '0.0.0.0' ? 'localhost' : listening.host;
  console.log(`Assure is listening on http://${shownHost}:${port} (${handle.driver === 'pglite' ? `embedded database in ${config.dataDir}` : 'PostgreSQL'}); ${listening.note}`);

  // E-mail: the outbox is delivered by SMTP or GOV.UK Notify. The demo, without either, runs
  // a local catch-all SMTP server that files every message under DATA_DIR/mail as .eml files.
  let sink: MailSink | undefined;
  let transport: (EmailTransport & { close?(): void }) | undefined;
  if (config.notify) {
    transport = notifyTransport(config.notify);
    console.log(`E-mail is sent through GOV.UK Notify (${config.notify.baseUrl})`);
  } else {
    if (!config.smtpUrl && withDemo) {
      sink = await startMailSink({ port: 0, folder: path.resolve(config.dataDir, 'mail') });
      console.log(`Demo e-mail is caught by a local SMTP server and filed in ${path.resolve(config.dataDir, 'mail')}`);
    }
    const smtpUrl = config.smtpUrl ?? sink?.url;
    transport = smtpUrl ? smtpTransport({ url: smtpUrl, from: config.mailFrom }) : undefined;
    if (!transport) console.warn('No SMTP_URL: e-mails are kept in the outbox until one is set.');
  }
  if (transport && !config.publicUrl) console.warn('No PUBLIC_URL: links in e-mails are relative until it is set.');
  const worker = transport ? startOutboxWorker({ db: handle.db, clock, transport, intervalMs: config.outboxIntervalSeconds * 1000, logger: app.log, publicUrl: config.publicUrl }) : undefined;

  // The daily reminder digests: queued in the outbox from REMINDER_HOUR, once a working day.
  const reminders = config.remindersEnabled
    ? startReminderWorker({
        db: handle.db,
        clock,
        intervalMs: config.reminderIntervalSeconds * 1000,
        hour: config.reminderHour,
        windowWorkingDays: config.reminderWindowWorkingDays,
        serviceName: config.serviceName,
        logger: app.log,
        onQueued: () => worker?.wake(),
      })
    : undefined;

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping`);
    await app.close();
    await reminders?.stop();
    await worker?.stop();
    transport?.close?.();
    await sink?.close();
    await handle.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  const known = error instanceof ConfigError || error instanceof DatabaseUnavailableError || error instanceof SchemaNewerThanCodeError;
  console.error(`Assure cannot start: ${known ? (error as Error).message : String((error as Error)?.stack ?? error)}`);
  process.exit(1);
});

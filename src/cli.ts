import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { loadConfig, ConfigError, type Config } from './config.ts';
import { systemClock } from './platform/clock.ts';
import { openDatabase, DatabaseUnavailableError, type Db } from './db/index.ts';
import { migrateToLatest, SchemaNewerThanCodeError } from './db/migrate.ts';
import type { Role, Scope } from './db/types.ts';
import { ROLES } from './platform/access.ts';
import { AppError } from './platform/errors.ts';
import { isEmpty, seedDemoCouncil } from './demo/seed.ts';
import { createOrganisation, createUser, findOrganisationBySlug, listOrganisations } from './modules/org/service.ts';
import { createApiToken, TOKEN_LIFETIMES_DAYS } from './modules/account/service.ts';
import { findUserByEmail } from './platform/auth/queries.ts';
import { checkToolFile, importToolEdition, loadBuiltInTools, toolErrorLine } from './modules/tools/library.ts';
import type { ToolFileError } from './modules/tools/tool-file.ts';

/**
 * assure <command>: the command line. Each command validates its input, prints a clear
 * one-line error and exits non-zero on bad input, and changes nothing when it fails.
 */
class UsageError extends Error {}
/** A file that is not valid: its problems are printed first, one a line; exits 1. */
class InvalidFileError extends Error {}

type Command = { summary: string; usage: string } & (
  | { run: (db: Db, args: string[]) => Promise<void> }
  /** Commands that only read files: they never open (or even configure) the database. */
  | { offline: (args: string[]) => Promise<void> }
);

const COMMANDS: Record<string, Command> = {
  migrate: {
    summary: 'apply database migrations',
    usage: 'migrate',
    run: async (db) => {
      const applied = await migrateToLatest(db);
      console.log(applied.length ? `Applied ${applied.join(', ')}` : 'The database is up to date');
    },
  },
  'seed-demo': {
    summary: 'load the demo council into an empty database',
    usage: 'seed-demo',
    run: async (db) => {
      await migrateToLatest(db);
      if (!(await isEmpty(db))) throw new UsageError('the database already holds an organisation; the demo is loaded only into an empty database');
      const loaded = await seedDemoCouncil(db, { now: systemClock.now() });
      console.log(`Loaded ${loaded.organisation.name}: ${loaded.staff} staff, ${loaded.users} users, ${loaded.children} children, ${loaded.tools} audit tool edition(s), ${loaded.audits} audits`);
    },
  },
  'create-organisation': {
    summary: 'create an organisation (a council)',
    usage: 'create-organisation --name "Avonford City Council" --slug avonford',
    run: async (db, args) => {
      const { values } = parseArgs({ args, options: { name: { type: 'string' }, slug: { type: 'string' } } });
      const input = z
        .object({ name: z.string().trim().min(1, '--name is required'), slug: z.string().regex(/^[a-z0-9-]{2,40}$/, '--slug must be 2–40 lower-case letters, digits or hyphens') })
        .parse(values);
      if (await findOrganisationBySlug(db, input.slug)) throw new UsageError(`an organisation with slug ${input.slug} already exists`);
      // The organisation and its built-in audit tools, together or not at all.
      const { organisation, tools } = await db.transaction().execute(async (trx) => {
        const created = await createOrganisation(trx, input);
        return { organisation: created, tools: await loadBuiltInTools(trx, created.id, commandActor(created.id)) };
      });
      console.log(`Created organisation ${organisation.name} (${organisation.slug}) with ${tools.length} built-in audit tool edition(s)`);
    },
  },
  'create-user': {
    summary: 'create a user with a role',
    usage: 'create-user --email E --name "Full Name" --password P --role administrator [--scope organisation] [--org SLUG]',
    run: async (db, args) => {
      const { values } = parseArgs({
        args,
        options: { email: { type: 'string' }, name: { type: 'string' }, password: { type: 'string' }, role: { type: 'string', multiple: true }, scope: { type: 'string' }, org: { type: 'string' } },
      });
      const input = z
        .object({
          email: z.string().email('--email must be an e-mail address'),
          name: z.string().trim().min(1, '--name is required'),
          password: z.string().min(12, '--password must be at least 12 characters'),
          role: z.array(z.enum(ROLES as [Role, ...Role[]], { message: `--role must be one of ${ROLES.join(', ')}` })).min(1, '--role is required'),
          scope: z.enum(['organisation', 'service', 'team']).default('organisation'),
          org: z.string().optional(),
        })
        .parse(values);
      const organisationId = await resolveOrganisation(db, input.org);
      if (await findUserByEmail(db, input.email)) throw new UsageError(`a user with e-mail ${input.email} already exists`);
      const user = await db.transaction().execute((trx) =>
        createUser(trx, {
          organisationId,
          email: input.email,
          displayName: input.name,
          password: input.password,
          grants: input.role.map((role) => ({ role, scope: input.scope as Scope })),
        }),
      );
      console.log(`Created user ${user.email} (${input.role.join(', ')})`);
    },
  },
  'create-token': {
    summary: 'create a personal API token for a user (printed once)',
    usage: 'create-token --user EMAIL [--name NAME] [--days 30|90|180|365]',
    run: async (db, args) => {
      const { values } = parseArgs({ args, options: { user: { type: 'string' }, name: { type: 'string' }, days: { type: 'string' } } });
      const input = z
        .object({
          user: z.string().email('--user must be the e-mail address of a user'),
          name: z.string().default('Command line'),
          days: z.coerce
            .number()
            .default(90)
            .refine((days) => (TOKEN_LIFETIMES_DAYS as readonly number[]).includes(days), `--days must be one of ${TOKEN_LIFETIMES_DAYS.join(', ')}`),
        })
        .parse(values);
      const user = await findUserByEmail(db, input.user);
      if (!user) throw new UsageError(`no user has the e-mail address ${input.user}`);
      const expiresAt = new Date(systemClock.now().getTime() + input.days * 86_400_000);
      const token = await createApiToken(db, { userId: user.id, organisationId: user.organisation_id, name: input.name, expiresAt });
      console.log(token);
    },
  },
  'import-staff': {
    summary: 'import staff from a CSV file (all rows or none)',
    usage: 'import-staff FILE [--org SLUG]',
    run: async (db, args) => {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { org: { type: 'string' } } });
      const file = requireFile(positionals[0]);
      const organisationId = await resolveOrganisation(db, values.org);
      const { importStaff } = await import('./modules/org/staff-import.ts');
      const result = await importStaff(db, { organisationId, actor: commandActor(organisationId), input: fs.createReadStream(file) });
      if (!result.ok) {
        for (const error of result.errors) console.error(`row ${error.row}, ${error.column}: ${error.reason}`);
        throw new UsageError(`${result.errors.length} invalid row(s); nothing was imported`);
      }
      console.log(`Imported staff: ${result.created} created, ${result.updated} updated`);
    },
  },
  'validate-tool': {
    summary: 'check audit-tool files without loading them (never opens the database)',
    usage: 'validate-tool FILE [FILE…]',
    offline: async (args) => {
      const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
      if (positionals.length === 0) throw new UsageError('name the tool file to check');
      let invalid = 0;
      for (const file of positionals.map(requireFile)) {
        const result = checkToolFile(fs.readFileSync(file), file);
        if (result.ok) console.log(`${file}: valid — ${result.tool.name} edition ${result.tool.edition}`);
        else {
          printToolErrors(file, result.errors);
          invalid++;
        }
      }
      if (invalid > 0) throw new InvalidFileError(invalid === 1 && positionals.length === 1 ? `${positionals[0]} is not a valid tool file` : `${invalid} of ${positionals.length} files are not valid tool files`);
    },
  },
  'import-tool': {
    summary: 'load an audit-tool file into the library as a published edition',
    usage: 'import-tool FILE [--org SLUG]',
    run: async (db, args) => {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { org: { type: 'string' } } });
      const file = requireFile(positionals[0]);
      const bytes = fs.readFileSync(file);
      const checked = checkToolFile(bytes, file);
      if (!checked.ok) {
        printToolErrors(file, checked.errors);
        throw new InvalidFileError(`${file} is not a valid tool file; nothing was loaded`);
      }
      const organisationId = await resolveOrganisation(db, values.org);
      const result = await importToolEdition(db, organisationId, bytes, path.basename(file), commandActor(organisationId));
      if (result.status === 'invalid') {
        printToolErrors(file, result.errors);
        throw new InvalidFileError(`${file} is not a valid tool file; nothing was loaded`);
      }
      if (result.status === 'conflict') throw new InvalidFileError(`${file}: ${result.message}`);
      console.log(result.message);
    },
  },
  'import-children': {
    summary: 'import a case-management extract (CSV or XLSX; all rows or none; closes nobody unless --close-missing)',
    usage: 'import-children FILE [--dry-run] [--close-missing [--close-many]] [--org SLUG]',
    run: async (db, args) => {
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { org: { type: 'string' }, 'dry-run': { type: 'boolean' }, 'close-missing': { type: 'boolean' }, 'close-many': { type: 'boolean' }, partial: { type: 'boolean' } },
      });
      const file = requireFile(positionals[0]);
      if (!/\.(csv|xlsx)$/i.test(file)) throw new UsageError(`${file} must be a CSV or XLSX file (.csv or .xlsx)`);
      const organisationId = await resolveOrganisation(db, values.org);
      const { importChildrenNow } = await import('./modules/children/service.ts');
      const pauseAt = config.importPauseAt;
      const outcome = await importChildrenNow(db, {
        organisationId,
        actor: commandActor(organisationId),
        path: file,
        filename: path.basename(file),
        closeMissing: values['close-missing'] === true,
        dryRun: values['dry-run'] === true,
        confirmManyClosures: values['close-many'] === true,
        source: 'command',
        clock: systemClock,
        onProgress: (rows: number) => process.stderr.write(`\r${rows.toLocaleString('en-GB')} rows read`),
        pause: pauseAt ? (point) => pauseForTest(point, pauseAt) : undefined,
      });
      process.stderr.write('\n');
      if (outcome.status === 'failed') {
        for (const error of outcome.errors) console.error(`${(error as { sheet?: string }).sheet ? `sheet ${(error as { sheet?: string }).sheet}, ` : ''}row ${error.rowNumber}, ${error.column}: ${error.reason}`);
        throw new UsageError(`${outcome.errorCount} ${outcome.errorCount === 1 ? 'problem' : 'problems'}; nothing was imported`);
      }
      const preview = outcome.preview!;
      const closing = values['close-missing'] ? `, closes ${preview.closes} of ${preview.openCount} open children` : ' (closes nobody: add --close-missing to close the open children missing from a full extract)';
      console.log(`${values['dry-run'] ? 'Would import' : 'Import'}: adds ${preview.adds}, updates ${preview.updates}${closing}; ${preview.unchanged} unchanged`);
      if (preview.closes > 0) {
        console.log(`${values['dry-run'] ? 'It would close' : 'Closing'}, first: ${preview.firstClosures.map((child) => child.externalId).join(', ')}${preview.closes > preview.firstClosures.length ? ', …' : ''}`);
      }
      if (outcome.status === 'discarded') {
        if (values['dry-run']) return console.log('Dry run: nothing was changed.');
        throw new InvalidFileError(`${outcome.message ?? 'nothing was imported'} (add --close-many)`);
      }
      console.log(`Imported children: ${outcome.createdCount} created, ${outcome.updatedCount} updated, ${outcome.closedCount} closed`);
    },
  },
};

/** Tests only (never in production): say where the import stopped, then wait to be killed. */
async function pauseForTest(point: string, pauseAt: string) {
  if (point !== pauseAt) return;
  process.stderr.write(`\npaused at ${point}\n`);
  await new Promise(() => setInterval(() => {}, 60_000));
}

/** The command line acts as itself, at the system clock's time (a command has no other clock). */
function commandActor(organisationId: string) {
  return { principal: null, ipAddress: null, at: systemClock.now(), label: 'command line', organisationId };
}

function requireFile(file: string | undefined): string {
  if (!file) throw new UsageError('name the file to import');
  if (!fs.existsSync(file)) throw new UsageError(`no such file: ${file}`);
  if (!fs.statSync(file).isFile()) throw new UsageError(`not a file: ${file}`);
  return file;
}

function printToolErrors(file: string, errors: ToolFileError[]) {
  for (const error of errors) console.error(toolErrorLine(file, error));
}

async function resolveOrganisation(db: Db, slug: string | undefined): Promise<string> {
  if (slug) {
    const organisation = await findOrganisationBySlug(db, slug);
    if (!organisation) throw new UsageError(`no organisation has the slug ${slug}`);
    return organisation.id;
  }
  const organisations = await listOrganisations(db);
  if (organisations.length === 1) return organisations[0]!.id;
  if (organisations.length === 0) throw new UsageError('there is no organisation yet: run create-organisation or seed-demo first');
  throw new UsageError(`there are several organisations: choose one with --org (${organisations.map((o) => o.slug).join(', ')})`);
}

function usage(): string {
  const lines = Object.values(COMMANDS).map((command) => `  ${command.usage.padEnd(60)} ${command.summary}`);
  return `Usage: assure <command>\n\nCommands:\n${lines.join('\n')}\n`;
}

let config: Config;

async function main(argv: string[]) {
  const [name, ...args] = argv;
  if (!name || name === 'help' || name === '--help') {
    process.stdout.write(usage());
    return;
  }
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`unknown command "${name}". Run "assure help" for the list`);
  if ('offline' in command) return command.offline(args);
  config = loadConfig();
  const handle = await openDatabase(config);
  try {
    if (name !== 'migrate') await migrateToLatest(handle.db);
    await command.run(handle.db, args);
  } finally {
    await handle.close();
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`assure: ${describe(error)}`);
  process.exit(isUsageError(error) ? 2 : 1);
});

/** Bad arguments (exit 2), as opposed to a refused or failed command (exit 1). */
function isUsageError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof UsageError || error instanceof z.ZodError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'));
}

function describe(error: unknown): string {
  if (error instanceof z.ZodError) return error.issues.map((issue) => issue.message).join('; ');
  if (error instanceof AppError) return [error.message, ...error.fieldErrors.map((e) => e.message)].join('; ');
  if (error instanceof UsageError || error instanceof InvalidFileError || error instanceof ConfigError || error instanceof DatabaseUnavailableError || error instanceof SchemaNewerThanCodeError) {
    return error.message;
  }
  if (error instanceof Error && error.message) return error.message;
  return String(error);
}

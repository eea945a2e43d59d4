import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AppDependencies } from '../../platform/http/types.ts';
import type { Db } from '../../db/index.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Role, Scope } from '../../db/types.ts';
import { can, ROLE_LABELS, ROLES, SCOPE_LABELS } from '../../platform/access.ts';
import type { Actor } from '../../platform/activity.ts';
import { notFound, type FieldError } from '../../platform/errors.ts';
import { fieldErrorsFrom, paginationLinks } from '../../platform/views.ts';
import * as queries from './queries.ts';
import {
  addRoleGrant,
  addUser,
  isoDate,
  removeRoleGrant,
  saveLocality,
  saveService,
  saveStaff,
  saveTeam,
  setAccountDisabled,
  unlockAccount,
  type Outcome,
} from './service.ts';
import { importStaff, STAFF_IMPORT_COLUMNS } from './staff-import.ts';
import { bankHolidayCoverage, bankHolidaySettings, loadBankHolidayFile, setBankHolidayDivision } from './calendar.ts';
import { timescaleRoutes } from './timescales.ts';
import { DIVISION_NAMES } from '../../platform/bank-holidays/schema.ts';
import { DIVISIONS, type Division } from '../../platform/working-days.ts';

const STAFF_PAGE_SIZE = 50;

/** Confirmations after a redirect: a fixed list, so nothing from the address is echoed. */
const DONE: Record<string, string> = {
  'locality-added': 'Locality added',
  'locality-saved': 'Locality renamed',
  'service-added': 'Service added',
  'service-saved': 'Service saved',
  'team-added': 'Team added',
  'team-saved': 'Team saved',
  'staff-added': 'Staff member added',
  'staff-saved': 'Staff member saved',
  'user-added': 'User added. Give them a role below.',
  'role-added': 'Role added',
  'role-removed': 'Role removed',
  unlocked: 'Account unlocked',
  disabled: 'Account disabled: they have been signed out and cannot sign in',
  enabled: 'Account enabled',
  'mfa-reset': 'Authenticator app reset: they set it up again when they next sign in, and have been signed out',
  'division-saved': 'Bank holidays changed: new due dates follow them',
  'bank-holidays-loaded': 'Bank holidays file loaded: new due dates follow it',
};

// ——— Forms ———

const text = (label: string, max = 200) =>
  z
    .string({ error: `Enter ${label}` })
    .trim()
    .min(1, `Enter ${label}`)
    .max(max, `${label[0]!.toUpperCase()}${label.slice(1)} must be ${max} characters or fewer`);

/** An optional choice from a select: '' is "none"; anything else must be an id. */
const optionalId = (message: string) =>
  z
    .string()
    .trim()
    .optional()
    .transform((value) => value || null)
    .pipe(z.string().uuid(message).nullable());

const version = z.coerce.number().int().min(0).optional();

const localityForm = z.object({ name: text('the name of the locality', 100), version });
const serviceForm = z.object({
  name: text('the name of the service', 100),
  localityId: optionalId('Choose a locality from the list'),
  defaultToolId: optionalId('Choose an audit tool from the list'),
  version,
});
const teamForm = z.object({
  name: text('the name of the team', 100),
  serviceId: z.string({ error: 'Choose a service' }).trim().min(1, 'Choose a service').uuid('Choose a service from the list'),
  localityId: optionalId('Choose a locality from the list'),
  version,
});

const staffForm = z.object({
  fullName: text('the full name'),
  jobTitle: text('the job title'),
  staffNumber: z
    .string()
    .trim()
    .max(50, 'Staff number must be 50 characters or fewer')
    .optional()
    .transform((value) => value || null),
  email: z
    .string()
    .trim()
    .max(254, 'E-mail address must be 254 characters or fewer')
    .optional()
    .transform((value) => value || null)
    .pipe(z.string().email('Enter an e-mail address in the correct format, like name@example.org').nullable()),
  teamId: optionalId('Choose a team from the list'),
  lineManagerId: optionalId('Choose a line manager from the list'),
  version,
});

const userForm = z.object({
  email: z
    .string({ error: 'Enter an e-mail address' })
    .trim()
    .min(1, 'Enter an e-mail address')
    .max(254, 'E-mail address must be 254 characters or fewer')
    .email('Enter an e-mail address in the correct format, like name@example.org'),
  displayName: text('the name', 100),
  staffId: optionalId('Choose a staff member from the list'),
  password: z.string({ error: 'Enter an initial password' }).min(1, 'Enter an initial password'),
});

const grantForm = z.object({
  role: z.enum(ROLES as [Role, ...Role[]], { error: 'Choose a role' }),
  scope: z.enum(['team', 'service', 'organisation'], { error: 'Choose what the role reaches' }),
  teamId: optionalId('Choose a team from the list'),
  serviceId: optionalId('Choose a service from the list'),
});

const staffQuery = z.object({
  team: z.string().uuid().optional().catch(undefined),
  q: z.string().trim().max(100).optional().catch(undefined),
  page: z.coerce.number().int().min(1).max(100_000).optional().catch(undefined),
});

type Body = Record<string, unknown>;

/** A GOV.UK date input (day, month, year) as 'YYYY-MM-DD', null when left blank, or an error on the first wrong part. */
function dateFromParts(body: Body, name: string, label: string): { value: string | null; error?: FieldError } {
  const parts = (['day', 'month', 'year'] as const).map((part) => ({ part, text: String(body[`${name}-${part}`] ?? '').trim() }));
  if (parts.every((part) => part.text === '')) return { value: null };
  const missing = parts.filter((part) => part.text === '');
  if (missing.length) {
    return { value: null, error: { field: `${name}-${missing[0]!.part}`, message: `${label} must include a ${missing.map((part) => part.part).join(' and ')}` } };
  }
  const [day, month, year] = parts.map((part) => part.text);
  if (!/^\d{4}$/.test(year!)) return { value: null, error: { field: `${name}-year`, message: 'Year must include 4 numbers' } };
  const value = /^\d{1,2}$/.test(day!) && /^\d{1,2}$/.test(month!) ? isoDate(Number(year), Number(month), Number(day)) : null;
  if (!value) return { value: null, error: { field: `${name}-day`, message: `${label} must be a real date` } };
  return { value };
}

function dateParts(name: string, value: string | null): Record<string, string> {
  const [year, month, day] = value ? value.split('-') : ['', '', ''];
  return { [`${name}-day`]: day ? String(Number(day)) : '', [`${name}-month`]: month ? String(Number(month)) : '', [`${name}-year`]: year ?? '' };
}

/** Errors in the order the form asks its questions, so the summary reads top to bottom. */
function inFormOrder(errors: FieldError[], order: string[]): FieldError[] {
  const rank = (field: string) => {
    const index = order.findIndex((name) => field === name || field.startsWith(`${name}-`));
    return index === -1 ? order.length : index;
  };
  return [...errors].sort((a, b) => rank(a.field) - rank(b.field));
}

// ——— Small helpers ———

const actorOf = (request: FastifyRequest): Actor => ({ principal: request.principal, ipAddress: request.ip, at: request.at });
const orgOf = (request: FastifyRequest) => request.principal!.organisationId;

function idParam(request: FastifyRequest, name = 'id'): string {
  const value = (request.params as Record<string, string>)[name];
  const parsed = z.string().uuid().safeParse(value);
  if (!parsed.success) throw notFound();
  return parsed.data;
}

function doneMessage(request: FastifyRequest): string | undefined {
  const done = (request.query as Record<string, unknown>).done;
  return typeof done === 'string' ? DONE[done] : undefined;
}

function options<T extends { id: string; name: string }>(rows: T[]) {
  return rows.map((row) => ({ value: row.id, text: row.name }));
}

function staffOptions(rows: Awaited<ReturnType<typeof queries.listStaffOptions>>, exceptId?: string) {
  return rows
    .filter((row) => row.id !== exceptId)
    .map((row) => ({ value: row.id, text: `${row.full_name}${row.staff_number ? ` (${row.staff_number})` : ''}, ${row.job_title}` }));
}

function describeGrant(grant: { role: Role; scope: Scope; team_name: string | null; service_name: string | null }) {
  const place = grant.scope === 'team' ? grant.team_name : grant.scope === 'service' ? grant.service_name : null;
  return { role: ROLE_LABELS[grant.role], scope: `${SCOPE_LABELS[grant.scope]}${place ? `: ${place}` : ''}` };
}


export async function orgRoutes(app: FastifyInstance, { db, clock }: AppDependencies) {
  structureRoutes(app, db);
  staffRoutes(app, db);
  userRoutes(app, db, clock);
  bankHolidayRoutes(app, db);
  timescaleRoutes(app, db);
}

// ——— Overview, localities, services, teams ———

function structureRoutes(app: FastifyInstance, db: Db) {
  app.get('/organisation', { config: { access: 'org.view' } }, async (request, reply) => {
    const org = orgOf(request);
    const organisation = await db.selectFrom('organisations').select('name').where('id', '=', org).executeTakeFirstOrThrow();
    return reply.page('org/views/overview.njk', {
      organisation,
      services: await queries.listServices(db, org),
      localities: await queries.listLocalities(db, org),
      teams: await queries.listTeams(db, org),
      canManage: can(request.principal, 'org.manage'),
      flash: doneMessage(request),
    });
  });

  app.get('/organisation/localities', { config: { access: 'org.view' } }, async (request, reply) => {
    return reply.page('org/views/localities.njk', {
      localities: await queries.listLocalities(db, orgOf(request)),
      canManage: can(request.principal, 'org.manage'),
      flash: doneMessage(request),
    });
  });

  const localityPage = (reply: FastifyReply, context: Record<string, unknown>, status = 200) => reply.code(status).page('org/views/locality-form.njk', context);

  app.get('/organisation/localities/new', { config: { access: 'org.manage' } }, async (_request, reply) => localityPage(reply, { values: {} }));

  app.get('/organisation/localities/:id/edit', { config: { access: 'org.manage' } }, async (request, reply) => {
    const locality = await queries.findLocality(db, orgOf(request), idParam(request));
    if (!locality) throw notFound('Locality');
    return localityPage(reply, { locality, values: { name: locality.name, version: locality.version } });
  });

  const saveLocalityRoute = async (request: FastifyRequest, reply: FastifyReply, id?: string) => {
    const body = request.body as Body;
    const locality = id ? await queries.findLocality(db, orgOf(request), id) : undefined;
    if (id && !locality) throw notFound('Locality');
    const parsed = localityForm.safeParse(body);
    const outcome: Outcome<unknown> = parsed.success
      ? await saveLocality(db, actorOf(request), { id, version: parsed.data.version, name: parsed.data.name })
      : { ok: false, status: 400, errors: fieldErrorsFrom(parsed.error) };
    if (!outcome.ok) {
      const current = outcome.status === 409 ? await queries.findLocality(db, orgOf(request), id!) : undefined;
      return localityPage(reply, { locality, current, values: withVersion(body, outcome, current), errors: outcome.errors }, outcome.status);
    }
    return reply.redirect(`/organisation/localities?done=${id ? 'locality-saved' : 'locality-added'}`, 303);
  };
  app.post('/organisation/localities/new', { config: { access: 'org.manage' } }, (request, reply) => saveLocalityRoute(request, reply));
  app.post('/organisation/localities/:id/edit', { config: { access: 'org.manage' } }, (request, reply) => saveLocalityRoute(request, reply, idParam(request)));

  const servicePage = async (request: FastifyRequest, reply: FastifyReply, context: Record<string, unknown>, status = 200) =>
    reply.code(status).page('org/views/service-form.njk', {
      ...context,
      localities: options(await queries.listLocalities(db, orgOf(request))),
      tools: (await queries.listToolChoices(db, orgOf(request))).map((tool) => ({ value: tool.id, text: tool.name })),
    });

  app.get('/organisation/services/new', { config: { access: 'org.manage' } }, async (request, reply) => servicePage(request, reply, { values: {} }));

  app.get('/organisation/services/:id/edit', { config: { access: 'org.manage' } }, async (request, reply) => {
    const service = await queries.findService(db, orgOf(request), idParam(request));
    if (!service) throw notFound('Service');
    const defaultToolId = await queries.findServiceDefaultTool(db, orgOf(request), service.id);
    return servicePage(request, reply, { service, values: { name: service.name, localityId: service.locality_id, defaultToolId, version: service.version } });
  });

  const saveServiceRoute = async (request: FastifyRequest, reply: FastifyReply, id?: string) => {
    const body = request.body as Body;
    const service = id ? await queries.findService(db, orgOf(request), id) : undefined;
    if (id && !service) throw notFound('Service');
    const parsed = serviceForm.safeParse(body);
    const outcome: Outcome<unknown> = parsed.success
      ? await saveService(db, actorOf(request), { id, ...parsed.data })
      : { ok: false, status: 400, errors: fieldErrorsFrom(parsed.error) };
    if (!outcome.ok) {
      const current = outcome.status === 409 ? await queries.findService(db, orgOf(request), id!) : undefined;
      return servicePage(request, reply, { service, current, values: withVersion(body, outcome, current), errors: outcome.errors }, outcome.status);
    }
    return reply.redirect(`/organisation?done=${id ? 'service-saved' : 'service-added'}`, 303);
  };
  app.post('/organisation/services/new', { config: { access: 'org.manage' } }, (request, reply) => saveServiceRoute(request, reply));
  app.post('/organisation/services/:id/edit', { config: { access: 'org.manage' } }, (request, reply) => saveServiceRoute(request, reply, idParam(request)));

  const teamPage = async (request: FastifyRequest, reply: FastifyReply, context: Record<string, unknown>, status = 200) =>
    reply.code(status).page('org/views/team-form.njk', {
      ...context,
      services: options(await queries.listServices(db, orgOf(request))),
      localities: options(await queries.listLocalities(db, orgOf(request))),
    });

  app.get('/organisation/teams/new', { config: { access: 'org.manage' } }, async (request, reply) => teamPage(request, reply, { values: {} }));

  app.get('/organisation/teams/:id/edit', { config: { access: 'org.manage' } }, async (request, reply) => {
    const team = await queries.findTeam(db, orgOf(request), idParam(request));
    if (!team) throw notFound('Team');
    return teamPage(request, reply, { team, values: { name: team.name, serviceId: team.service_id, localityId: team.locality_id, version: team.version } });
  });

  const saveTeamRoute = async (request: FastifyRequest, reply: FastifyReply, id?: string) => {
    const body = request.body as Body;
    const team = id ? await queries.findTeam(db, orgOf(request), id) : undefined;
    if (id && !team) throw notFound('Team');
    const parsed = teamForm.safeParse(body);
    const outcome: Outcome<unknown> = parsed.success
      ? await saveTeam(db, actorOf(request), { id, ...parsed.data })
      : { ok: false, status: 400, errors: fieldErrorsFrom(parsed.error) };
    if (!outcome.ok) {
      const current = outcome.status === 409 ? await queries.findTeam(db, orgOf(request), id!) : undefined;
      return teamPage(request, reply, { team, current, values: withVersion(body, outcome, current), errors: outcome.errors }, outcome.status);
    }
    return reply.redirect(`/organisation?done=${id ? 'team-saved' : 'team-added'}`, 303);
  };
  app.post('/organisation/teams/new', { config: { access: 'org.manage' } }, (request, reply) => saveTeamRoute(request, reply));
  app.post('/organisation/teams/:id/edit', { config: { access: 'org.manage' } }, (request, reply) => saveTeamRoute(request, reply, idParam(request)));
}

/**
 * The form again with what the user typed. After a stale save it carries the record's new
 * version, so saving again deliberately keeps the user's changes over the other person's.
 */
function withVersion(body: Body, outcome: Outcome<unknown>, current: { version: number } | null | undefined): Body {
  return !outcome.ok && outcome.status === 409 && current ? { ...body, version: current.version } : body;
}

// ——— Staff ———

const STAFF_FIELDS = ['fullName', 'jobTitle', 'staffNumber', 'email', 'teamId', 'lineManagerId', 'startDate', 'leavingDate', 'current-record'];

function staffRoutes(app: FastifyInstance, db: Db) {
  app.get('/organisation/staff', { config: { access: 'org.view' } }, async (request, reply) => {
    const org = orgOf(request);
    const query = staffQuery.parse(request.query);
    const page = query.page ?? 1;
    const { rows, total } = await queries.listStaff(db, org, {
      teamId: query.team,
      search: query.q,
      limit: STAFF_PAGE_SIZE,
      offset: (page - 1) * STAFF_PAGE_SIZE,
    });
    const teams = await queries.listTeams(db, org);
    const pages = Math.max(1, Math.ceil(total / STAFF_PAGE_SIZE));
    return reply.page('org/views/staff-list.njk', {
      staff: rows,
      total,
      teams: options(teams),
      filter: { team: query.team ?? '', q: query.q ?? '' },
      teamName: teams.find((team) => team.id === query.team)?.name,
      firstShown: total ? (page - 1) * STAFF_PAGE_SIZE + 1 : 0,
      lastShown: Math.min(page * STAFF_PAGE_SIZE, total),
      pagination: paginationLinks('/organisation/staff', presentParams({ team: query.team, q: query.q }), page, pages),
      canManage: can(request.principal, 'org.manage'),
      flash: doneMessage(request),
    });
  });

  const staffPage = async (request: FastifyRequest, reply: FastifyReply, context: Record<string, unknown> & { staff?: { id: string } }, status = 200) => {
    const org = orgOf(request);
    const errors = (context.errors ?? []) as FieldError[];
    const dateError = (name: string) => {
      const found = errors.find((error) => error.field.startsWith(`${name}-`));
      return found ? { text: found.message } : undefined;
    };
    return reply.code(status).page('org/views/staff-form.njk', {
      ...context,
      teams: options(await queries.listTeams(db, org)),
      managers: staffOptions(await queries.listStaffOptions(db, org), context.staff?.id),
      dateErrors: { startDate: dateError('startDate'), leavingDate: dateError('leavingDate') },
    });
  };

  app.get('/organisation/staff/new', { config: { access: 'org.manage' } }, async (request, reply) => staffPage(request, reply, { values: {} }));

  app.get('/organisation/staff/:id/edit', { config: { access: 'org.manage' } }, async (request, reply) => {
    const staff = await queries.findStaff(db, orgOf(request), idParam(request));
    if (!staff) throw notFound('Staff member');
    return staffPage(request, reply, { staff, values: staffValues(staff) });
  });

  const saveStaffRoute = async (request: FastifyRequest, reply: FastifyReply, id?: string) => {
    const org = orgOf(request);
    const body = request.body as Body;
    const staff = id ? await queries.findStaff(db, org, id) : undefined;
    if (id && !staff) throw notFound('Staff member');
    const parsed = staffForm.safeParse(body);
    const start = dateFromParts(body, 'startDate', 'Start date');
    const leaving = dateFromParts(body, 'leavingDate', 'Leaving date');
    const formErrors = [...(parsed.success ? [] : fieldErrorsFrom(parsed.error)), ...[start.error, leaving.error].filter((error) => error !== undefined)];
    const outcome: Outcome<unknown> =
      parsed.success && formErrors.length === 0
        ? await saveStaff(db, actorOf(request), {
            id,
            version: parsed.data.version,
            fields: {
              fullName: parsed.data.fullName,
              jobTitle: parsed.data.jobTitle,
              staffNumber: parsed.data.staffNumber,
              email: parsed.data.email,
              teamId: parsed.data.teamId,
              lineManagerId: parsed.data.lineManagerId,
              startDate: start.value,
              leavingDate: leaving.value,
            },
          })
        : { ok: false, status: 400, errors: formErrors };
    if (!outcome.ok) {
      const current = outcome.status === 409 ? await queries.findStaff(db, org, id!) : undefined;
      return staffPage(
        request,
        reply,
        { staff, current: current && (await describeStaff(db, org, current)), values: withVersion(body, outcome, current), errors: inFormOrder(outcome.errors, STAFF_FIELDS) },
        outcome.status,
      );
    }
    return reply.redirect(`/organisation/staff?done=${id ? 'staff-saved' : 'staff-added'}`, 303);
  };
  app.post('/organisation/staff/new', { config: { access: 'org.manage' } }, (request, reply) => saveStaffRoute(request, reply));
  app.post('/organisation/staff/:id/edit', { config: { access: 'org.manage' } }, (request, reply) => saveStaffRoute(request, reply, idParam(request)));

  app.get('/organisation/staff/import', { config: { access: 'org.manage' } }, async (_request, reply) => {
    return reply.page('org/views/staff-import.njk', { columns: STAFF_IMPORT_COLUMNS });
  });

  app.post('/organisation/staff/import', { config: { access: 'org.manage' } }, async (request, reply) => {
    const page = (status: number, context: Record<string, unknown>) => reply.code(status).page('org/views/staff-import.njk', { columns: STAFF_IMPORT_COLUMNS, ...context });
    const part = request.upload;
    if (!part || !part.filename) {
      part?.file.resume();
      return page(400, { errors: [{ field: 'file', message: 'Select a CSV file of staff' }] });
    }
    const result = await importStaff(db, { organisationId: orgOf(request), actor: actorOf(request), input: part.file });
    if (!result.ok) {
      const count = result.errors.length;
      return page(400, {
        errors: [{ field: 'file', message: `The file has ${count} ${count === 1 ? 'problem' : 'problems'}. Nothing was imported: correct the file and upload it again.` }],
        importErrors: result.errors,
        filename: part.filename,
      });
    }
    return page(200, { result, filename: part.filename });
  });
}

function staffValues(staff: NonNullable<Awaited<ReturnType<typeof queries.findStaff>>>): Body {
  return {
    fullName: staff.full_name,
    jobTitle: staff.job_title,
    staffNumber: staff.staff_number,
    email: staff.email,
    teamId: staff.team_id,
    lineManagerId: staff.line_manager_id,
    ...dateParts('startDate', staff.start_date),
    ...dateParts('leavingDate', staff.leaving_date),
    version: staff.version,
  };
}

/** The record as it is now saved, shown beside the user's version after a stale save. */
async function describeStaff(db: Db, organisationId: string, staff: NonNullable<Awaited<ReturnType<typeof queries.findStaff>>>) {
  const team = staff.team_id ? await queries.findTeam(db, organisationId, staff.team_id) : undefined;
  const manager = staff.line_manager_id ? await queries.findStaff(db, organisationId, staff.line_manager_id) : undefined;
  return { ...staff, team_name: team?.name ?? null, line_manager_name: manager?.full_name ?? null };
}

// ——— Users and role grants ———

function userRoutes(app: FastifyInstance, db: Db, clock: Clock) {
  app.get('/organisation/users', { config: { access: 'org.view' } }, async (request, reply) => {
    const org = orgOf(request);
    const grants = await queries.listGrants(db, org);
    const users = (await queries.listUsers(db, org, clock.now())).map((user) => ({
      ...user,
      roles: grants.filter((grant) => grant.user_id === user.id).map(describeGrant),
    }));
    return reply.page('org/views/users.njk', { users, canManage: can(request.principal, 'org.manage'), flash: doneMessage(request) });
  });

  const newUserPage = async (request: FastifyRequest, reply: FastifyReply, context: Record<string, unknown>, status = 200) =>
    reply.code(status).page('org/views/user-form.njk', { ...context, staff: staffOptions(await queries.listStaffOptions(db, orgOf(request))) });

  app.get('/organisation/users/new', { config: { access: 'org.manage' } }, async (request, reply) => newUserPage(request, reply, { values: {} }));

  app.post('/organisation/users/new', { config: { access: 'org.manage' } }, async (request, reply) => {
    const body = request.body as Body;
    const parsed = userForm.safeParse(body);
    const outcome: Outcome<{ id: string }> = parsed.success
      ? await addUser(db, actorOf(request), parsed.data)
      : { ok: false, status: 400, errors: fieldErrorsFrom(parsed.error) };
    if (!outcome.ok) {
      const values = { ...body, password: '' }; // a password is never sent back to the browser
      return newUserPage(request, reply, { values, errors: inFormOrder(outcome.errors, ['email', 'displayName', 'staffId', 'password']) }, outcome.status);
    }
    return reply.redirect(`/organisation/users/${outcome.value.id}?done=user-added`, 303);
  });

  const userPage = async (request: FastifyRequest, reply: FastifyReply, userId: string, context: Record<string, unknown> = {}, status = 200) => {
    const org = orgOf(request);
    const found = await queries.findUser(db, org, userId);
    if (!found) throw notFound('User');
    const user = { ...found, locked: Boolean(found.locked_until && new Date(found.locked_until) > clock.now()) };
    const signInProblems = await queries.listSignInProblems(db, org, userId);
    const grants = (await queries.listGrants(db, org, userId)).map((grant) => ({ ...grant, ...describeGrant(grant) }));
    const teams = await queries.listTeams(db, org);
    // "Own team" and "Service" default to the team and service of the linked staff record.
    const ownTeam = teams.find((team) => team.id === user.staff_team_id);
    return reply.code(status).page('org/views/user.njk', {
      user,
      signInProblems,
      grants,
      teams: options(teams),
      services: options(await queries.listServices(db, org)),
      roles: ROLES.map((role) => ({ value: role, text: ROLE_LABELS[role] })),
      scopes: (Object.keys(SCOPE_LABELS) as Scope[]).map((scope) => ({ value: scope, text: SCOPE_LABELS[scope] })),
      values: { teamId: ownTeam?.id ?? '', serviceId: ownTeam?.service_id ?? '' },
      isSelf: user.id === request.principal!.userId,
      canManage: can(request.principal, 'org.manage'),
      flash: doneMessage(request),
      ...context,
    });
  };

  app.get('/organisation/users/:id', { config: { access: 'org.view' } }, async (request, reply) => userPage(request, reply, idParam(request)));

  app.post('/organisation/users/:id/grants', { config: { access: 'org.manage' } }, async (request, reply) => {
    const userId = idParam(request);
    const body = request.body as Body;
    const parsed = grantForm.safeParse(body);
    const outcome: Outcome<unknown> = parsed.success
      ? await addRoleGrant(db, actorOf(request), { userId, ...parsed.data })
      : { ok: false, status: 400, errors: fieldErrorsFrom(parsed.error) };
    if (!outcome.ok) return userPage(request, reply, userId, { values: body, errors: inFormOrder(outcome.errors, ['role', 'scope', 'teamId', 'serviceId']) }, outcome.status);
    return reply.redirect(`/organisation/users/${userId}?done=role-added`, 303);
  });

  app.post('/organisation/users/:id/grants/:grantId/remove', { config: { access: 'org.manage' } }, async (request, reply) => {
    const userId = idParam(request);
    const outcome = await removeRoleGrant(db, actorOf(request), { userId, grantId: idParam(request, 'grantId') });
    if (!outcome.ok) return userPage(request, reply, userId, { errors: outcome.errors }, outcome.status);
    return reply.redirect(`/organisation/users/${userId}?done=role-removed`, 303);
  });

  app.post('/organisation/users/:id/unlock', { config: { access: 'org.manage' } }, async (request, reply) => {
    const userId = idParam(request);
    await unlockAccount(db, actorOf(request), userId);
    return reply.redirect(`/organisation/users/${userId}?done=unlocked`, 303);
  });

  for (const [action, disabled] of [['disable', true], ['enable', false]] as const) {
    app.post(`/organisation/users/:id/${action}`, { config: { access: 'org.manage' } }, async (request, reply) => {
      const userId = idParam(request);
      const outcome = await setAccountDisabled(db, actorOf(request), userId, disabled);
      if (!outcome.ok) return userPage(request, reply, userId, { errors: outcome.errors }, outcome.status);
      return reply.redirect(`/organisation/users/${userId}?done=${disabled ? 'disabled' : 'enabled'}`, 303);
    });
  }
}

function presentParams(values: Record<string, string | undefined>): URLSearchParams {
  return new URLSearchParams(Object.entries(values).filter((entry): entry is [string, string] => Boolean(entry[1])));
}

// ——— Bank holidays ———

/** A bank-holidays.json from gov.uk is about 20 KB; anything near this is not one. */
const BANK_HOLIDAYS_FILE_LIMIT = 1024 * 1024;

const divisionForm = z.object({
  division: z.enum(DIVISIONS, { error: 'Choose whose bank holidays are not working days' }),
  shown: z.enum(DIVISIONS, { error: 'Open the bank holidays page again and choose again' }),
});

function bankHolidayRoutes(app: FastifyInstance, db: Db) {
  const page = async (request: FastifyRequest, reply: FastifyReply, context: Record<string, unknown> = {}, status = 200) => {
    const settings = await bankHolidaySettings(db, orgOf(request));
    return reply.code(status).page('org/views/bank-holidays.njk', {
      settings,
      divisions: DIVISIONS.map((division) => ({ value: division, text: DIVISION_NAMES[division] })),
      values: { division: settings.division },
      upcoming: settings.holidays.filter((date) => date >= request.today).slice(0, 8),
      coverage: bankHolidayCoverage(settings.lastYear, request.today),
      flash: doneMessage(request),
      ...context,
    });
  };

  app.get('/organisation/bank-holidays', { config: { access: 'org.manage' } }, async (request, reply) => page(request, reply));

  app.post('/organisation/bank-holidays', { config: { access: 'org.manage' } }, async (request, reply) => {
    const body = request.body as Body;
    const parsed = divisionForm.safeParse(body);
    const outcome: Outcome<unknown> = parsed.success
      ? await setBankHolidayDivision(db, actorOf(request), { division: parsed.data.division as Division, shown: parsed.data.shown as Division })
      : { ok: false, status: 400, errors: fieldErrorsFrom(parsed.error).map((error) => ({ ...error, field: 'division' })) };
    if (!outcome.ok) return page(request, reply, { errors: outcome.errors, ...(outcome.status === 400 ? { values: body } : {}) }, outcome.status);
    return reply.redirect('/organisation/bank-holidays?done=division-saved', 303);
  });

  app.post('/organisation/bank-holidays/file', { config: { access: 'org.manage', uploadFileSize: BANK_HOLIDAYS_FILE_LIMIT } }, async (request, reply) => {
    const refuse = (message: string, more: FieldError[] = []) => page(request, reply, { errors: [{ field: 'file', message }, ...more] }, 400);
    const part = request.upload;
    if (!part || !part.filename) {
      part?.file.resume();
      return refuse('Select a bank-holidays.json file');
    }
    const content = await part.toBuffer().catch(() => null);
    if (!content) return refuse('The selected file must be smaller than 1 MB');
    if (content.length === 0) return refuse('The selected file is empty');
    const outcome = await loadBankHolidayFile(db, actorOf(request), { fileName: part.filename, content });
    if (!outcome.ok) return refuse(`${part.filename} is not a gov.uk bank holidays file. Nothing was loaded: correct these problems and upload it again.`, outcome.errors);
    return reply.redirect('/organisation/bank-holidays?done=bank-holidays-loaded', 303);
  });
}

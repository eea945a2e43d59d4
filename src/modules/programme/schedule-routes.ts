import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { can, ROLE_LABELS } from '../../platform/access.ts';
import { logActivity } from '../../platform/activity.ts';
import { AppError, type FieldError } from '../../platform/errors.ts';
import type { AppDependencies } from '../../platform/http/types.ts';
import { periodChoices, periodValue, ukDay } from '../reports/period.ts';
import { addCalendarEntry, calendarYear, ENTRY_KIND_LABELS, programmeCalendar, removeCalendarEntry } from './calendar.ts';
import { complianceReport, RAG_LABELS } from './compliance.ts';
import { complianceCsv, complianceXlsx } from './compliance-export.ts';
import { scheduleInForce, ACTIVITIES_IN_ASSURE, type ScheduleVersion } from './schedule.ts';
import {
  ACTIVITY_LABELS,
  AUDITOR_FROM_LABELS,
  blankRowForm,
  describeFrequency,
  formRows,
  LEGAL_STATUS_LABELS,
  PER_LABELS,
  PERIOD_LABELS,
  PERIOD_MONTHS,
  rowToForm,
  saveScheduleVersion,
  SCHEDULE_ROLES,
  scheduleOptions,
  scheduleVersions,
  SELECTION_LABELS,
  roleLabel,
} from './schedule-edit.ts';

/**
 * The audit programme's pages: the schedule of expectations (read, and edited by the QA lead as a
 * new version), compliance with it, and the year's calendar. Sampling rounds have their own routes.
 */
export async function scheduleRoutes(app: FastifyInstance, deps: AppDependencies) {
  const { db } = deps;
  const actorOf = (request: FastifyRequest) => ({ principal: request.principal!, ipAddress: request.ip, at: request.at });

  app.get('/programme', { config: { access: 'programme.view' } }, async (request, reply) => {
    const inForce = await scheduleInForce(db, request.principal!.organisationId, request.today);
    return reply.page('programme/views/overview.njk', { inForce, canManage: can(request.principal, 'programme.manage'), canSample: can(request.principal, 'audits.allocate') });
  });

  // ——— the schedule ———

  const describe = (version: ScheduleVersion, names: { services: Map<string, string>; tools: Map<string, string> }) =>
    version.rows.map((row) => ({
      ...row,
      serviceName: row.serviceId ? (names.services.get(row.serviceId) ?? 'Unknown service') : 'All services',
      toolName: row.toolId ? (names.tools.get(row.toolId) ?? null) : null,
      activityName: ACTIVITY_LABELS[row.activity],
      inAssure: ACTIVITIES_IN_ASSURE.includes(row.activity),
      frequency: describeFrequency(row),
      auditorRoleNames: row.auditorRoles.map((role) => ROLE_LABELS[role]).join(', '),
      moderatorName: roleLabel(row.moderatorRole),
      selectionName: SELECTION_LABELS[row.selectedBy],
      auditorFromName: AUDITOR_FROM_LABELS[row.sampling.auditorFrom],
      legalStatusNames: row.sampling.legalStatuses.map((status) => LEGAL_STATUS_LABELS[status]).join(', '),
    }));

  async function namesOf(organisationId: string) {
    const options = await scheduleOptions(db, organisationId);
    return { options, names: { services: new Map(options.services.map((s) => [s.id, s.name])), tools: new Map(options.tools.map((t) => [t.id, t.name])) } };
  }

  app.get('/programme/schedule', { config: { access: 'programme.view' } }, async (request, reply) => {
    const organisationId = request.principal!.organisationId;
    const versions = await scheduleVersions(db, organisationId);
    const inForce = versions.find((version) => version.appliesFrom <= request.today) ?? null;
    const { names } = await namesOf(organisationId);
    const query = request.query as { version?: string; done?: string };
    const shown = (query.version && versions.find((version) => version.id === query.version)) || inForce || versions[versions.length - 1] || null;
    return reply.page('programme/views/schedule.njk', {
      versions: versions.map((version) => ({ ...version, inForce: version === inForce, future: version.appliesFrom > request.today })),
      shown: shown ? { ...shown, inForce: shown === inForce, future: shown.appliesFrom > request.today, rows: describe(shown, names) } : null,
      canManage: can(request.principal, 'programme.manage'),
      flash: query.done === 'saved' ? 'The new version of the schedule is saved' : undefined,
    });
  });

  const editPage = async (request: FastifyRequest, reply: FastifyReply, state: { rows?: Record<string, unknown>[]; values?: Record<string, unknown>; errors?: FieldError[]; status?: number; basedOn?: string } = {}) => {
    const organisationId = request.principal!.organisationId;
    const versions = await scheduleVersions(db, organisationId);
    const latest = versions[0] ?? null;
    const { options } = await namesOf(organisationId);
    // A single ticked box arrives as a string, none as nothing: the page's lists are always lists.
    const asList = (value: unknown) => (Array.isArray(value) ? value : value === undefined || value === null || value === '' ? [] : [value]);
    const rows = (state.rows ?? (latest ? latest.rows.map(rowToForm) : [blankRowForm()])).map((row) => ({ ...row, auditorRoles: asList(row.auditorRoles), legalStatuses: asList(row.legalStatuses) }));
    return reply.code(state.status ?? 200).page('programme/views/schedule-edit.njk', {
      rows,
      values: state.values ?? { appliesFrom: '', note: '' },
      basedOn: state.basedOn ?? latest?.id ?? '',
      latest,
      latestFrom: latest ? ukDay(latest.appliesFrom) : null,
      stale: state.status === 409 && latest ? { appliesFrom: ukDay(latest.appliesFrom), rows: describe(latest, { services: new Map(options.services.map((s) => [s.id, s.name])), tools: new Map(options.tools.map((t) => [t.id, t.name])) }) } : null,
      errors: state.errors ?? [],
      choices: {
        services: options.services.map((s) => ({ value: s.id, text: s.name })),
        tools: options.tools.map((t) => ({ value: t.id, text: t.name })),
        activities: Object.entries(ACTIVITY_LABELS).map(([value, text]) => ({ value, text: ACTIVITIES_IN_ASSURE.includes(value as never) ? text : `${text} (not yet in Assure)` })),
        pers: Object.entries(PER_LABELS).map(([value, text]) => ({ value, text })),
        periods: PERIOD_MONTHS.map((months) => ({ value: String(months), text: PERIOD_LABELS[months]! })),
        roles: SCHEDULE_ROLES.map((role) => ({ value: role, text: ROLE_LABELS[role] })),
        selections: Object.entries(SELECTION_LABELS).map(([value, text]) => ({ value, text })),
        auditorFrom: Object.entries(AUDITOR_FROM_LABELS).map(([value, text]) => ({ value, text })),
        legalStatuses: Object.entries(LEGAL_STATUS_LABELS).map(([value, text]) => ({ value, text })),
      },
    });
  };

  app.get('/programme/schedule/edit', { config: { access: 'programme.manage' } }, async (request, reply) => editPage(request, reply));

  app.post('/programme/schedule/edit', { config: { access: 'programme.manage' } }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const values = { appliesFrom: body.appliesFrom, note: body.note };
    const basedOn = typeof body.basedOn === 'string' ? body.basedOn : '';
    // Without JavaScript, "Add a row" is a submit button: the page comes back with a blank row, nothing saved.
    if (body.action === 'add-row') return editPage(request, reply, { rows: [...formRows(body), blankRowForm()], values, basedOn });
    const organisationId = request.principal!.organisationId;
    const outcome = await saveScheduleVersion(db, actorOf(request), body, await scheduleOptions(db, organisationId));
    // After a stale save the page shows the version now saved beside the user's rows; saving again builds on it.
    if (!outcome.ok) return editPage(request, reply, { rows: formRows(body), values, errors: outcome.errors, status: outcome.status, ...(outcome.status === 409 ? {} : { basedOn }) });
    return reply.redirect(`/programme/schedule?version=${outcome.versionId}&done=saved`, 303);
  });

  // ——— compliance ———

  const complianceOf = async (request: FastifyRequest) => complianceReport(db, request.principal!, request.query as Record<string, unknown>, request.today);

  app.get('/programme/compliance', { config: { access: 'programme.view' } }, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const compliance = await complianceOf(request);
    await logActivity(db, actorOf(request), { action: 'view', recordType: 'programme_compliance', summary: `compliance for ${compliance.period.label}` });
    const search = new URLSearchParams({ period: periodValue(compliance.period), ...(compliance.period.kind === 'range' ? { from: compliance.period.from, to: compliance.period.to } : {}) }).toString();
    return reply.code(compliance.errors.length ? 400 : 200).page('programme/views/compliance.njk', {
      compliance,
      errors: compliance.errors,
      values: { period: compliance.errors.length ? periodValue(compliance.period) : (query.period ?? periodValue(compliance.period)), from: query.from, to: query.to },
      choices: periodChoices(request.today),
      rag: RAG_LABELS,
      downloadQuery: search,
    });
  });

  for (const format of ['csv', 'xlsx'] as const) {
    app.get(`/programme/compliance.${format}`, { config: { access: 'programme.view' } }, async (request, reply) => {
      const compliance = await complianceOf(request);
      if (compliance.errors.length) throw new AppError('BAD_REQUEST', compliance.errors.map((error) => error.message).join('; '));
      await logActivity(db, actorOf(request), { action: 'export', recordType: 'programme_compliance', summary: `compliance for ${compliance.period.label} as ${format.toUpperCase()}` });
      const name = `compliance-${compliance.period.from}-to-${compliance.period.to}.${format}`;
      reply.header('Content-Disposition', `attachment; filename="${name}"`);
      if (format === 'csv') return reply.type('text/csv; charset=utf-8').send(complianceCsv(compliance));
      return reply.type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet').send(await complianceXlsx(compliance));
    });
  }

  // ——— the calendar ———

  const calendarPage = async (request: FastifyRequest, reply: FastifyReply, state: { values?: Record<string, unknown>; errors?: FieldError[] } = {}) => {
    const query = request.query as Record<string, unknown>;
    const year = calendarYear(query, request.today);
    const calendar = await programmeCalendar(db, request.principal!.organisationId, year);
    return reply.code(state.errors?.length ? 400 : 200).page('programme/views/calendar.njk', {
      calendar,
      canManage: can(request.principal, 'programme.manage'),
      errors: state.errors ?? [],
      values: state.values ?? {},
      kinds: Object.entries(ENTRY_KIND_LABELS).map(([value, text]) => ({ value, text })),
      flash: query.done === 'added' ? 'Entry added to the calendar' : query.done === 'removed' ? 'Entry removed from the calendar' : undefined,
    });
  };

  app.get('/programme/calendar', { config: { access: 'programme.view' } }, async (request, reply) => calendarPage(request, reply));

  app.post('/programme/calendar/entries', { config: { access: 'programme.manage' } }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const outcome = await addCalendarEntry(db, actorOf(request), body);
    if (!outcome.ok) return calendarPage(request, reply, { values: body, errors: outcome.errors });
    return reply.redirect(`/programme/calendar?year=${calendarYear({}, outcome.startsOn)}&done=added`, 303);
  });

  app.post('/programme/calendar/entries/:id/delete', { config: { access: 'programme.manage' } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    if (!(await removeCalendarEntry(db, actorOf(request), id))) throw new AppError('NOT_FOUND', 'There is no such calendar entry');
    return reply.redirect('/programme/calendar?done=removed', 303);
  });
}

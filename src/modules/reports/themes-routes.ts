import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { reportScope } from '../../platform/access.ts';
import { logActivities, type Actor } from '../../platform/activity.ts';
import { notFound } from '../../platform/errors.ts';
import type { AppDependencies } from '../../platform/http/types.ts';
import { parseReportPeriod } from './period.ts';
import { parseReportFilters, reportOptions } from './report.ts';
import { auditsMarking, auditTexts, reportQuery, THEME_FIELD_LABELS, THEME_FIELDS, type ThemeField } from './themes.ts';
import { findTheme, listThemes } from './themes-queries.ts';
import { removeTheme, saveTheme } from './themes-service.ts';

/**
 * The themes list, kept by the QA lead (`themes.manage`), and the evidence behind each count
 * of the report's themes section, read by whoever reads reports, within their scope.
 */

const DONE: Record<string, string> = { added: 'Theme added', saved: 'Theme saved', removed: 'Theme removed' };

const actorOf = (request: FastifyRequest): Actor => ({ principal: request.principal, ipAddress: request.ip, at: request.at });
const orgOf = (request: FastifyRequest) => request.principal!.organisationId;

function idParam(request: FastifyRequest): string {
  const parsed = z.string().uuid().safeParse((request.params as Record<string, string>).id);
  if (!parsed.success) throw notFound('Theme');
  return parsed.data;
}

type Body = Record<string, unknown>;
const text = (value: unknown) => (typeof value === 'string' ? value : '');

export async function themeRoutes(app: FastifyInstance, deps: AppDependencies) {
  const { db } = deps;

  app.get('/reports/themes', { config: { access: 'themes.manage' } }, async (request, reply) => {
    const done = text((request.query as Record<string, unknown>).done);
    return reply.page('reports/views/themes.njk', { themes: await listThemes(db, orgOf(request)), flash: DONE[done] });
  });

  const formPage = (reply: FastifyReply, context: Record<string, unknown>, status = 200) => reply.code(status).page('reports/views/theme-form.njk', context);

  // A proposal from the report opens this form with its phrase filled in.
  app.get('/reports/themes/new', { config: { access: 'themes.manage' } }, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    return formPage(reply, { values: { name: text(query.name).slice(0, 100), phrases: text(query.phrases).slice(0, 500) } });
  });

  app.get('/reports/themes/:id/edit', { config: { access: 'themes.manage' } }, async (request, reply) => {
    const theme = await findTheme(db, orgOf(request), idParam(request));
    if (!theme) throw notFound('Theme');
    return formPage(reply, { theme, values: { name: theme.name, phrases: theme.phrases.join('\n'), version: theme.version } });
  });

  const save = async (request: FastifyRequest, reply: FastifyReply, id?: string) => {
    const body = (request.body ?? {}) as Body;
    const theme = id ? await findTheme(db, orgOf(request), id) : undefined;
    if (id && !theme) throw notFound('Theme');
    const outcome = await saveTheme(db, actorOf(request), id, body);
    if (outcome.ok) return reply.redirect(`/reports/themes?done=${id ? 'saved' : 'added'}`, 303);
    // After a stale save: the theme as now saved beside the user's own text, with the new version to save over it.
    const current = outcome.status === 409 && id ? await findTheme(db, orgOf(request), id) : undefined;
    const values = { name: text(body.name), phrases: text(body.phrases), version: current ? current.version : body.version };
    return formPage(reply, { theme, current, values, errors: outcome.errors }, outcome.status);
  };
  app.post('/reports/themes/new', { config: { access: 'themes.manage' } }, (request, reply) => save(request, reply));
  app.post('/reports/themes/:id/edit', { config: { access: 'themes.manage' } }, (request, reply) => save(request, reply, idParam(request)));

  app.get('/reports/themes/:id/remove', { config: { access: 'themes.manage' } }, async (request, reply) => {
    const theme = await findTheme(db, orgOf(request), idParam(request));
    if (!theme) throw notFound('Theme');
    return reply.page('reports/views/theme-remove.njk', { theme, version: theme.version });
  });

  app.post('/reports/themes/:id/remove', { config: { access: 'themes.manage' } }, async (request, reply) => {
    const id = idParam(request);
    const theme = await findTheme(db, orgOf(request), id);
    if (!theme) throw notFound('Theme');
    const version = z.coerce.number().int().min(0).safeParse((request.body as Body | undefined)?.version);
    const outcome = await removeTheme(db, actorOf(request), id, version.success ? version.data : -1);
    if (outcome.ok) return reply.redirect('/reports/themes?done=removed', 303);
    return reply.code(outcome.status).page('reports/views/theme-remove.njk', { theme, version: theme.version, errors: outcome.errors });
  });

  app.get('/reports/themes/:id/evidence', { config: { access: 'reports.view' } }, async (request, reply) => {
    const principal = request.principal!;
    const theme = await findTheme(db, principal.organisationId, idParam(request));
    if (!theme) throw notFound('Theme');
    const query = request.query as Record<string, unknown>;
    const scope = reportScope(principal);
    const { period, errors: periodErrors } = parseReportPeriod(query, request.today);
    const { filters, errors: filterErrors } = parseReportFilters(query, await reportOptions(db, scope));
    const fieldParsed = z.enum(THEME_FIELDS).safeParse(query.field);
    const field: ThemeField = fieldParsed.success ? fieldParsed.data : 'areas';
    const errors = [...periodErrors, ...filterErrors, ...(fieldParsed.success ? [] : [{ field: 'field', message: 'Choose strengths or areas for improvement' }])];
    const found = errors.length ? [] : auditsMarking(await auditTexts(db, scope, filters, period, request.today), theme, field);
    // Every audit listed, with its child, is a view of a child's record.
    await logActivities(
      db,
      actorOf(request),
      found.map(({ audit }) => ({ action: 'view', recordType: 'audit', recordId: audit.id, childId: audit.childId, summary: `evidence for the theme "${theme.name}" (${THEME_FIELD_LABELS[field].toLowerCase()})` })),
    );
    return reply.code(errors.length ? 400 : 200).page('reports/views/theme-evidence.njk', {
      theme,
      field,
      fieldLabel: THEME_FIELD_LABELS[field],
      period,
      found,
      errors,
      reportHref: `/reports?${reportQuery(period, filters).toString()}#themes`,
    });
  });
}

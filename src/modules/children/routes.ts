import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AppDependencies } from '../../platform/http/types.ts';
import { can, dataScope } from '../../platform/access.ts';
import { logActivity } from '../../platform/activity.ts';
import { notFound } from '../../platform/errors.ts';
import { fieldErrorsFrom, paginationLinks } from '../../platform/views.ts';
import { LEGAL_STATUSES, LEGAL_STATUS_LABELS, rowErrorsToCsv } from './extract.ts';
import * as service from './service.ts';
import { listChildAudits } from '../audits/audit.ts';
import { AUDIT_LIST_LABELS } from '../audits/tracker.ts';
import { removeSpool, spoolUpload } from './upload-spool.ts';

const PAGE_SIZE = 50;
/** How long an upload waits for its import before showing the progress page instead. */
const WAIT_FOR_RESULT_MS = 3_000;

const listQuery = z.object({
  search: z.string().trim().max(100).optional().transform((value) => value || undefined),
  team: z.union([z.literal(''), z.string().uuid()]).optional().transform((value) => value || undefined),
  legalStatus: z.union([z.literal(''), z.enum(LEGAL_STATUSES as [string, ...string[]])]).optional().transform((value) => value || undefined),
  status: z.enum(['open', 'closed', 'all']).default('open'),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
});

const idParams = z.object({ id: z.string().uuid() });
const confirmForm = z.object({ closeMany: z.enum(['yes', 'no']).optional() }).passthrough();

export async function childrenRoutes(app: FastifyInstance, { db, config, clock }: AppDependencies) {
  const uploadDir = path.resolve(config.dataDir, 'uploads');

  app.get('/children', { config: { access: 'children.view' } }, async (request, reply) => {
    const parsed = listQuery.safeParse(request.query);
    const filters = parsed.success ? parsed.data : listQuery.parse({});
    const principal = request.principal!;
    const scope = dataScope(principal, 'children.view');
    const { rows, total } = await service.listChildren(db, scope, { search: filters.search, teamId: filters.team, legalStatus: filters.legalStatus, status: filters.status }, {
      offset: (filters.page - 1) * PAGE_SIZE,
      limit: PAGE_SIZE,
    });
    await logActivity(db, { principal, ipAddress: request.ip, at: request.at }, { action: 'view', recordType: 'child_register', summary: `${rows.length} of ${total} children listed` });
    const teams = await db.selectFrom('teams').select(['id as value', 'name as text']).where('organisation_id', '=', principal.organisationId).orderBy('name').execute();
    return reply.page('children/views/list.njk', {
      rows,
      total,
      filters,
      teams,
      errors: parsed.success ? [] : fieldErrorsFrom(parsed.error),
      legalStatusOptions: LEGAL_STATUSES.map((value) => ({ value, text: LEGAL_STATUS_LABELS[value] })),
      legalStatusLabels: LEGAL_STATUS_LABELS,
      pagination: paginationFor(request, filters.page, total),
    });
  });

  app.get('/children/imports', { config: { access: 'children.import' } }, async (request, reply) => {
    return reply.page('children/views/imports.njk', { imports: await service.listImports(db, request.principal!.organisationId) });
  });

  app.get('/children/imports/new', { config: { access: 'children.import' } }, async (_request, reply) => {
    return reply.page('children/views/import-new.njk', { values: { closeMissing: 'no' } });
  });

  app.post('/children/imports', { config: { access: 'children.import' } }, async (request, reply) => {
    const principal = request.principal!;
    const upload = await receiveExtractUpload(request, uploadDir);
    if ('errors' in upload) {
      return reply.code(400).page('children/views/import-new.njk', { errors: upload.errors, values: { closeMissing: upload.closeMissing } });
    }
    // Staging runs on after the response when the file is big; the spool goes however it ends.
    const run = service
      .stageChildrenImport(db, {
        organisationId: principal.organisationId,
        actor: { principal, ipAddress: request.ip, at: request.at },
        path: upload.path,
        filename: upload.filename,
        closeMissing: upload.closeMissing === 'yes',
        source: 'page',
        importId: upload.importId,
        clock,
      })
      .then(() => 'done' as const)
      .catch((error: unknown) => {
        if (error instanceof service.ImportBusyError) return error;
        request.log.error({ err: error, importId: upload.importId }, 'child import failed');
        return 'done' as const;
      })
      .finally(() => removeSpool(upload.path));
    const outcome = await Promise.race([run, new Promise((resolve) => setTimeout(resolve, WAIT_FOR_RESULT_MS))]);
    if (outcome instanceof service.ImportBusyError) {
      return reply.code(409).page('children/views/import-new.njk', { errors: [{ field: 'file', message: outcome.message }], values: { closeMissing: upload.closeMissing } });
    }
    return reply.redirect(`/children/imports/${upload.importId}`, 303);
  });

  app.get('/children/imports/:id', { config: { access: 'children.import' } }, async (request, reply) => {
    const { id } = idParams.parse(request.params);
    return showImport(request, reply, id);
  });

  /** The preview's "Import": applies what was shown, after a second, plain question past a quarter. */
  app.post('/children/imports/:id/confirm', { config: { access: 'children.import' } }, async (request, reply) => {
    const { id } = idParams.parse(request.params);
    const principal = request.principal!;
    const form = confirmForm.parse(request.body ?? {});
    const found = await service.findImport(db, principal.organisationId, id);
    if (!found) throw notFound('Import');
    if (found.status === 'staged' && service.closesMany(found.closed_count, found.open_count) && form.closeMany !== 'yes') {
      return reply.page('children/views/import-confirm-many.njk', { importRun: found });
    }
    try {
      await service.confirmChildrenImport(db, { importId: id, organisationId: principal.organisationId, actor: { principal, ipAddress: request.ip, at: request.at }, clock, confirmManyClosures: form.closeMany === 'yes' });
    } catch (error) {
      if (error instanceof service.ImportNotAppliedError || error instanceof service.ImportBusyError) {
        return showImport(request, reply, id, [{ field: 'confirm', message: error.message }], 409);
      }
      throw error;
    }
    return reply.redirect(`/children/imports/${id}`, 303);
  });

  app.post('/children/imports/:id/discard', { config: { access: 'children.import' } }, async (request, reply) => {
    const { id } = idParams.parse(request.params);
    try {
      await service.discardChildrenImport(db, { importId: id, organisationId: request.principal!.organisationId, clock });
    } catch (error) {
      if (error instanceof service.ImportBusyError) return showImport(request, reply, id, [{ field: 'confirm', message: error.message }], 409);
      throw error;
    }
    return reply.redirect(`/children/imports/${id}`, 303);
  });

  app.post('/children/imports/:id/reopen', { config: { access: 'children.import' } }, async (request, reply) => {
    const { id } = idParams.parse(request.params);
    const principal = request.principal!;
    try {
      await service.reopenChildrenClosedByImport(db, { importId: id, organisationId: principal.organisationId, actor: { principal, ipAddress: request.ip, at: request.at }, clock });
    } catch (error) {
      if (error instanceof service.ImportNotAppliedError || error instanceof service.ImportBusyError) {
        return showImport(request, reply, id, [{ field: 'reopen', message: error.message }], 409);
      }
      throw error;
    }
    return reply.redirect(`/children/imports/${id}`, 303);
  });

  async function showImport(request: FastifyRequest, reply: FastifyReply, id: string, errors: { field: string; message: string }[] = [], status = 200) {
    const found = await service.findImport(db, request.principal!.organisationId, id);
    if (!found) throw notFound('Import');
    const rowErrors = found.status === 'failed' ? await service.listImportErrors(db, id, 500) : [];
    const reopenUntil = found.finished_at ? new Date(new Date(found.finished_at).getTime() + service.REOPEN_WINDOW_MS) : null;
    return reply.code(status).page('children/views/import-result.njk', {
      importRun: found,
      rowErrors,
      errors,
      closesMany: service.closesMany(found.closed_count, found.open_count),
      canReopen: service.canReopen(found, clock),
      reopenUntil,
      listRows: listCountRows(found.list_counts),
    });
  }

  app.get('/children/imports/:id/errors.csv', { config: { access: 'children.import' } }, async (request, reply) => {
    const { id } = idParams.parse(request.params);
    const principal = request.principal!;
    const found = await service.findImport(db, principal.organisationId, id);
    if (!found) throw notFound('Import');
    const errors = await service.listImportErrors(db, id);
    await logActivity(db, { principal, ipAddress: request.ip, at: request.at }, { action: 'export', recordType: 'child_import', recordId: id, summary: `error report, ${errors.length} rows` });
    return reply
      .header('Content-Type', 'text/csv; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="import-errors-${id.slice(0, 8)}.csv"`)
      .header('Cache-Control', 'no-store')
      .send(rowErrorsToCsv(errors.map((row) => ({ rowNumber: row.row_number, column: row.column_name, value: row.value, reason: row.reason }))));
  });

  app.get('/children/:id', { config: { access: 'children.view' } }, async (request, reply) => {
    const { id } = idParams.parse(request.params);
    const principal = request.principal!;
    const child = await service.findChildInScope(db, dataScope(principal, 'children.view'), id);
    if (!child) throw notFound('Child');
    await logActivity(db, { principal, ipAddress: request.ip, at: request.at }, { action: 'view', recordType: 'child', recordId: child.id, childId: child.id });
    return reply.page('children/views/child.njk', {
      child,
      legalStatusLabels: LEGAL_STATUS_LABELS,
      // Only the audits the person could open from the tracker.
      audits: await listChildAudits(db, principal, child.id, request.today),
      canAllocate: can(principal, 'audits.allocate'),
      ...AUDIT_LIST_LABELS,
    });
  });
}

type Upload = { importId: string; path: string; filename: string; closeMissing: string } | { errors: { field: string; message: string }[]; closeMissing: string };

const LIST_NAMES: Record<string, string> = {
  list6: 'List 6: children in need',
  list7: 'List 7: child protection',
  list8: 'List 8: children in care',
  list9: 'List 9: care leavers',
  none: 'Not from an Annex A list',
  several: 'On more than one list',
};

function listCountRows(counts: Record<string, number>) {
  // A file with no Annex A list (a case-system CSV) has nothing to break down.
  if (!Object.keys(counts).some((key) => key.startsWith('list'))) return [];
  return Object.keys(LIST_NAMES)
    .filter((key) => counts[key] !== undefined && !(key === 'several' && !counts.several))
    .map((key) => ({ name: LIST_NAMES[key]!, children: counts[key]! }));
}

/** Streams the uploaded file to disk (never into memory) and reads the form's choices. */
async function receiveExtractUpload(request: FastifyRequest, uploadDir: string): Promise<Upload> {
  const file = request.upload;
  const closeMissingField = file?.fields.closeMissing as { value?: string } | undefined;
  const closeMissing = closeMissingField?.value === 'yes' ? 'yes' : 'no';
  if (!file || !file.filename) return { errors: [{ field: 'file', message: 'Select a CSV or XLSX file' }], closeMissing };
  if (!/\.(csv|xlsx)$/i.test(file.filename)) {
    file.file.resume();
    return { errors: [{ field: 'file', message: 'The selected file must be a CSV or XLSX file' }], closeMissing };
  }
  const importId = randomUUID();
  const target = await spoolUpload(file.file, uploadDir, importId, path.extname(file.filename));
  if ('error' in target) return { errors: [{ field: 'file', message: target.error }], closeMissing };
  return { importId, path: target.path, filename: file.filename, closeMissing };
}

function paginationFor(request: FastifyRequest, page: number, total: number) {
  const url = new URL(request.url, 'http://assure.local');
  return paginationLinks(url.pathname, url.searchParams, page, Math.max(1, Math.ceil(total / PAGE_SIZE)));
}

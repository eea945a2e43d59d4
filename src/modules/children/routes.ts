import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AppDependencies } from '../../app.ts';
import { dataScope } from '../../platform/access.ts';
import { logActivity } from '../../platform/activity.ts';
import { invalid, notFound } from '../../platform/errors.ts';
import { fieldErrorsFrom, paginationLinks } from '../../platform/views.ts';
import { LEGAL_STATUSES, LEGAL_STATUS_LABELS, rowErrorsToCsv } from './extract.ts';
import * as service from './service.ts';

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

export async function childrenRoutes(app: FastifyInstance, { db, config }: AppDependencies) {
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
    return reply.page('children/views/import-new.njk', { values: { fullExtract: 'yes' } });
  });

  app.post('/children/imports', { config: { access: 'children.import' } }, async (request, reply) => {
    const principal = request.principal!;
    const upload = await receiveUpload(request, uploadDir);
    if ('errors' in upload) {
      return reply.code(400).page('children/views/import-new.njk', { errors: upload.errors, values: { fullExtract: upload.fullExtract } });
    }
    const actor = { principal, ipAddress: request.ip, at: request.at };
    await service.createQueuedImport(db, { importId: upload.importId, organisationId: principal.organisationId, userId: principal.userId, filename: upload.filename, fullExtract: upload.fullExtract === 'yes', source: 'page' });
    const run = service
      .importChildrenFromFile(db, {
        organisationId: principal.organisationId,
        actor,
        path: upload.path,
        filename: upload.filename,
        fullExtract: upload.fullExtract === 'yes',
        source: 'page',
        importId: upload.importId,
      })
      .catch((error: unknown) => request.log.error({ err: error, importId: upload.importId }, 'child import failed'))
      .finally(() => fs.promises.rm(upload.path, { force: true }));
    await Promise.race([run, new Promise((resolve) => setTimeout(resolve, WAIT_FOR_RESULT_MS))]);
    return reply.redirect(`/children/imports/${upload.importId}`, 303);
  });

  app.get('/children/imports/:id', { config: { access: 'children.import' } }, async (request, reply) => {
    const { id } = idParams.parse(request.params);
    const found = await service.findImport(db, request.principal!.organisationId, id);
    if (!found) throw notFound('Import');
    const errors = found.status === 'failed' ? await service.listImportErrors(db, id, 500) : [];
    return reply.page('children/views/import-result.njk', { importRun: found, rowErrors: errors });
  });

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
    return reply.page('children/views/child.njk', { child, legalStatusLabels: LEGAL_STATUS_LABELS });
  });
}

type Upload = { importId: string; path: string; filename: string; fullExtract: string } | { errors: { field: string; message: string }[]; fullExtract: string };

/** Streams the uploaded file to disk (never into memory) and reads the form's choices. */
async function receiveUpload(request: FastifyRequest, uploadDir: string): Promise<Upload> {
  const file = await request.file().catch(() => undefined);
  const fullExtractField = file?.fields.fullExtract as { value?: string } | undefined;
  const fullExtract = fullExtractField?.value === 'no' ? 'no' : 'yes';
  if (!file || !file.filename) return { errors: [{ field: 'file', message: 'Select a CSV or XLSX file' }], fullExtract };
  if (!/\.(csv|xlsx)$/i.test(file.filename)) {
    file.file.resume();
    return { errors: [{ field: 'file', message: 'The selected file must be a CSV or XLSX file' }], fullExtract };
  }
  const importId = randomUUID();
  await fs.promises.mkdir(uploadDir, { recursive: true });
  const target = path.join(uploadDir, `${importId}${path.extname(file.filename).toLowerCase()}`);
  await pipeline(file.file, fs.createWriteStream(target));
  if (file.file.truncated) {
    await fs.promises.rm(target, { force: true });
    throw invalid('The selected file is too large', [{ field: 'file', message: 'The selected file must be smaller than 200 MB' }]);
  }
  if ((await fs.promises.stat(target)).size === 0) {
    await fs.promises.rm(target, { force: true });
    return { errors: [{ field: 'file', message: 'The selected file is empty' }], fullExtract };
  }
  return { importId, path: target, filename: file.filename, fullExtract };
}

function paginationFor(request: FastifyRequest, page: number, total: number) {
  const url = new URL(request.url, 'http://assure.local');
  return paginationLinks(url.pathname, url.searchParams, page, Math.max(1, Math.ceil(total / PAGE_SIZE)));
}

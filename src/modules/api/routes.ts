import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppDependencies } from '../../platform/http/types.ts';
import { dataScope } from '../../platform/access.ts';
import { logActivity } from '../../platform/activity.ts';
import { AppError, conflict, invalid, notFound } from '../../platform/errors.ts';
import { MAX_EXTRACT_BYTES, removeSpool, spoolUpload, TOO_LARGE } from '../children/upload-spool.ts';
import { LEGAL_STATUSES } from '../children/extract.ts';
import * as children from '../children/service.ts';
import { listTrackerAudits, trackerFilterSchema } from '../audits/tracker.ts';
import { allocateAudit } from '../audits/allocation.ts';
import { auditOverdue, findAudit, type AuditRecord } from '../audits/audit.ts';
import { findEdition, listTools } from '../tools/library.ts';
import { openApiDocument } from './openapi.ts';
import { programmeApiRoutes } from '../programme/api.ts';
import { confirmSamplingRound, proposeSamplingRound, roundView } from '../programme/rounds.ts';

const CSV = 'text/csv';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

const childrenQuery = z.object({
  search: z.string().trim().max(100).optional(),
  team: z.string().uuid().optional(),
  legalStatus: z.enum(LEGAL_STATUSES as [string, ...string[]]).optional(),
  status: z.enum(['open', 'closed', 'all']).default('open'),
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(500).default(100),
});

const flag = z.enum(['true', 'false']).default('false');
const importQuery = z.object({
  closeMissing: flag,
  /** The earlier name of closeMissing; it no longer defaults to true. */
  fullExtract: flag,
  dryRun: flag,
  confirmManyClosures: flag,
  filename: z.string().trim().min(1).max(200).optional(),
});

/**
 * The JSON API: the same services and the same access rules as the pages, authenticated by
 * a personal API token (`Authorization: Bearer …`). Answers are never cached.
 */
/** The list's paging, built once: a zod schema costs more to make than to use. */
const AUDIT_PAGING = z.object({ page: z.coerce.number().int().min(1).default(1), pageSize: z.coerce.number().int().min(1).max(500).default(100) });

export async function apiRoutes(app: FastifyInstance, { db, config, clock }: AppDependencies) {
  // Extracts arrive as the raw request body and are streamed to disk, never buffered.
  app.addContentTypeParser([CSV, XLSX], (_request, payload, done) => done(null, payload));
  app.addHook('onSend', async (_request, reply) => {
    reply.header('Cache-Control', 'no-store');
  });

  function importJson(outcome: children.ImportOutcome) {
    return {
      importId: outcome.importId,
      status: outcome.status,
      message: outcome.message,
      rowsRead: outcome.rowsRead,
      preview: outcome.preview,
      created: outcome.createdCount,
      updated: outcome.updatedCount,
      closed: outcome.closedCount,
      errorCount: outcome.errorCount,
      errors: outcome.errors.map((error) => ({ sheet: (error as { sheet?: string }).sheet ?? null, row: error.rowNumber, column: error.column, value: error.value, reason: error.reason })),
    };
  }

  app.get('/openapi.json', { config: { access: 'public' } }, async () => openApiDocument());

  app.get('/children', { config: { access: 'children.view' } }, async (request) => {
    const query = childrenQuery.parse(request.query);
    const principal = request.principal!;
    const { rows, total } = await children.listChildren(
      db,
      dataScope(principal, 'children.view'),
      { search: query.search, teamId: query.team, legalStatus: query.legalStatus, status: query.status },
      { offset: (query.page - 1) * query.pageSize, limit: query.pageSize },
    );
    await logActivity(db, { principal, ipAddress: request.ip, at: request.at }, { action: 'view', recordType: 'child_register', summary: `API: ${rows.length} of ${total} children` });
    return {
      total,
      page: query.page,
      pageSize: query.pageSize,
      children: rows.map((row) => ({
        id: row.id,
        externalId: row.external_id,
        initials: row.initials,
        dateOfBirth: row.date_of_birth,
        gender: row.gender,
        ethnicity: row.ethnicity,
        legalStatus: row.legal_status,
        allocatedWorker: row.worker_name,
        allocatedWorkerId: row.allocated_worker_id,
        allocatedTeam: row.team_name,
        allocatedTeamId: row.allocated_team_id,
        openDate: row.open_date,
        closeDate: row.close_date,
        referralFactors: row.referral_factors,
      })),
    };
  });

  /**
   * The file is the body. Nothing is closed unless `closeMissing=true`; `dryRun=true` answers
   * with the preview and changes nothing (the import can then be applied as previewed with
   * POST …/imports/{id}/confirm); past a quarter of the open children `confirmManyClosures=true`
   * is needed as well.
   */
  app.post('/children/imports', { config: { access: 'children.import' } }, async (request, reply) => {
    const query = importQuery.parse(request.query);
    const contentType = String(request.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (contentType !== CSV && contentType !== XLSX) {
      throw invalid(`Send the extract as the request body with Content-Type ${CSV} or ${XLSX}`, [{ field: 'Content-Type', message: `must be ${CSV} or ${XLSX}` }]);
    }
    if (Number(request.headers['content-length'] ?? 0) > MAX_EXTRACT_BYTES) throw new AppError('BAD_REQUEST', TOO_LARGE);
    const format = contentType === XLSX ? 'xlsx' : 'csv';
    const filename = query.filename ?? `api-extract.${format}`;
    const principal = request.principal!;
    const importId = randomUUID();
    const spooled = await spoolUpload(request.body as Readable, path.resolve(config.dataDir, 'uploads'), importId, `.${format}`);
    if ('error' in spooled) throw new AppError('BAD_REQUEST', spooled.error, [{ field: 'body', message: spooled.error }]);
    try {
      const options = {
        organisationId: principal.organisationId,
        actor: { principal, ipAddress: request.ip, at: request.at },
        closeMissing: query.closeMissing === 'true' || query.fullExtract === 'true',
        source: 'api' as const,
        filename: filename.toLowerCase().endsWith(`.${format}`) ? filename : `${filename}.${format}`,
        path: spooled.path,
        importId,
        clock,
      };
      // A dry run leaves the import staged: POST …/{id}/confirm applies exactly that preview.
      const outcome =
        query.dryRun === 'true'
          ? await children.stageChildrenImport(db, options)
          : await children.importChildrenNow(db, { ...options, dryRun: false, confirmManyClosures: query.confirmManyClosures === 'true' });
      const status = outcome.status === 'succeeded' ? 201 : outcome.status === 'failed' ? 422 : 200;
      return reply.code(status).send(importJson(outcome));
    } catch (error) {
      if (error instanceof children.ImportBusyError) throw conflict(error.message);
      throw error;
    } finally {
      await removeSpool(spooled.path);
    }
  });

  /** Applies an import staged by a dry run, exactly as previewed. */
  app.post('/children/imports/:id/confirm', { config: { access: 'children.import' } }, async (request, reply) => {
    const { id } = z.object({ id: z.string().uuid() }).parse(request.params);
    const query = z.object({ confirmManyClosures: flag }).parse(request.query);
    const principal = request.principal!;
    try {
      const outcome = await children.confirmChildrenImport(db, {
        importId: id,
        organisationId: principal.organisationId,
        actor: { principal, ipAddress: request.ip, at: request.at },
        clock,
        confirmManyClosures: query.confirmManyClosures === 'true',
      });
      return reply.code(201).send(importJson(outcome));
    } catch (error) {
      if (error instanceof children.ImportNotAppliedError || error instanceof children.ImportBusyError) throw conflict(error.message);
      throw error;
    }
  });

  app.get('/children/imports/:id', { config: { access: 'children.import' } }, async (request) => {
    const { id } = z.object({ id: z.string().uuid() }).parse(request.params);
    const found = await children.findImport(db, request.principal!.organisationId, id);
    if (!found) throw notFound('Import');
    const errors = found.status === 'failed' ? await children.listImportErrors(db, id, 1_000) : [];
    return {
      importId: found.id,
      status: found.status,
      closeMissing: found.full_extract,
      message: found.message,
      rowsRead: found.rows_read,
      created: found.created_count,
      updated: found.updated_count,
      closed: found.closed_count,
      openChildren: found.open_count,
      firstClosures: found.first_closures,
      sheets: found.sheets,
      lists: found.list_counts,
      errorCount: found.error_count,
      errors: errors.map((error) => ({ sheet: error.sheet, row: error.row_number, column: error.column_name, value: error.value, reason: error.reason })),
    };
  });

  app.get('/audits', { config: { access: 'audits.view' } }, async (request) => {
    const raw = request.query as Record<string, unknown>;
    const paging = AUDIT_PAGING.parse({ page: raw.page, pageSize: raw.pageSize });
    const filters = trackerFilterSchema.parse(raw);
    const principal = request.principal!;
    const { rows, total } = await listTrackerAudits(db, principal, filters, paging, request.today);
    await logActivity(db, { principal, ipAddress: request.ip, at: request.at }, { action: 'view', recordType: 'audit_tracker', summary: `API: ${rows.length} of ${total} audits` });
    return { total, page: paging.page, pageSize: paging.pageSize, audits: rows };
  });

  app.post('/audits', { config: { access: 'audits.allocate' } }, async (request, reply) => {
    const principal = request.principal!;
    const outcome = await allocateAudit(db, { principal, ipAddress: request.ip, at: request.at }, request.body ?? {});
    if (!outcome.ok) throw invalid('The audit was not allocated. Correct the fields named and try again.', outcome.errors);
    const audit = await findAudit(db, principal, outcome.audit.id);
    return reply.code(201).header('Location', `/api/v1/audits/${outcome.audit.id}`).send(audit ? apiAudit(audit, await auditOverdue(db, audit, request.today)) : outcome.audit);
  });

  app.get('/audits/:id', { config: { access: 'audits.view' } }, async (request) => {
    const id = z.uuid().safeParse((request.params as { id?: string }).id);
    const principal = request.principal!;
    const audit = id.success ? await findAudit(db, principal, id.data) : null;
    if (!audit) throw notFound('Audit');
    await logActivity(db, { principal, ipAddress: request.ip, at: request.at }, { action: 'view', recordType: 'audit', recordId: audit.id, childId: audit.child.id, summary: 'API' });
    return apiAudit(audit, await auditOverdue(db, audit, request.today));
  });

  // --- Sampling rounds (issue 14): propose, read, confirm. ---
  app.post('/programme/rounds', { config: { access: 'audits.allocate' } }, async (request, reply) => {
    const actor = { principal: request.principal!, ipAddress: request.ip, at: request.at };
    const outcome = await proposeSamplingRound(db, actor, request.body ?? {}, { today: request.today });
    if (!outcome.ok) throw invalid('The round was not proposed. Correct the fields named and try again.', outcome.errors);
    return reply.code(201).header('Location', `/api/v1/programme/rounds/${outcome.roundId}`).send(await roundView(db, actor, outcome.roundId));
  });

  app.get('/programme/rounds/:id', { config: { access: 'audits.allocate' } }, async (request) => {
    return roundView(db, { principal: request.principal!, ipAddress: request.ip, at: request.at }, (request.params as { id: string }).id);
  });

  app.post('/programme/rounds/:id/confirm', { config: { access: 'audits.allocate' } }, async (request) => {
    const actor = { principal: request.principal!, ipAddress: request.ip, at: request.at };
    const outcome = await confirmSamplingRound(db, actor, (request.params as { id: string }).id, { today: request.today });
    if (!outcome.ok) throw conflict(outcome.errors.map((error) => error.message).join(' '));
    return { alreadyConfirmed: outcome.alreadyConfirmed, audits: outcome.audits };
  });
  // --- end of sampling rounds ---

  app.get('/tools', { config: { access: 'tools.view' } }, async (request) => {
    const tools = await listTools(db, request.principal!.organisationId);
    return {
      tools: tools.map((tool) => ({
        id: tool.id,
        key: tool.key,
        name: tool.name,
        description: tool.description,
        editions: tool.editions.map((edition) => ({ id: edition.id, edition: edition.edition, status: edition.status, publishedAt: new Date(edition.publishedAt).toISOString() })),
      })),
    };
  });

  app.get('/tools/:toolId/editions/:editionId', { config: { access: 'tools.view' } }, async (request) => {
    const params = z.object({ toolId: z.uuid(), editionId: z.uuid() }).safeParse(request.params);
    const edition = params.success ? await findEdition(db, request.principal!.organisationId, params.data.toolId, params.data.editionId) : undefined;
    if (!edition) throw notFound('Audit tool edition');
    return {
      id: edition.id,
      toolId: edition.tool_id,
      key: edition.tool_key,
      name: edition.tool_name,
      edition: edition.edition,
      status: edition.status,
      publishedAt: new Date(edition.published_at).toISOString(),
      schemaVersion: edition.schema_version,
      source: edition.source,
      definition: edition.definition,
    };
  });

  // The audit programme: the schedule of expectations and compliance with it.
  programmeApiRoutes(app, db);
}

/**
 * One audit as the API answers it, with "due" as the tracker and its list give it: `dueOn` is the
 * deadline of the stage it is in (`stage`), and the auditor's first deadline is `auditorDueOn`.
 */
function apiAudit(audit: AuditRecord, overdue: boolean) {
  const { stageDueOn, dueOn, ...rest } = audit;
  return { ...rest, stage: audit.stage, dueOn: stageDueOn, auditorDueOn: dueOn, overdue };
}

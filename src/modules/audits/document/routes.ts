import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AppDependencies } from '../../../platform/http/types.ts';
import { logActivity } from '../../../platform/activity.ts';
import { notFound } from '../../../platform/errors.ts';
import { auditDocxBuffer } from './docx.ts';
import { fileNamePart, typedForExport } from './export-text.ts';
import { councilName, loadAuditDocument } from './load.ts';
import { buildAuditDocument, type AuditDocument, type PageMarks } from './model.ts';
import { buildBlankForm } from './blank-form.ts';
import { findEdition } from '../../tools/library.ts';
import { auditPdf } from './pdf.ts';
import { distributionDocumentSection } from '../distribution/document.ts';
import { escalationDocumentSection } from '../escalation/document.ts';

const DOCX_TYPE = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

const AUDIT_ID = z.uuid();
const editionParams = z.object({ toolId: z.uuid(), editionId: z.uuid() });

/**
 * Reading one audit and downloading it: the same reach as the audit's page (anyone else gets
 * "not found"), and every read and download in the activity log against the child. A tool
 * edition downloads as a blank form, to whoever may open the edition's page.
 */
export async function auditDocumentRoutes(app: FastifyInstance, { db, config }: AppDependencies) {
  async function load(request: FastifyRequest, exported: boolean) {
    const id = AUDIT_ID.safeParse((request.params as { id?: string }).id);
    const input = id.success ? await loadAuditDocument(db, request.principal!, id.data) : null;
    if (!input) throw notFound('Audit');
    const typed = exported ? typedForExport : (text: string) => text;
    const document = buildAuditDocument(input, { typed });
    const organisationId = request.principal!.organisationId;
    // Independent questions, asked at once; the sections keep their order.
    const [escalation, distribution] = await Promise.all([
      escalationDocumentSection(db, organisationId, input, typed),
      distributionDocumentSection(db, organisationId, input, typed),
    ]);
    if (escalation) document.sections.push(escalation);
    if (distribution) document.sections.push(distribution);
    return { audit: input.audit, document };
  }

  /** What heads each page of a download (the read view on screen has none). */
  async function pageMarks(request: FastifyRequest, document: AuditDocument): Promise<PageMarks> {
    return { marking: config.protectiveMarking, council: await councilName(db, request.principal!.organisationId), subject: `Case ID ${document.childExternalId}` };
  }

  async function logged(request: FastifyRequest, audit: { id: string; child: { id: string } }, action: 'view' | 'export', summary: string) {
    await logActivity(db, { principal: request.principal!, ipAddress: request.ip, at: request.at }, { action, recordType: 'audit', recordId: audit.id, childId: audit.child.id, summary });
  }

  app.get('/audits/:id/read', { config: { access: 'audits.view' } }, async (request, reply) => {
    const { audit, document } = await load(request, false);
    await logged(request, audit, 'view', 'Read view');
    return reply.page('audits/document/views/read.njk', { document, auditId: audit.id });
  });

  app.get('/audits/:id/export.docx', { config: { access: 'audits.view' } }, async (request, reply) => {
    const { audit, document } = await load(request, true);
    const bytes = await auditDocxBuffer(document, await pageMarks(request, document));
    await logged(request, audit, 'export', 'DOCX');
    return download(reply, document, 'docx', DOCX_TYPE).send(bytes);
  });

  app.get('/audits/:id/export.pdf', { config: { access: 'audits.view' } }, async (request, reply) => {
    const { audit, document } = await load(request, true);
    const bytes = await auditPdf(document, await pageMarks(request, document));
    await logged(request, audit, 'export', 'PDF');
    return download(reply, document, 'pdf', 'application/pdf').send(bytes);
  });

  /** The edition as a blank form, DOCX or PDF; its download goes to the activity log like every export. */
  async function blankForm(request: FastifyRequest, reply: FastifyReply, format: 'docx' | 'pdf') {
    const params = editionParams.safeParse(request.params);
    const organisationId = request.principal!.organisationId;
    const edition = params.success ? await findEdition(db, organisationId, params.data.toolId, params.data.editionId) : undefined;
    if (!edition) throw notFound('Audit tool edition');
    const form = buildBlankForm(edition.definition, { toolName: edition.tool_name, edition: edition.edition });
    const marks: PageMarks = { marking: config.protectiveMarking, council: await councilName(db, organisationId), subject: `${form.toolName}, edition ${edition.edition}` };
    const bytes = format === 'docx' ? await auditDocxBuffer(form, marks) : await auditPdf(form, marks);
    await logActivity(
      db,
      { principal: request.principal!, ipAddress: request.ip, at: request.at },
      { action: 'export', recordType: 'audit_tool_edition', recordId: edition.id, summary: `Blank form ${format.toUpperCase()}: ${edition.tool_name} edition ${edition.edition}` },
    );
    const name = `${fileNamePart(edition.tool_key)}-${fileNamePart(edition.edition)}-blank-form.${format}`;
    return attachment(reply, name, format === 'docx' ? DOCX_TYPE : 'application/pdf').send(bytes);
  }

  app.get('/tools/:toolId/editions/:editionId/form.docx', { config: { access: 'tools.view' } }, (request, reply) => blankForm(request, reply, 'docx'));
  app.get('/tools/:toolId/editions/:editionId/form.pdf', { config: { access: 'tools.view' } }, (request, reply) => blankForm(request, reply, 'pdf'));
}

function download(reply: FastifyReply, document: AuditDocument, extension: string, contentType: string) {
  return attachment(reply, `audit-${document.reference}-${fileNamePart(document.childExternalId)}.${extension}`, contentType);
}

function attachment(reply: FastifyReply, name: string, contentType: string) {
  return reply.header('Content-Type', contentType).header('Content-Disposition', `attachment; filename="${name}"`).header('Cache-Control', 'no-store');
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AppDependencies } from '../../../platform/http/types.ts';
import { logActivity } from '../../../platform/activity.ts';
import { notFound } from '../../../platform/errors.ts';
import { auditDocxBuffer } from './docx.ts';
import { fileNamePart, typedForExport } from './export-text.ts';
import { loadAuditDocument } from './load.ts';
import { buildAuditDocument, type AuditDocument } from './model.ts';
import { auditPdf } from './pdf.ts';
import { distributionDocumentSection } from '../distribution/document.ts';
import { escalationDocumentSection } from '../escalation/document.ts';

const DOCX_TYPE = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

/**
 * Reading one audit and downloading it: the same reach as the audit's page (anyone else gets
 * "not found"), and every read and download in the activity log against the child.
 */
export async function auditDocumentRoutes(app: FastifyInstance, { db }: AppDependencies) {
  async function load(request: FastifyRequest, exported: boolean) {
    const id = z.uuid().safeParse((request.params as { id?: string }).id);
    const input = id.success ? await loadAuditDocument(db, request.principal!, id.data) : null;
    if (!input) throw notFound('Audit');
    const typed = exported ? typedForExport : (text: string) => text;
    const document = buildAuditDocument(input, { typed });
    const organisationId = request.principal!.organisationId;
    const escalation = await escalationDocumentSection(db, organisationId, input, typed);
    if (escalation) document.sections.push(escalation);
    const distribution = await distributionDocumentSection(db, organisationId, input, typed);
    if (distribution) document.sections.push(distribution);
    return { audit: input.audit, document };
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
    const bytes = await auditDocxBuffer(document);
    await logged(request, audit, 'export', 'DOCX');
    return download(reply, document, 'docx', DOCX_TYPE).send(bytes);
  });

  app.get('/audits/:id/export.pdf', { config: { access: 'audits.view' } }, async (request, reply) => {
    const { audit, document } = await load(request, true);
    const bytes = await auditPdf(document);
    await logged(request, audit, 'export', 'PDF');
    return download(reply, document, 'pdf', 'application/pdf').send(bytes);
  });
}

function download(reply: FastifyReply, document: AuditDocument, extension: string, contentType: string) {
  const name = `audit-${document.reference}-${fileNamePart(document.childExternalId)}.${extension}`;
  return reply.header('Content-Type', contentType).header('Content-Disposition', `attachment; filename="${name}"`).header('Cache-Control', 'no-store');
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AppDependencies } from '../../platform/http/types.ts';
import { logActivity } from '../../platform/activity.ts';
import { AppError, notFound, type FieldError } from '../../platform/errors.ts';
import { postedVersion } from '../audits/http.ts';
import { councilName } from '../audits/document/load.ts';
import { issuedReportDocx, issuedReportPdf } from './document.ts';
import { attachment } from './export-routes.ts';
import { commentaryField, findCommentary, findIssued, issuedInReach, issueReport, MAX_COMMENTARY, REPORT_TITLE, reportKey, saveCommentary } from './issue.ts';
import { fileName, outputCharts, outputSections, outputTables, reportQuery } from './outputs.ts';
import { periodChoices, periodValue } from './period.ts';
import { buildReport, type Report } from './report.ts';

const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
const REPORT_FIELDS = ['period', 'from', 'to', 'service', 'team', 'tool'] as const;

/**
 * The quarterly QA report: the QA lead writes a commentary per section and issues it; anyone
 * who reads reports downloads the issued editions within their reach (see issue.ts).
 */
export async function reportIssueRoutes(app: FastifyInstance, { db, config }: AppDependencies) {
  async function reportFor(request: FastifyRequest, source: Record<string, unknown>) {
    const query = Object.fromEntries(REPORT_FIELDS.map((field) => [field, source[field]]));
    const report = await buildReport(db, request.principal!, query, request.today);
    const sections = outputSections(outputTables(report), outputCharts(report));
    return { report, sections };
  }

  async function showPage(request: FastifyRequest, reply: FastifyReply, report: Report, sections: string[], state: { status?: number; errors?: FieldError[]; texts?: Record<string, string>; version?: number; theirs?: Record<string, string>; issued?: string | null; saved?: boolean }) {
    const key = reportKey(report);
    const stored = await findCommentary(db, request.principal!.organisationId, key);
    const texts = state.texts ?? stored.commentary;
    const editions = await issuedInReach(db, request.principal!, key).execute();
    const issued = state.issued ? editions.find((edition) => edition.id === state.issued) : undefined;
    return reply.code(state.status ?? (report.errors.length ? 400 : 200)).page('reports/views/quarterly.njk', {
      title: REPORT_TITLE,
      report,
      errors: state.errors ?? report.errors,
      query: reportQuery(report).toString(),
      hidden: Object.fromEntries(reportQuery(report)),
      version: state.version ?? stored.version,
      sections: sections.map((title) => {
        const field = commentaryField(title);
        return { title, field, text: texts[field] ?? '', theirs: state.theirs ? (state.theirs[field] ?? '') : null };
      }),
      editions,
      issued,
      saved: state.saved ?? false,
      values: { period: periodValue(report.period) },
      choices: periodChoices(request.today),
    });
  }

  app.get('/reports/quarterly', { config: { access: 'reports.issue' } }, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const { report, sections } = await reportFor(request, query);
    const issued = z.uuid().safeParse(query.issued);
    return showPage(request, reply, report, sections, { issued: issued.success ? issued.data : null, saved: query.saved === '1' });
  });

  app.post('/reports/quarterly', { config: { access: 'reports.issue' } }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const { report, sections } = await reportFor(request, body);
    if (report.errors.length) throw new AppError('BAD_REQUEST', report.errors.map((error) => error.message).join('. '), report.errors);
    const texts: Record<string, string> = {};
    const errors: FieldError[] = [];
    for (const title of sections) {
      const field = commentaryField(title);
      const text = typeof body[field] === 'string' ? (body[field] as string).replace(/\r\n?/g, '\n') : '';
      if (text.length > MAX_COMMENTARY) errors.push({ field, message: `Commentary on ${title} must be ${MAX_COMMENTARY.toLocaleString('en-GB')} characters or fewer` });
      texts[field] = text;
    }
    const version = postedVersion(body);
    if (errors.length) return showPage(request, reply, report, sections, { status: 422, errors, texts, version });
    const principal = request.principal!;
    const stale = (current: { commentary: Record<string, string>; version: number }) => {
      // Someone saved meanwhile: nothing is written, the reader keeps their text and sees what is stored now.
      const message = 'Someone else saved commentary on this report since you opened it. Your text is below, with theirs beside it: combine them, then save again.';
      return showPage(request, reply, report, sections, { status: 409, errors: [{ field: commentaryField(sections[0] ?? ''), message }], texts, version: current.version, theirs: current.commentary });
    };
    const query = reportQuery(report);
    if (body.action === 'issue') {
      const issued = await issueReport(db, { principal, ipAddress: request.ip, at: request.at }, request.today, report, texts, version);
      if (!issued.ok) return stale(issued.current);
      query.set('issued', issued.id);
    } else {
      const saved = await saveCommentary(db, principal, request.at, reportKey(report), texts, version);
      if (!saved.ok) return stale(saved.current);
      query.set('saved', '1');
    }
    return reply.redirect(`/reports/quarterly?${query}`, 303);
  });

  app.get('/reports/issued', { config: { access: 'reports.view' } }, async (request, reply) => {
    const editions = await issuedInReach(db, request.principal!).execute();
    return reply.page('reports/views/issued.njk', { editions, canIssue: request.principal!.grants.some((grant) => grant.role === 'qa_lead') });
  });

  for (const format of ['docx', 'pdf'] as const) {
    app.get(`/reports/issued/:id/report.${format}`, { config: { access: 'reports.view' } }, async (request, reply) => {
      const id = z.uuid().safeParse((request.params as { id?: string }).id);
      const principal = request.principal!;
      const found = id.success ? await findIssued(db, principal, id.data) : null;
      if (!found) throw notFound('Issued report');
      const marks = { marking: config.protectiveMarking, council: await councilName(db, principal.organisationId), subject: `${REPORT_TITLE}, ${found.period_label.replace(/ \(.*\)$/, '')}, edition ${found.edition}` };
      const facts = { edition: found.edition, issuedByName: found.issued_by_name, issuedAt: new Date(found.issued_at) };
      const bytes = format === 'docx' ? await issuedReportDocx(found.content, facts, marks) : await issuedReportPdf(found.content, facts, marks);
      await logActivity(db, { principal, ipAddress: request.ip, at: request.at }, { action: 'export', recordType: 'issued_report', recordId: found.id, summary: `${format.toUpperCase()}: ${found.period_label}, edition ${found.edition}` });
      const name = `${fileName('quarterly-qa-report', found.period_label.replace(/ \(.*\)$/, ''), `edition-${found.edition}`)}.${format}`;
      return attachment(reply, name, format === 'docx' ? DOCX : 'application/pdf').send(bytes);
    });
  }
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AppDependencies } from '../../platform/http/types.ts';
import { can, type Principal } from '../../platform/access.ts';
import { logActivity } from '../../platform/activity.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { describeReportFilters, fileName, outputTables, reportQuery, tableCsv, tableXlsx } from './outputs.ts';
import { buildReport, type Report } from './report.ts';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/**
 * Each table of the Reports page as a CSV or XLSX download, for the same period and filters
 * as the page it was linked from, counted within the reader's scope exactly as the page is.
 * Every download goes to the activity log.
 */
export async function reportExportRoutes(app: FastifyInstance, { db }: AppDependencies) {
  async function tableOf(request: FastifyRequest) {
    const query = request.query as Record<string, unknown>;
    const id = z.string().max(80).safeParse(query.table);
    const report = await buildReport(db, request.principal!, query, request.today);
    if (report.errors.length) throw new AppError('BAD_REQUEST', report.errors.map((error) => error.message).join('. '), report.errors);
    const table = id.success ? outputTables(report).find((found) => found.id === id.data) : undefined;
    if (!table) throw notFound('Report table');
    return { report, table };
  }

  for (const format of ['csv', 'xlsx'] as const) {
    app.get(`/reports/export.${format}`, { config: { access: 'reports.view' } }, async (request, reply) => {
      const { report, table } = await tableOf(request);
      const bytes = format === 'csv' ? tableCsv(table) : await tableXlsx(table);
      await logActivity(
        db,
        { principal: request.principal!, ipAddress: request.ip, at: request.at },
        { action: 'export', recordType: 'report_table', summary: `${format.toUpperCase()}: ${table.title}; ${report.period.label}${describeReportFilters(report)}` },
      );
      return attachment(reply, `${fileName(table.id, report.period.label.replace(/ \(.*\)$/, ''))}.${format}`, format === 'csv' ? 'text/csv; charset=utf-8' : XLSX).send(bytes);
    });
  }
}

/** What the Reports page links to beside its tables: each table's two downloads, the quarterly report, the data feed. */
export function reportOutputs(report: Report, principal: Principal) {
  const query = reportQuery(report);
  const tables = outputTables(report).map((table) => {
    const params = new URLSearchParams(query);
    params.set('table', table.id);
    return { id: table.id, section: table.section, title: table.title, csv: `/reports/export.csv?${params}`, xlsx: `/reports/export.xlsx?${params}` };
  });
  return { tables, query: query.toString(), canIssue: can(principal, 'reports.issue') };
}

export function attachment(reply: FastifyReply, name: string, contentType: string) {
  return reply.header('Content-Type', contentType).header('Content-Disposition', `attachment; filename="${name}"`).header('Cache-Control', 'no-store');
}

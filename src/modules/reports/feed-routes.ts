import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../../db/index.ts';
import type { AppDependencies } from '../../platform/http/types.ts';
import { reportScope } from '../../platform/access.ts';
import { logActivity } from '../../platform/activity.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { FEED_COLUMNS, FEED_DATASETS, feedCsv, type FeedDataset } from './feed.ts';
import { fileName } from './outputs.ts';
import { parseReportPeriod } from './period.ts';

/**
 * The BI data feed as CSV: on the Reports pages (`/reports/feed/audits.csv` …) and on the API
 * with a bearer token (`/api/v1/feed/audits` …). Same scope as the reports (access.ts `reportScope`), a period filter
 * like theirs (`period=q:2026-3`, `fy:2026`, `m:2026-05` or `period=range&from=…&to=…`; the
 * current quarter when none is given), streamed, and every download in the activity log.
 */
export async function reportFeedRoutes(app: FastifyInstance, { db }: AppDependencies) {
  app.get('/reports/feed/:file', { config: { access: 'reports.view' } }, async (request, reply) => {
    const file = (request.params as { file?: string }).file ?? '';
    const dataset = FEED_DATASETS.find((name) => `${name}.csv` === file);
    if (!dataset) throw notFound('Data feed');
    return sendFeed(db, request, reply, dataset, 'CSV');
  });

  app.get('/reports/feed', { config: { access: 'reports.view' } }, async (request, reply) => {
    const query = new URLSearchParams(Object.entries(request.query as Record<string, string>).filter(([key]) => ['period', 'from', 'to'].includes(key)));
    return reply.page('reports/views/feed.njk', {
      datasets: FEED_DATASETS.map((name) => ({ name, ...FEED_COLUMNS[name], href: `/reports/feed/${name}.csv${query.size ? `?${query}` : ''}` })),
    });
  });

}

/** The feed on the API, registered under /api/v1: `/feed/audits`, `/feed/judgements`, `/feed/feedback`, `/feed/family_feedback`, `/feed/actions`. */
export async function reportFeedApiRoutes(app: FastifyInstance, { db }: AppDependencies) {
  app.get('/feed/:dataset', { config: { access: 'reports.view' } }, async (request, reply) => {
    const name = (request.params as { dataset?: string }).dataset;
    const dataset = FEED_DATASETS.find((known) => known === name);
    if (!dataset) throw notFound('Data feed');
    return sendFeed(db, request, reply, dataset, 'API');
  });
}

async function sendFeed(db: Db, request: FastifyRequest, reply: FastifyReply, dataset: FeedDataset, channel: string) {
  const { period, errors } = parseReportPeriod(request.query as Record<string, unknown>, request.today);
  if (errors.length) throw new AppError(request.isApi ? 'INVALID' : 'BAD_REQUEST', errors.map((error) => error.message).join('. '), errors);
  const principal = request.principal!;
  await logActivity(db, { principal, ipAddress: request.ip, at: request.at }, { action: 'export', recordType: 'report_feed', summary: `${channel}: ${dataset}; ${period.label}` });
  return reply
    .header('Content-Type', 'text/csv; charset=utf-8')
    .header('Content-Disposition', `attachment; filename="${fileName(dataset, period.label.replace(/ \(.*\)$/, ''))}.csv"`)
    .header('Cache-Control', 'no-store')
    .send(feedCsv(db, reportScope(principal), dataset, period, request.today));
}


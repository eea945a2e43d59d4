import type { FastifyInstance } from 'fastify';
import type { AppDependencies } from '../../platform/http/types.ts';
import { GRADE_LABELS, GRADES } from '../audits/tracker.ts';
import { ACTIVITY_EVENTS, SCORES } from './measures.ts';
import { periodChoices, periodValue } from './period.ts';
import { reportOutputs } from './export-routes.ts';
import { buildReport, STAGE_NAMES } from './report.ts';

const EVENT_LABELS = { allocated: 'Allocated', submitted: 'Submitted', moderated: 'Moderated', closed: 'Closed' } as const;

export async function reportRoutes(app: FastifyInstance, deps: AppDependencies) {
  const { db } = deps;

  app.get('/reports', { config: { access: 'reports.view' } }, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const report = await buildReport(db, request.principal!, query, request.today);
    return reply.code(report.errors.length ? 400 : 200).page('reports/views/reports.njk', {
      report,
      errors: report.errors,
      values: { period: report.errors.length ? periodValue(report.period) : (query.period ?? periodValue(report.period)), from: query.from, to: query.to, ...report.filters },
      choices: periodChoices(request.today),
      grades: GRADES.map((grade) => ({ grade, label: GRADE_LABELS[grade] })),
      events: ACTIVITY_EVENTS.map((event) => ({ event, label: EVENT_LABELS[event] })),
      outputs: reportOutputs(report, request.principal!),
      stageNames: STAGE_NAMES,
      scores: SCORES,
    });
  });
}

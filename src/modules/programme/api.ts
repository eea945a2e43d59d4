import type { FastifyInstance } from 'fastify';
import type { Db } from '../../db/index.ts';
import { logActivity } from '../../platform/activity.ts';
import { invalid } from '../../platform/errors.ts';
import { allLines, complianceReport, RAG_LABELS } from './compliance.ts';
import { scheduleVersions } from './schedule-edit.ts';
import { ACTIVITIES_IN_ASSURE } from './schedule.ts';

/**
 * The programme over the API: the schedule of expectations (every version) and compliance for a
 * period, with the same access and scope as the pages (`programme.view`).
 */
export function programmeApiRoutes(app: FastifyInstance, db: Db) {
  app.get('/programme/schedule', { config: { access: 'programme.view' } }, async (request) => {
    const versions = await scheduleVersions(db, request.principal!.organisationId);
    const inForce = versions.find((version) => version.appliesFrom <= request.today) ?? null;
    return {
      inForce: inForce?.id ?? null,
      versions: versions.map((version) => ({
        id: version.id,
        appliesFrom: version.appliesFrom,
        note: version.note,
        rows: version.rows.map((row) => ({ ...row, inAssure: ACTIVITIES_IN_ASSURE.includes(row.activity) })),
      })),
    };
  });

  app.get('/programme/compliance', { config: { access: 'programme.view' } }, async (request) => {
    const compliance = await complianceReport(db, request.principal!, request.query as Record<string, unknown>, request.today);
    if (compliance.errors.length) throw invalid('The period is not one Assure knows', compliance.errors);
    await logActivity(db, { principal: request.principal, ipAddress: request.ip, at: request.at }, { action: 'view', recordType: 'programme_compliance', summary: `API: compliance for ${compliance.period.label}` });
    return {
      period: { from: compliance.period.from, to: compliance.period.to, label: compliance.period.label },
      hasSchedule: compliance.hasSchedule,
      lines: allLines(compliance).map((line) => ({
        level: line.kind,
        id: line.id,
        name: line.name,
        teamId: line.teamId,
        serviceId: line.serviceId,
        countedFrom: line.countFrom,
        countedTo: line.countTo,
        ...line.counts,
        rag: line.rag,
        status: RAG_LABELS[line.rag].word,
        reason: line.reason,
        allocatedHref: line.figures.allocated.href,
        overdueHref: line.figures.overdue.href,
      })),
    };
  });
}

const integer = { type: 'integer' };
const complianceLine = {
  type: 'object',
  required: ['level', 'id', 'name', 'expected', 'allocated', 'completedOnTime', 'completedLate', 'overdue', 'notYetAllocated', 'rag'],
  properties: {
    level: { type: 'string', enum: ['service', 'team', 'auditor'] },
    id: { type: 'string', format: 'uuid', description: 'The service, team or staff member' },
    name: { type: 'string' },
    teamId: { type: ['string', 'null'] },
    serviceId: { type: ['string', 'null'] },
    countedFrom: { type: 'string', format: 'date', description: 'Audits allocated from this day count: the first day of the schedule periods the period touches' },
    countedTo: { type: 'string', format: 'date' },
    expected: integer,
    allocated: integer,
    completedOnTime: integer,
    completedLate: integer,
    overdue: integer,
    notYetAllocated: integer,
    rag: { type: 'string', enum: ['red', 'amber', 'green', 'none'], description: 'red: a period ended short or an audit is overdue; amber: audits still to complete, or one completed late; green: on track' },
    status: { type: 'string', description: 'The colour in words' },
    reason: { type: 'string' },
    allocatedHref: { type: ['string', 'null'], description: 'The audit tracker filtered to the allocated audits' },
    overdueHref: { type: ['string', 'null'], description: 'The audit tracker filtered to the overdue audits' },
  },
};

/** The programme's paths in the OpenAPI document. */
export const PROGRAMME_OPENAPI_PATHS = {
  '/programme/schedule': {
    get: {
      operationId: 'getSchedule',
      summary: 'The schedule of expectations: every version, newest first, with its rows',
      description: 'Needs the right to view the audit programme (QA coordinator, QA lead, senior leader, moderator).',
      responses: { '200': { description: 'The versions and which is in force today', content: { 'application/json': { schema: { type: 'object', properties: { inForce: { type: ['string', 'null'] }, versions: { type: 'array', items: { type: 'object' } } } } } } } },
    },
  },
  '/programme/compliance': {
    get: {
      operationId: 'getCompliance',
      summary: 'Compliance with the schedule for a period, per service, team and auditor you may see',
      parameters: [
        { name: 'period', in: 'query', description: 'q:2026-1 (Q1 of the financial year 2026–27), m:2026-05, fy:2026, or range with from and to', schema: { type: 'string' } },
        { name: 'from', in: 'query', schema: { type: 'string', format: 'date' } },
        { name: 'to', in: 'query', schema: { type: 'string', format: 'date' } },
      ],
      responses: {
        '200': { description: 'The lines', content: { 'application/json': { schema: { type: 'object', properties: { period: { type: 'object' }, hasSchedule: { type: 'boolean' }, lines: { type: 'array', items: complianceLine } } } } } },
        '422': { description: 'The period is not one Assure knows' },
      },
    },
  },
} as const;

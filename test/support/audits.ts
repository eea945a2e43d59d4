import { systemClock, ukToday } from '../../src/platform/clock.ts';
import { addDays } from '../../src/platform/working-days.ts';
import type { Db } from '../../src/db/index.ts';
import type { AuditStatus, Grade } from '../../src/db/types.ts';

/**
 * Audits written straight into the database, for tests of what reads them (the tracker,
 * the API). This skips allocation's rules: tests of allocation go through allocateAudit.
 */

export async function createAuditTool(db: Db, organisationId: string, input: { key?: string; name?: string; edition?: string } = {}) {
  const tool = await db
    .insertInto('audit_tools')
    .values({ organisation_id: organisationId, key: input.key ?? 'case-file', name: input.name ?? 'Case file audit' })
    .returning(['id', 'name'])
    .executeTakeFirstOrThrow();
  const edition = await db
    .insertInto('audit_tool_editions')
    .values({
      organisation_id: organisationId,
      tool_id: tool.id,
      edition: input.edition ?? '2026.1',
      definition: JSON.stringify({ sections: [] }),
      source: 'test',
    })
    .returning(['id', 'edition'])
    .executeTakeFirstOrThrow();
  return { toolId: tool.id, toolName: tool.name, editionId: edition.id, edition: edition.edition };
}

/** Another edition of a tool: published (the default) or archived, published at a given time. */
export async function createToolEdition(
  db: Db,
  organisationId: string,
  toolId: string,
  input: { edition: string; status?: 'published' | 'archived'; publishedAt?: string },
) {
  return db
    .insertInto('audit_tool_editions')
    .values({
      organisation_id: organisationId,
      tool_id: toolId,
      edition: input.edition,
      definition: JSON.stringify({ sections: [] }),
      source: 'test',
      status: input.status ?? 'published',
      ...(input.publishedAt ? { published_at: input.publishedAt } : {}),
    })
    .returning(['id', 'edition'])
    .executeTakeFirstOrThrow();
}

/** The tool a service's audits use unless the coordinator chooses another. */
export async function setServiceDefaultTool(db: Db, organisationId: string, serviceId: string, toolId: string) {
  await db.insertInto('service_default_tools').values({ organisation_id: organisationId, service_id: serviceId, tool_id: toolId }).execute();
}

export async function createChild(
  db: Db,
  organisationId: string,
  input: { externalId: string; initials: string; teamId?: string | null; workerId?: string | null; closeDate?: string | null },
) {
  return db
    .insertInto('children')
    .values({
      organisation_id: organisationId,
      external_id: input.externalId,
      initials: input.initials,
      legal_status: 'cin',
      allocated_team_id: input.teamId ?? null,
      allocated_worker_id: input.workerId ?? null,
      open_date: '2024-01-01',
      close_date: input.closeDate ?? null,
      referral_factors: JSON.stringify([]),
    })
    .returning(['id', 'external_id'])
    .executeTakeFirstOrThrow();
}

export type AuditInput = {
  organisationId: string;
  childId: string;
  toolEditionId: string;
  auditorId: string;
  caseHolderId?: string | null;
  moderatorId?: string | null;
  teamId?: string | null;
  serviceId?: string | null;
  status?: AuditStatus;
  allocatedOn?: string;
  /** A date, or a number of days from today's UK date (negative: in the past), the date the application reads. */
  due?: string | number;
  /** The deadline of the stage it is in (a date or days from today); none unless given. */
  stageDue?: string | number | null;
  submittedAt?: string | null;
  moderatedAt?: string | null;
  auditorGrade?: Grade | null;
  finalGrade?: Grade | null;
};

/** A date as given, or that many days from today's UK date: not the database's `current_date`, which is UTC's and a day behind the UK's for an hour each summer night. */
function dayFromToday(day: string | number): string {
  return typeof day === 'number' ? addDays(ukToday(systemClock), day) : day;
}

export async function createAudit(db: Db, input: AuditInput) {
  return db
    .insertInto('audits')
    .values({
      organisation_id: input.organisationId,
      child_id: input.childId,
      tool_edition_id: input.toolEditionId,
      auditor_id: input.auditorId,
      case_holder_id: input.caseHolderId ?? null,
      moderator_id: input.moderatorId ?? null,
      team_id: input.teamId ?? null,
      service_id: input.serviceId ?? null,
      status: input.status ?? 'allocated',
      allocated_on: input.allocatedOn ?? dayFromToday(0),
      due_on: dayFromToday(input.due ?? 28),
      stage_due_on: input.stageDue == null ? null : dayFromToday(input.stageDue),
      submitted_at: input.submittedAt ?? null,
      moderated_at: input.moderatedAt ?? null,
      auditor_grade: input.auditorGrade ?? null,
      final_grade: input.finalGrade ?? null,
      answers: JSON.stringify({}),
    })
    .returning(['id', 'reference'])
    .executeTakeFirstOrThrow();
}

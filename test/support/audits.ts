import { sql } from 'kysely';
import type { Db } from '../../src/db/index.ts';
import type { AuditStatus, Grade } from '../../src/db/types.ts';

/**
 * Audits written straight into the database, for tests of what reads them (the tracker,
 * the API). Allocation will create audits properly in a later issue; this skips its rules.
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

export async function createChild(db: Db, organisationId: string, input: { externalId: string; initials: string; teamId?: string | null; workerId?: string | null }) {
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
  /** A date, or a number of days from today in the database's clock (negative: in the past). */
  due?: string | number;
  submittedAt?: string | null;
  moderatedAt?: string | null;
  auditorGrade?: Grade | null;
  finalGrade?: Grade | null;
};

export async function createAudit(db: Db, input: AuditInput) {
  const due = input.due ?? 28;
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
      allocated_on: input.allocatedOn ?? sql<string>`current_date`,
      due_on: typeof due === 'number' ? sql<string>`current_date + ${due}::int` : due,
      submitted_at: input.submittedAt ?? null,
      moderated_at: input.moderatedAt ?? null,
      auditor_grade: input.auditorGrade ?? null,
      final_grade: input.finalGrade ?? null,
      answers: JSON.stringify({}),
    })
    .returning(['id', 'reference'])
    .executeTakeFirstOrThrow();
}

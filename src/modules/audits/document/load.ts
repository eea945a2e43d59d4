/**
 * Everything one audit's document is made from, read within the person's reach: the audit,
 * the tool edition it is pinned to (kept once read: tools/editions.ts), the child's facts its rules read, and the names of the
 * staff its answers name.
 */
import type { Db } from '../../../db/index.ts';
import type { Principal } from '../../../platform/access.ts';
import type { ChildFacts } from '../../tools/expression.ts';
import { editionDefinition } from '../../tools/editions.ts';
import { reAuditForm } from '../../tools/escalation.ts';
import { findAudit, type AuditRecord } from '../audit.ts';
import type { DocumentInput } from './model.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The audit's document input, or null when there is no such audit within the person's reach. */
export async function loadAuditDocument(db: Db, principal: Principal, auditId: string): Promise<DocumentInput | null> {
  const audit = await findAudit(db, principal, auditId);
  return audit ? loadDocumentOf(db, principal, audit) : null;
}

/**
 * The document input of an audit already found within the person's reach (findAudit), so a page
 * that has it does not look it up again.
 */
export async function loadDocumentOf(db: Db, principal: Principal, audit: AuditRecord): Promise<DocumentInput> {
  // The record has the child's facts and the edition; the edition's definition is kept once read.
  const [tool, staff] = await Promise.all([editionDefinition(db, principal.organisationId, audit.tool.editionId), staffNames(db, principal.organisationId, audit.answers)]);
  const { legalStatus, dateOfBirth, referralFactors } = audit.childFacts;
  return {
    audit,
    // A re-audit's document shows the tool's re-audit section, which its form asked.
    tool: audit.reAuditOf ? reAuditForm(tool) : tool,
    child: childFacts({ legal_status: legalStatus, date_of_birth: dateOfBirth, referral_factors: referralFactors }, audit.allocatedOn),
    staff,
  };
}

/** The child as the audit found them: their age on the day it was allocated, so the record reads the same whenever it is opened. */
function childFacts(row: { legal_status: string; date_of_birth: string | Date | null; referral_factors: unknown }, asOf: string): ChildFacts {
  return {
    legalStatus: row.legal_status,
    ageInYears: row.date_of_birth ? ageInYears(row.date_of_birth, asOf) : null,
    referralFactors: Array.isArray(row.referral_factors) ? (row.referral_factors as string[]) : [],
  };
}

/** The council's name, as it heads every page of a document that leaves Assure. */
export async function councilName(db: Db, organisationId: string): Promise<string> {
  const row = await db.selectFrom('organisations').select('name').where('id', '=', organisationId).executeTakeFirst();
  return row?.name ?? '';
}

/** Whole years from a date of birth to a day, both 'YYYY-MM-DD'. */
export function ageInYears(dateOfBirth: string | Date, today: string): number {
  const born = typeof dateOfBirth === 'string' ? dateOfBirth.slice(0, 10) : dateOfBirth.toISOString().slice(0, 10);
  const [by, bm, bd] = born.split('-').map(Number) as [number, number, number];
  const [ty, tm, td] = today.split('-').map(Number) as [number, number, number];
  return ty - by - (tm < bm || (tm === bm && td < bd) ? 1 : 0);
}

/** Names of the organisation's staff whose ids appear anywhere in the answers (staff answers, rows, feedback). */
async function staffNames(db: Db, organisationId: string, answers: unknown): Promise<Map<string, string>> {
  const ids = new Set<string>();
  const walk = (value: unknown, depth: number) => {
    if (depth > 6 || ids.size >= 1000) return;
    if (typeof value === 'string' && UUID.test(value)) ids.add(value.toLowerCase());
    else if (Array.isArray(value)) for (const item of value) walk(item, depth + 1);
    else if (value && typeof value === 'object') for (const item of Object.values(value)) walk(item, depth + 1);
  };
  walk(answers, 0);
  if (ids.size === 0) return new Map();
  const rows = await db.selectFrom('staff').select(['id', 'full_name']).where('organisation_id', '=', organisationId).where('id', 'in', [...ids]).execute();
  return new Map(rows.map((row) => [row.id, row.full_name]));
}

/**
 * Moderating an audit: the moderator reads the auditor's grades and evidence, keeps or changes
 * each section's grade and the overall grade (a change needs its reason), writes development
 * comments to the auditor, and either moderates the audit or returns it with what needs to
 * change. The moderator's grades are written beside the auditor's, never over them: rows of
 * audit_judgements at stage 'moderator'. The final grade is the moderated overall grade.
 */
import { z } from 'zod';
import { inTransaction, type Db } from '../../../db/index.ts';
import type { Grade } from '../../../db/types.ts';
import { roles, type Principal } from '../../../platform/access.ts';
import { logActivity } from '../../../platform/activity.ts';
import { forbidden, notFound, type FieldError } from '../../../platform/errors.ts';
import { overallGrade, scaleOf, sectionApplies } from '../../tools/judgements.ts';
import type { Answer, AuditTool } from '../../tools/schema.ts';
import type { AuditRecord } from '../audit.ts';
import { buildAuditDocument, type DocumentBlock } from '../document/model.ts';
import { loadAuditDocument } from '../document/load.ts';
import { escalateModeration } from '../escalation/re-audit.ts';
import { auditorSections } from '../form/answers.ts';
import { announceAuditEvent } from '../notifications.ts';
import { TransitionRefused, transitionAudit, type TransitionActor } from '../transitions.ts';

/** The judgement row that holds the overall grade. */
export const OVERALL_KEY = 'overall';
const REASON_MAX = 5000;
const COMMENTS_MAX = 20000;

type Option = { value: string; label: string; ofsted?: Grade | undefined };

/** One grade the moderator rules on: a section's judgement, or the overall grade. */
export type ModerationItem = {
  key: string;
  title: string;
  options: Option[];
  auditorGrade: string | null;
  auditorGradeLabel: string;
  /** What the auditor wrote in the section: answers and each judgement's evidence. */
  blocks: DocumentBlock[];
};

export type Moderation = {
  audit: AuditRecord;
  version: number;
  items: ModerationItem[];
  overall: ModerationItem | null;
  /** The auditor manages the case holder: the moderator should look hard at management oversight. */
  managementOversight: boolean;
  /**
   * What the auditor recorded in the sections without a grade to rule on (family feedback, file
   * recording, the action plan…): the moderator moderates the whole audit, so it is all shown.
   */
  otherSections: { key: string; title: string; blocks: DocumentBlock[] }[];
};

export type ModerationOutcome = { ok: true; finalGrade: Grade | null } | { ok: false; reason: 'invalid'; errors: FieldError[] } | { ok: false; reason: 'stale' };

/** The audit's moderator, or a QA lead; never the audit's own auditor. */
export function mayModerate(principal: Principal, audit: AuditRecord): boolean {
  if (principal.staffId && audit.auditor.id === principal.staffId) return false;
  return Boolean(principal.staffId && audit.moderator?.id === principal.staffId) || roles(principal).includes('qa_lead');
}

/**
 * The audit as its moderator sees it. Someone who cannot see the audit gets "not found";
 * someone who can but is not its moderator (or a QA lead) is refused.
 */
export async function openModeration(db: Db, principal: Principal, auditId: string): Promise<Moderation> {
  const input = await loadAuditDocument(db, principal, auditId);
  if (!input) throw notFound('Audit');
  const { audit } = input;
  if (!mayModerate(principal, audit)) throw forbidden();
  const tool = input.tool;
  const document = buildAuditDocument(input);
  const answers = audit.answers ?? {};
  const auditorRows = new Map(audit.grades.sections.filter((row) => row.stage === 'auditor').map((row) => [row.sectionKey, row.grade]));
  const overallKey = tool.overall?.answer;
  const items: ModerationItem[] = [];
  for (const section of auditorSections(tool)) {
    if (!sectionApplies(tool, section.key, answers, input.child)) continue;
    const judgement = section.answers.find((answer) => answer.kind === 'judgement');
    if (!judgement || judgement.key === overallKey) continue;
    const grade = auditorRows.get(section.key) ?? (typeof answers[judgement.key] === 'string' ? (answers[judgement.key] as string) : null);
    const blocks = document.sections.find((candidate) => candidate.key === section.key)?.blocks ?? [];
    items.push(item(tool, section.key, section.title.replace(/^\d+\.\s*/, ''), judgement, grade, blocks.filter((block) => block.type === 'answers' || block.type === 'judgement')));
  }
  const overallAnswer = overallKey ? answerByKey(tool, overallKey) : undefined;
  const overall = overallAnswer ? item(tool, OVERALL_KEY, 'Overall grade', overallAnswer, overallGrade(tool, answers, input.child).grade ?? null, []) : null;
  const row = await db
    .selectFrom('audits')
    .leftJoin('staff as holders', 'holders.id', 'audits.case_holder_id')
    .select(['audits.version', 'holders.line_manager_id'])
    .where('audits.id', '=', audit.id)
    .where('audits.organisation_id', '=', principal.organisationId)
    .executeTakeFirstOrThrow();
  // The auditor's own sections that applied and hold no grade to rule on; later stages' sections are not theirs.
  const graded = new Set(items.map((entry) => entry.key));
  const recorded = new Set(
    auditorSections(tool)
      .filter((section) => sectionApplies(tool, section.key, answers, input.child))
      .filter((section) => !section.answers.some((answer) => answer.kind === 'judgement'))
      .map((section) => section.key),
  );
  const otherSections = document.sections
    .filter((section) => recorded.has(section.key) && !graded.has(section.key))
    .map((section) => ({ key: section.key, title: section.title, blocks: section.blocks.filter((block) => block.type === 'answers' || block.type === 'table' || block.type === 'subheading') }))
    .filter((section) => section.blocks.length > 0);
  return { audit, version: row.version, items, overall, managementOversight: row.line_manager_id !== null && row.line_manager_id === audit.auditor.id, otherSections };
}

function answerByKey(tool: AuditTool, key: string): Answer | undefined {
  return [...tool.header, ...tool.sections.flatMap((section) => section.answers)].find((answer) => answer.key === key);
}

function item(tool: AuditTool, key: string, title: string, judgement: Answer, grade: string | null, blocks: DocumentBlock[]): ModerationItem {
  const scale = judgement.kind === 'judgement' ? scaleOf(tool, judgement.scale) : undefined;
  const options = (scale?.options ?? []).map((option) => ({ value: option.value, label: option.label, ofsted: option.ofsted }));
  const label = options.find((option) => option.value === grade)?.label ?? grade ?? 'Not graded';
  return { key, title, options, auditorGrade: grade, auditorGradeLabel: label, blocks };
}

/** Every item the moderator rules on, the overall grade last. */
export function moderationItems(moderation: Moderation): ModerationItem[] {
  return moderation.overall ? [...moderation.items, moderation.overall] : moderation.items;
}

const optionalText = (max: number, message: string) =>
  z.preprocess((value) => (typeof value === 'string' ? value : ''), z.string().trim().max(max, message));

/** The moderation form's fields: a grade and a reason per item, and the development comments. */
function moderationSchema(items: ModerationItem[]) {
  const shape: Record<string, z.ZodType> = {};
  for (const entry of items) {
    const message = `Select a grade for ${entry.title}`;
    shape[`grade-${entry.key}`] = z.string({ error: message }).refine((value) => entry.options.some((option) => option.value === value), message);
    shape[`reason-${entry.key}`] = optionalText(REASON_MAX, `The reason for changing ${entry.title} must be ${REASON_MAX} characters or fewer`);
  }
  shape.comments = optionalText(COMMENTS_MAX, `Development comments must be ${COMMENTS_MAX} characters or fewer`);
  return z.object(shape).superRefine((data, context) => {
    for (const entry of items) {
      const changed = data[`grade-${entry.key}`] !== entry.auditorGrade;
      if (changed && !data[`reason-${entry.key}`]) {
        context.addIssue({ code: 'custom', path: [`reason-${entry.key}`], message: `Enter the reason for changing the grade for ${entry.title}` });
      }
    }
  });
}

const fieldErrors = (error: z.ZodError): FieldError[] => error.issues.map((issue) => ({ field: String(issue.path[0] ?? 'form'), message: issue.message }));

const staleOf = (error: unknown) => error instanceof TransitionRefused && error.refusal === 'stale';

/**
 * Moderates the audit: records the moderator's grade for every section and the overall grade,
 * sets the final grade and moves the audit to moderated, in one transaction. Refused with
 * every problem on its field (nothing saved), or as stale when the audit changed since
 * `expectedVersion`.
 */
export async function moderateAudit(db: Db, actor: TransitionActor, auditId: string, fields: Record<string, unknown>, expectedVersion: number): Promise<ModerationOutcome> {
  const moderation = await openModeration(db, actor.principal, auditId);
  const items = moderationItems(moderation);
  const parsed = moderationSchema(items).safeParse(fields);
  if (!parsed.success) return { ok: false, reason: 'invalid', errors: fieldErrors(parsed.error) };
  const data = parsed.data as Record<string, string>;
  const graded = items.map((entry) => {
    const grade = data[`grade-${entry.key}`]!;
    return { entry, grade, reason: grade === entry.auditorGrade ? null : data[`reason-${entry.key}`]! };
  });
  const overall = graded.find(({ entry }) => entry.key === OVERALL_KEY);
  const finalGrade = overall ? (overall.entry.options.find((option) => option.value === overall.grade)?.ofsted ?? null) : moderation.audit.grades.auditor;
  const comments = data.comments || null;
  const { audit } = moderation;
  try {
    await inTransaction(db, async (trx) => {
      const moderated = await transitionAudit(trx, actor, audit.id, 'moderated', { expectedVersion });
      await trx.deleteFrom('audit_judgements').where('audit_id', '=', audit.id).where('stage', '=', 'moderator').execute();
      if (graded.length) {
        await trx
          .insertInto('audit_judgements')
          .values(graded.map(({ entry, grade, reason }) => ({ audit_id: audit.id, organisation_id: actor.principal.organisationId, section_key: entry.key, stage: 'moderator' as const, grade, reason })))
          .execute();
      }
      await trx.updateTable('audits').set({ final_grade: finalGrade, moderator_comments: comments }).where('id', '=', audit.id).execute();
      // What the tool sets off at the final grade: alerts, and (Inadequate) the re-audit allocated at once.
      await escalateModeration(trx, actor, audit.id, finalGrade);
      await announceAuditEvent(trx, actor, { auditId: audit.id, event: 'moderated', version: moderated.version });
      const changed = graded.filter(({ reason }) => reason !== null).length;
      await logActivity(trx, actor, {
        action: 'update',
        recordType: 'audit',
        recordId: audit.id,
        childId: audit.child.id,
        summary: `audit moderated: final grade ${finalGrade ?? 'none'}; ${changed} of ${graded.length} grades changed`,
      });
    });
  } catch (error) {
    if (staleOf(error)) return { ok: false, reason: 'stale' };
    throw error;
  }
  return { ok: true, finalGrade };
}

const returnSchema = z.object({
  changes: z.preprocess(
    (value) => (typeof value === 'string' ? value : ''),
    z.string().trim().min(1, 'Enter what needs to change').max(REASON_MAX, `What needs to change must be ${REASON_MAX} characters or fewer`),
  ),
});

/** Returns the audit to its auditor with what needs to change; they can then edit and resubmit it. */
export async function returnAudit(db: Db, actor: TransitionActor, auditId: string, fields: Record<string, unknown>, expectedVersion: number): Promise<ModerationOutcome> {
  const moderation = await openModeration(db, actor.principal, auditId);
  const parsed = returnSchema.safeParse(fields);
  if (!parsed.success) return { ok: false, reason: 'invalid', errors: fieldErrors(parsed.error) };
  try {
    // The auditor is told in the same transaction, with what needs to change.
    await inTransaction(db, async (trx) => {
      const returned = await transitionAudit(trx, actor, moderation.audit.id, 'returned', { reason: parsed.data.changes, expectedVersion });
      await announceAuditEvent(trx, actor, { auditId: moderation.audit.id, event: 'returned', version: returned.version, reason: parsed.data.changes });
    });
  } catch (error) {
    if (staleOf(error)) return { ok: false, reason: 'stale' };
    throw error;
  }
  return { ok: true, finalGrade: null };
}

/** Logs the moderator opening the audit (child-related). */
export async function logModerationView(db: Db, actor: TransitionActor, moderation: Moderation): Promise<void> {
  await logActivity(db, actor, { action: 'view', recordType: 'audit_moderation', recordId: moderation.audit.id, childId: moderation.audit.child.id, summary: 'moderation' });
}

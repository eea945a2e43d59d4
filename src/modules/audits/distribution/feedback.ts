/**
 * Practitioner feedback: once the audit is distributed, its case holder answers the tool's
 * practitioner feedback questions (the section of kind practitionerFeedback; a built-in set
 * when the tool has none). An improvement plan is required when the final grade is Requires
 * improvement or Inadequate. The answers are kept on the audit with who gave them and when;
 * the case holder may change them until the audit is closed.
 */
import { sql } from 'kysely';
import { inTransaction, type Db } from '../../../db/index.ts';
import type { Grade } from '../../../db/types.ts';
import type { Principal } from '../../../platform/access.ts';
import { logActivity } from '../../../platform/activity.ts';
import { conflict, forbidden, type FieldError } from '../../../platform/errors.ts';
import { answerApplies } from '../../tools/judgements.ts';
import { defaultCompletedBy, type Answer, type AuditTool, type Section } from '../../tools/schema.ts';
import { ukDateAt } from '../../../platform/clock.ts';
import type { AuditRecord } from '../audit.ts';
import type { DocumentInput } from '../document/model.ts';
import { answerText, fieldId, isAnswered, parseSimple, simpleToFields, type FieldContext, type RawFields, wrongMessage } from '../form/answers.ts';
import { GRADE_LABELS } from '../tracker.ts';
import { announceAuditEvent } from '../notifications.ts';
import { recordStep, type TransitionActor } from '../transitions.ts';
import { auditFor, currentStaff, distributionState, type DistributionState } from './record.ts';
import { type IsoDate } from '../../../platform/working-days.ts';

/** The final grades that call for the practitioner's improvement plan. */
export const IMPROVEMENT_PLAN_GRADES: readonly Grade[] = ['requires_improvement', 'inadequate'];

/** A question the case holder answers: any kind the auditor's form has, except repeating rows. */
export type FeedbackQuestion = Exclude<Answer, { kind: 'repeating' }>;

export type FeedbackQuestions = {
  title: string;
  guidance: string | undefined;
  questions: FeedbackQuestion[];
  /** The tool's own questions, or the built-in set. */
  fromTool: boolean;
  /** The improvement plan's key when the final grade calls for one. */
  planKey: string | null;
};

const PLAN_KEY = 'improvement_plan';

/** The questions PROCESS.md lists, for a tool without a practitioner feedback section. */
const DEFAULT_QUESTIONS: FeedbackQuestion[] = [
  { kind: 'date', key: 'date_discussed_in_supervision', label: 'Date you discussed the audit in supervision with your manager', allow: 'past', required: false },
  { kind: 'text', key: 'learning_points', label: 'What are your learning points from this audit?', rows: 4, required: false },
  { kind: 'text', key: 'changes_to_practice', label: 'What have you changed in your practice as a result of this audit?', rows: 4, required: false },
  { kind: 'yesno', key: 'recommended_actions_completed', label: 'Have you completed the recommended actions?', required: false },
  { kind: 'text', key: 'service_user_feedback_considerations', label: "What are your thoughts on the family's feedback?", rows: 4, required: false },
];

const defaultPlan = (grade: Grade): FeedbackQuestion => ({
  kind: 'text',
  key: PLAN_KEY,
  label: 'Your improvement plan',
  hint: `The audit was graded ${GRADE_LABELS[grade]}: say what you will do to improve your practice on this case, and by when.`,
  rows: 6,
  required: true,
});

const byPractitioner = (section: Section, answer: Answer) => (answer.completedBy ?? section.completedBy ?? defaultCompletedBy(section.kind)) === 'practitioner';
const isPlan = (answer: Answer) => answer.kind === 'text' && (answer.key === PLAN_KEY || /improvement plan/i.test(answer.label));

/**
 * The questions put to the case holder. The tool's improvement plan question is asked, and
 * required, exactly when the final (moderated) grade calls for one, whatever its own
 * appliesWhen says: that reads the auditor's grade, which moderation may have changed.
 */
export function feedbackQuestions(tool: AuditTool, finalGrade: Grade | null): FeedbackQuestions {
  const toolSection = tool.sections.find((candidate) => candidate.kind === 'practitionerFeedback');
  // Repeating rows are left out: no built-in tool asks for them here, and the fields are simple.
  const toolQuestions = (toolSection?.answers ?? []).filter((answer): answer is FeedbackQuestion => byPractitioner(toolSection!, answer) && answer.kind !== 'repeating');
  // A section with nothing for the practitioner to answer counts as none.
  const section = toolQuestions.length ? toolSection : undefined;
  const asked = section ? toolQuestions : DEFAULT_QUESTIONS;
  const needsPlan = finalGrade !== null && IMPROVEMENT_PLAN_GRADES.includes(finalGrade);
  const plan = asked.find(isPlan);
  const questions = asked.flatMap((answer) => (answer !== plan ? [answer] : needsPlan ? [{ ...answer, required: true }] : []));
  if (needsPlan && !plan) questions.push(defaultPlan(finalGrade));
  return {
    title: section?.title ?? 'Practitioner feedback',
    guidance: section?.guidance,
    questions,
    fromTool: Boolean(section),
    planKey: needsPlan ? (plan?.key ?? PLAN_KEY) : null,
  };
}

/** Whether a question applies given the audit's answers and the feedback so far. */
function applies(input: DocumentInput, asked: FeedbackQuestions, question: FeedbackQuestion, feedback: Record<string, unknown>): boolean {
  if (!asked.fromTool || question.key === asked.planKey) return true;
  return answerApplies(input.tool, question.key, { ...input.audit.answers, ...feedback }, input.child);
}

export type FeedbackRow = { label: string; text: string };

/** The feedback given, in words, question by question (unanswered ones left out). */
export function feedbackRows(input: DocumentInput, asked: FeedbackQuestions, feedback: Record<string, unknown>, staff: ReadonlyMap<string, string>): FeedbackRow[] {
  const context = { tool: input.tool, staff };
  return asked.questions.flatMap((question) => {
    const text = answerText(question, feedback[question.key], context);
    return text ? [{ label: question.label, text }] : [];
  });
}

/** Names of staff a feedback answer names (a staff question), for showing it. */
export async function feedbackStaffNames(db: Db, organisationId: string, asked: FeedbackQuestions, feedback: Record<string, unknown> | null): Promise<Map<string, string>> {
  const ids = asked.questions.filter((question) => question.kind === 'staff').flatMap((question) => (typeof feedback?.[question.key] === 'string' ? [feedback[question.key] as string] : []));
  if (!ids.length) return new Map();
  const rows = await db.selectFrom('staff').select(['id', 'full_name']).where('organisation_id', '=', organisationId).where('id', 'in', ids).execute();
  return new Map(rows.map((row) => [row.id, row.full_name]));
}

export type FeedbackForm = DocumentInput & {
  state: DistributionState;
  asked: FeedbackQuestions;
  context: FieldContext;
  staffOptions: { value: string; text: string }[];
};

export type FeedbackOutcome = { ok: true; changed: boolean } | { ok: false; reason: 'invalid'; errors: FieldError[] } | { ok: false; reason: 'stale' };

/**
 * The feedback form for the audit's case holder. Someone who cannot see the audit gets "not
 * found"; someone who can but does not hold the case is refused.
 */
export async function openFeedback(db: Db, principal: Principal, auditId: string, today: IsoDate): Promise<FeedbackForm> {
  const input = await auditFor(db, principal, auditId);
  if (!principal.staffId || input.audit.caseHolder?.id !== principal.staffId) throw forbidden();
  const state = await distributionState(db, principal.organisationId, input.audit.id);
  const asked = feedbackQuestions(input.tool, state.finalGrade);
  const staff = asked.questions.some((question) => question.kind === 'staff') ? await currentStaff(db, principal.organisationId, today) : [];
  return {
    ...input,
    state,
    asked,
    context: { tool: input.tool, staff: new Map(staff.map((member) => [member.id, member.name])), today },
    staffOptions: staff.map((member) => ({ value: member.id, text: `${member.name}, ${member.jobTitle}` })),
  };
}

/** The saved feedback as the form's fields. */
export function feedbackFields(form: FeedbackForm): Record<string, string | string[]> {
  const fields: Record<string, string | string[]> = {};
  for (const question of form.asked.questions) simpleToFields(question, form.state.feedback?.[question.key], question.key, fields);
  return fields;
}

/** The posted answers, checked per kind as in the auditor's form, or every problem on its field. */
export function parseFeedback(form: FeedbackForm, raw: RawFields): { answers: Record<string, unknown>; errors: FieldError[] } {
  const parsed = new Map(form.asked.questions.map((question) => [question.key, parseSimple(question, raw, question.key, form.context)]));
  const given: Record<string, unknown> = {};
  for (const [key, result] of parsed) if (result.ok && result.value !== undefined) given[key] = result.value;
  const answers: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  for (const question of form.asked.questions) {
    const result = parsed.get(question.key)!;
    const field = fieldId(question, question.key);
    if (!result.ok) {
      errors.push({ field, message: wrongMessage(question, question.label, result.problem) });
      continue;
    }
    // An answer to a question that no longer applies (a date for "not discussed") is not kept.
    if (!applies(form, form.asked, question, given)) continue;
    if (isAnswered(result.value)) answers[question.key] = result.value;
    else if (question.key === form.asked.planKey) errors.push({ field, message: `Enter your improvement plan: the audit's final grade is ${GRADE_LABELS[form.state.finalGrade!]}` });
    else if (question.required) errors.push({ field, message: `Answer "${question.label}"` });
  }
  const first = form.asked.questions[0];
  if (!errors.length && !Object.keys(answers).length && first) errors.push({ field: fieldId(first, first.key), message: 'Answer at least one question before you send your feedback' });
  return { answers, errors };
}

/** Logs the case holder opening the feedback form (child-related). */
export async function logFeedbackView(db: Db, actor: TransitionActor, audit: AuditRecord): Promise<void> {
  await logActivity(db, actor, { action: 'view', recordType: 'audit_feedback', recordId: audit.id, childId: audit.child.id, summary: 'practitioner feedback form' });
}

/**
 * Saves and sends the case holder's feedback: the answers, who gave them and when, and a new
 * version of the audit. Refused with every problem on its field (nothing saved), or as stale
 * when the audit changed since `expectedVersion` (closed, or feedback sent from another tab).
 */
export async function giveFeedback(db: Db, actor: TransitionActor, auditId: string, fields: RawFields, expectedVersion: number): Promise<FeedbackOutcome> {
  const form = await openFeedback(db, actor.principal, auditId, ukDateAt(actor.at));
  const { answers, errors } = parseFeedback(form, fields);
  if (errors.length) return { ok: false, reason: 'invalid', errors };
  const { audit } = form;
  return inTransaction(db, async (trx): Promise<FeedbackOutcome> => {
    const row = await trx.selectFrom('audits').select(['status', 'version']).where('id', '=', audit.id).where('organisation_id', '=', actor.principal.organisationId).forUpdate().executeTakeFirstOrThrow();
    if (row.version !== expectedVersion) return { ok: false, reason: 'stale' };
    if (row.status !== 'awaiting_feedback') throw conflict('This audit is not awaiting practitioner feedback');
    await trx
      .updateTable('audits')
      .set({
        practitioner_feedback: JSON.stringify(answers),
        feedback_by: actor.principal.userId,
        feedback_at: actor.at,
        version: sql<number>`version + 1`,
        updated_at: sql<string>`now()`,
      })
      .where('id', '=', audit.id)
      .execute();
    const changed = form.state.feedback !== null;
    // A step on the timeline (the status stays awaiting feedback until the audit is closed), and
    // the QA coordinator who sent the audit told it is ready to close: once, when first given.
    await recordStep(trx, actor, { organisationId: actor.principal.organisationId, auditId: audit.id, status: 'awaiting_feedback', name: changed ? 'changeFeedback' : 'giveFeedback' });
    if (!changed) await announceAuditEvent(trx, actor, { auditId: audit.id, event: 'feedback_given', version: row.version + 1 });
    await logActivity(trx, actor, {
      action: 'update',
      recordType: 'audit_feedback',
      recordId: audit.id,
      childId: audit.child.id,
      summary: `practitioner feedback ${changed ? 'changed' : 'given'}: ${Object.keys(answers).length} of ${form.asked.questions.length} questions answered`,
    });
    return { ok: true, changed };
  });
}

/**
 * Moderating an audit: the moderator reads the auditor's grades and evidence, keeps or changes
 * each section's grade and the overall grade (a change needs its reason), writes development
 * comments to the auditor, and either moderates the audit or returns it with what needs to
 * change. The moderator's grades are written beside the auditor's, never over them: rows of
 * audit_judgements at stage 'moderator'. The final grade is the moderated overall grade.
 */
import { sql } from 'kysely';
import { z } from 'zod';
import { inTransaction, type Db } from '../../../db/index.ts';
import type { Grade } from '../../../db/types.ts';
import { jsonValue } from '../../../db/values.ts';
import { roles, type Principal } from '../../../platform/access.ts';
import { logActivity } from '../../../platform/activity.ts';
import { forbidden, notFound, type FieldError } from '../../../platform/errors.ts';
import { ukDateAt } from '../../../platform/clock.ts';
import type { IsoDate } from '../../../platform/working-days.ts';
import { createActionsFromAudit } from '../../actions/service.ts';
import { conditionInWords } from '../../tools/condition-words.ts';
import type { ChildFacts } from '../../tools/expression.ts';
import { answerApplies, answersItTurnsOn, overallGrade, scaleOf, sectionApplies } from '../../tools/judgements.ts';
import type { Answer, AuditTool, PrefillSource, Section } from '../../tools/schema.ts';
import type { AuditRecord } from '../audit.ts';
import { buildAuditDocument, type DocumentBlock } from '../document/model.ts';
import { loadAuditDocument } from '../document/load.ts';
import { escalateModeration } from '../escalation/re-audit.ts';
import {
  auditorSections,
  isAnswered,
  missingAnswers,
  moderatorSections,
  parseSection,
  questionFields,
  sectionQuestions,
  type FieldContext,
  type Question,
  type RawFields,
} from '../form/answers.ts';
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
  /** The tool's own questions for the moderator (see ModeratorPart). */
  moderatorsPart: ModeratorPart;
};

/**
 * The part of the tool the moderator fills in (Bolton's moderator's form, Lambeth's second line
 * quality assurance and its additional actions): asked on the moderation page with the audit
 * form's own fields and checks, and saved with the moderation in the audit's answers (their
 * keys are the tool's, unique in the tool). `answers` is the audit's answers with the moderator's
 * prefilled where the tool says (the moderator, today) and not yet given.
 */
export type ModeratorPart = {
  tool: AuditTool;
  child: ChildFacts | null;
  sections: { section: Section; questions: Question[] }[];
  answers: Record<string, unknown>;
  context: FieldContext;
  staffOptions: { value: string; text: string }[];
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
export async function openModeration(db: Db, principal: Principal, auditId: string, today: IsoDate): Promise<Moderation> {
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
  const moderatorsPart = await openModeratorsPart(db, principal, input.tool, input.child, audit, today);
  return { audit, version: row.version, items, overall, managementOversight: row.line_manager_id !== null && row.line_manager_id === audit.auditor.id, otherSections, moderatorsPart };
}

/** The moderator's sections that apply to the child, with their questions and the staff a question may name. */
async function openModeratorsPart(db: Db, principal: Principal, tool: AuditTool, child: ChildFacts | null, audit: AuditRecord, today: IsoDate): Promise<ModeratorPart> {
  const saved = audit.answers ?? {};
  const sections = moderatorSections(tool)
    .filter((section) => sectionApplies(tool, section.key, saved, child))
    .map((section) => ({ section, questions: sectionQuestions(section, 'moderator') }))
    .filter((entry) => entry.questions.length > 0);
  const asksStaff = sections.some(({ questions }) => questions.some(({ spec }) => spec.kind === 'staff' || (spec.kind === 'repeating' && spec.columns.some((column) => column.kind === 'staff'))));
  const staff = asksStaff
    ? await db
        .selectFrom('staff')
        .select(['id', 'full_name', 'job_title'])
        .where('organisation_id', '=', principal.organisationId)
        .where((eb) => eb.or([eb('leaving_date', 'is', null), eb('leaving_date', '>=', sql<string>`${today}::date`)]))
        .orderBy('full_name')
        .execute()
    : [];
  const prefilled = prefill(sections, audit, principal, today);
  return {
    tool,
    child,
    sections,
    answers: { ...prefilled, ...saved },
    context: { tool, staff: new Map(staff.map((member) => [member.id, member.full_name])), today },
    staffOptions: staff.map((member) => ({ value: member.id, text: `${member.full_name}, ${member.job_title}` })),
  };
}

/**
 * What the tool fills in for the moderator (the second line auditor is the moderator, the date
 * checked is today): the sources a moderator's question can sensibly take; the moderator can
 * still change them. Someone standing in for the moderator (a QA lead) is named as themselves.
 */
function prefill(sections: ModeratorPart['sections'], audit: AuditRecord, principal: Principal, today: IsoDate): Record<string, unknown> {
  const sources: Partial<Record<PrefillSource, { staff?: string | null; text?: string | null; date?: string | null }>> = {
    'audit.moderator': { staff: principal.staffId ?? audit.moderator?.id ?? null, text: principal.displayName },
    'audit.auditor': { staff: audit.auditor.id, text: audit.auditor.name },
    'audit.caseHolder': { staff: audit.caseHolder?.id ?? null, text: audit.caseHolder?.name ?? null },
    'audit.today': { date: today },
    'audit.allocatedOn': { date: audit.allocatedOn },
    'child.initials': { text: audit.child.initials },
    'child.externalId': { text: audit.child.externalId },
  };
  const answers: Record<string, unknown> = {};
  for (const { questions } of sections) {
    for (const { spec } of questions) {
      const source = spec.prefill ? sources[spec.prefill] : undefined;
      if (!source) continue;
      const value = spec.kind === 'staff' ? source.staff : spec.kind === 'date' ? source.date : spec.kind === 'text' ? (source.text ?? source.date) : undefined;
      if (value) answers[spec.key] = value;
    }
  }
  return answers;
}

/** The moderator's questions as the page's fields: what was saved (or prefilled). */
export function moderatorFields(part: ModeratorPart): Record<string, string | string[]> {
  return Object.assign({}, ...part.sections.map(({ questions }) => questionFields(questions, part.answers, 'moderator')));
}

/** Whether one of the moderator's questions is asked for the answers so far, and whether another of their answers decides it. */
export type QuestionAsked = { asked: boolean; live: boolean };

/**
 * The moderator's answers as the page's fields hold them (typed and not yet sent, or saved): what
 * decides which of their questions are asked. A field not in a form the tool takes counts as
 * unanswered here; it is refused when the moderation is sent.
 */
export function moderatorAnswersAsTyped(part: ModeratorPart, raw: RawFields): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...part.answers };
  for (const { section } of part.sections) {
    for (const [key, value] of Object.entries(parseSection(part.tool, section, 'moderator', raw, part.context).answers)) {
      if (value === undefined) delete merged[key];
      else merged[key] = value;
    }
  }
  return merged;
}

/**
 * Which of the moderator's questions are asked for these answers. A question whose condition
 * reads another of the moderator's answers (Lambeth's "If not please state your grading" after
 * "Do you agree with the grading") is `live`: it stays on the page, shown or hidden as the
 * moderator answers (with JavaScript) or shown with its condition in words (without), and is
 * asked for only when the condition holds. Any other question not asked is left off the page.
 */
export function moderatorQuestionsAsked(part: ModeratorPart, answers: Record<string, unknown>): Map<string, QuestionAsked> {
  const onPage = new Set(part.sections.flatMap(({ questions }) => questions.map(({ spec }) => spec.key)));
  const asked = new Map<string, QuestionAsked>();
  for (const { questions } of part.sections) {
    for (const { spec } of questions) {
      const live = answersItTurnsOn(part.tool, spec.key).some((other) => other !== spec.key && onPage.has(other));
      asked.set(spec.key, { asked: answerApplies(part.tool, spec.key, answers, part.child), live });
    }
  }
  return asked;
}

/** The live questions and whether each is asked now: what the page's autosave tells it. */
export function liveModeratorQuestions(part: ModeratorPart, answers: Record<string, unknown>): Record<string, boolean> {
  return Object.fromEntries([...moderatorQuestionsAsked(part, answers)].filter(([, state]) => state.live).map(([key, state]) => [key, state.asked]));
}

/**
 * A live question's condition in words, for the page without JavaScript ("Answer only if you
 * answered No to ‘Do you agree with the grading’."). An evidence box is asked when its judgement is.
 */
export function askedWhenInWords(part: ModeratorPart, question: Question): string {
  const owner = question.judgementKey ? part.sections.flatMap(({ questions }) => questions).find(({ spec }) => spec.key === question.judgementKey)?.spec : question.spec;
  const condition = owner && 'appliesWhen' in owner ? owner.appliesWhen : undefined;
  return (condition && conditionInWords(part.tool, condition)) ?? 'Answer only if it applies to your answers above.';
}

/**
 * The moderator's posted answers, checked as the audit form checks its pages: each kind's
 * format, then every required answer that applies, each on its field. An answer to a question
 * that does not apply (a grading given while agreeing with the auditor's) is not kept.
 */
export function parseModeratorsPart(part: ModeratorPart, raw: RawFields): { answers: Record<string, unknown>; errors: FieldError[] } {
  const errors = part.sections.flatMap(({ section }) => parseSection(part.tool, section, 'moderator', raw, part.context).errors);
  const merged = moderatorAnswersAsTyped(part, raw);
  const answers: Record<string, unknown> = {};
  for (const { section, questions } of part.sections) {
    const failed = new Set(errors.map((error) => error.field));
    for (const problem of missingAnswers(part.tool, section, questions, merged, part.child, 'moderator')) if (!failed.has(problem.field)) errors.push(problem);
    for (const { spec } of questions) {
      if (answerApplies(part.tool, spec.key, merged, part.child) && isAnswered(merged[spec.key])) answers[spec.key] = merged[spec.key];
    }
  }
  return { answers, errors };
}

/**
 * A grade the moderator gives in the tool's own words (Lambeth's "If not please state your
 * grading", Bolton's "Grade given") that speaks to the overall grade must be the grade they rule
 * on the overall grade: the two cannot say different things.
 */
function overallAgreement(moderation: Moderation, answers: Record<string, unknown>, overallGradeGiven: string | undefined): FieldError[] {
  const overall = moderation.overall;
  if (!overall || overallGradeGiven === undefined) return [];
  const overallScale = overall.options.map((option) => option.value).join(',');
  const errors: FieldError[] = [];
  for (const { questions } of moderation.moderatorsPart.sections) {
    for (const { spec } of questions) {
      if (spec.kind !== 'judgement' || spec.domain !== 'overall' || typeof answers[spec.key] !== 'string') continue;
      const scale = scaleOf(moderation.moderatorsPart.tool, spec.scale);
      if (scale?.options.map((option) => option.value).join(',') !== overallScale) continue;
      const given = answers[spec.key] as string;
      if (given === overallGradeGiven) continue;
      const words = (value: string) => overall.options.find((option) => option.value === value)?.label ?? value;
      errors.push({ field: spec.key, message: `${spec.label.replace(/[.:]$/, '')} is ${words(given)}, but your grade for the overall grade is ${words(overallGradeGiven)}: give the same grade in both` });
    }
  }
  return errors;
}

/**
 * A moderator's yes/no question that says whether they kept the auditor's overall grade or
 * changed it (`yesMeans` in the tool: Lambeth's "Do you agree with the grading", Bolton's "Did
 * you change the audit grading") must say what they did with the overall grade on the page:
 * "agree" with a new grade, or "changed" with the auditor's, is refused on the question.
 */
function gradingAnswerAgreement(moderation: Moderation, answers: Record<string, unknown>, overallGradeGiven: string | undefined): FieldError[] {
  const overall = moderation.overall;
  if (!overall || overallGradeGiven === undefined || !overall.options.some((option) => option.value === overallGradeGiven)) return [];
  const words = (value: string | null) => overall.options.find((option) => option.value === value)?.label ?? value ?? 'not graded';
  const changed = overallGradeGiven !== overall.auditorGrade;
  const errors: FieldError[] = [];
  for (const { questions } of moderation.moderatorsPart.sections) {
    for (const { spec } of questions) {
      const answer = answers[spec.key];
      if (spec.kind !== 'yesno' || !spec.yesMeans || (answer !== 'yes' && answer !== 'no')) continue;
      const saysChanged = (answer === 'yes') === (spec.yesMeans === 'overallGradeChanged');
      if (saysChanged === changed) continue;
      const question = `‘${spec.label.trim().replace(/[:.]$/, '')}’`;
      const [given, other] = answer === 'yes' ? ['Yes', 'No'] : ['No', 'Yes'];
      errors.push({
        field: spec.key,
        message: changed
          ? `You answered ${given} to ${question}, but you changed the overall grade from ${words(overall.auditorGrade)} to ${words(overallGradeGiven)}: answer ${other}, or keep the auditor’s grade`
          : `You answered ${given} to ${question}, but your overall grade is the auditor’s, ${words(overallGradeGiven)}: answer ${other}, or change the overall grade`,
      });
    }
  }
  return errors;
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
  const moderation = await openModeration(db, actor.principal, auditId, ukDateAt(actor.at));
  const items = moderationItems(moderation);
  const parsed = moderationSchema(items).safeParse(fields);
  const theirs = parseModeratorsPart(moderation.moderatorsPart, fields);
  const overallGiven = typeof fields[`grade-${OVERALL_KEY}`] === 'string' ? (fields[`grade-${OVERALL_KEY}`] as string) : undefined;
  const errors = [
    ...(parsed.success ? [] : fieldErrors(parsed.error)),
    ...theirs.errors,
    ...overallAgreement(moderation, theirs.answers, overallGiven),
    ...gradingAnswerAgreement(moderation, theirs.answers, overallGiven),
  ];
  // On the page the tool's questions come after the overall grade: so do their errors.
  if (!parsed.success || errors.length) return { ok: false, reason: 'invalid', errors: inPageOrder(errors, moderation) };
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
      // The moderator's answers join the audit's (the keys are the tool's); the auditor's stay as they were.
      const answers = { ...withoutModeratorsAnswers(moderation), ...theirs.answers };
      await trx.updateTable('audits').set({ final_grade: finalGrade, moderator_comments: comments, answers: JSON.stringify(answers) }).where('id', '=', audit.id).execute();
      // What was kept of an unfinished moderation is no longer needed.
      await trx.deleteFrom('audit_form_drafts').where('audit_id', '=', audit.id).where('page', '=', MODERATION_DRAFT).execute();
      // The actions the moderator recommends (Lambeth's second line) are tracked like the audit's own.
      await createActionsFromAudit(trx, audit.id, 'moderator');
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

/** The audit's answers without the moderator's: a question cleared or no longer asked is then gone. */
function withoutModeratorsAnswers(moderation: Moderation): Record<string, unknown> {
  const theirs = new Set(moderatorSections(moderation.moderatorsPart.tool).flatMap((section) => sectionQuestions(section, 'moderator').map(({ spec }) => spec.key)));
  return Object.fromEntries(Object.entries(moderation.audit.answers ?? {}).filter(([key]) => !theirs.has(key)));
}

/** Errors in the order the page asks: the grades, the overall grade, then the tool's questions for the moderator, then the comments. */
function inPageOrder(errors: FieldError[], moderation: Moderation): FieldError[] {
  const theirs = new Set(moderation.moderatorsPart.sections.flatMap(({ questions }) => questions.map(({ spec }) => spec.key)));
  const rank = (error: FieldError) => (error.field === 'comments' ? 2 : theirs.has(error.field.replace(/-.*$/, '')) ? 1 : 0);
  return errors.map((error, index) => ({ error, index })).sort((a, b) => rank(a.error) - rank(b.error) || a.index - b.index).map(({ error }) => error);
}

/** The page of the drafts table that holds what the moderator typed and has not yet sent: never a tool key (those cannot start with "_"). */
export const MODERATION_DRAFT = '_moderation';

/** The fields of the moderation form worth keeping: what was typed, not the form's own bookkeeping. */
function typedFields(fields: RawFields): RawFields {
  return Object.fromEntries(Object.entries(fields).filter(([name]) => !name.startsWith('_')));
}

/**
 * Keeps what the moderator typed and could not yet send (a refused moderation, a row added,
 * "come back later", or the page's autosave as they answer), as typed, so leaving the page loses nothing: the page shows it again until
 * the audit is moderated. Like the audit form's drafts.
 */
export async function keepModerationDraft(db: Db, actor: TransitionActor, moderation: Moderation, fields: RawFields, summary = 'moderation kept unsent, to finish later'): Promise<void> {
  const typed = JSON.stringify(typedFields(fields));
  await inTransaction(db, async (trx) => {
    await trx
      .insertInto('audit_form_drafts')
      .values({ audit_id: moderation.audit.id, organisation_id: actor.principal.organisationId, page: MODERATION_DRAFT, fields: typed, saved_by: actor.principal.userId })
      .onConflict((conflict) => conflict.columns(['audit_id', 'page']).doUpdateSet({ fields: typed, saved_by: actor.principal.userId, updated_at: sql<string>`now()` }))
      .execute();
    await logActivity(trx, actor, { action: 'update', recordType: 'audit', recordId: moderation.audit.id, childId: moderation.audit.child.id, summary });
  });
}

/** What the moderator typed and has not yet sent, if anything. */
export async function findModerationDraft(db: Db, moderation: Moderation): Promise<RawFields | undefined> {
  const row = await db.selectFrom('audit_form_drafts').select('fields').where('audit_id', '=', moderation.audit.id).where('page', '=', MODERATION_DRAFT).executeTakeFirst();
  if (!row) return undefined;
  return jsonValue<RawFields>(row.fields);
}

const returnSchema = z.object({
  changes: z.preprocess(
    (value) => (typeof value === 'string' ? value : ''),
    z.string().trim().min(1, 'Enter what needs to change').max(REASON_MAX, `What needs to change must be ${REASON_MAX} characters or fewer`),
  ),
});

/** Returns the audit to its auditor with what needs to change; they can then edit and resubmit it. */
export async function returnAudit(db: Db, actor: TransitionActor, auditId: string, fields: Record<string, unknown>, expectedVersion: number): Promise<ModerationOutcome> {
  const moderation = await openModeration(db, actor.principal, auditId, ukDateAt(actor.at));
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

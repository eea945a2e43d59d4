/**
 * Completing an audit: the auditor fills in the tool's form page by page, then submits it for
 * moderation. Only the audit's own auditor may, and only while it is with them (allocated, in
 * progress or returned). Every save carries the version of the audit the page was loaded at:
 * a save from an older version (a second tab, another person) is refused and nothing is
 * overwritten. Each save, submission and view is in the activity log.
 */
import { sql } from 'kysely';
import { inTransaction, type Db } from '../../../db/index.ts';
import type { AuditStatus, Grade } from '../../../db/types.ts';
import { jsonValue } from '../../../db/values.ts';
import type { Principal } from '../../../platform/access.ts';
import { logActivity } from '../../../platform/activity.ts';
import { conflict, forbidden, notFound, type FieldError } from '../../../platform/errors.ts';
import type { ChildFacts } from '../../tools/expression.ts';
import { answerApplies, answersItTurnsOn, breachedLimits, limitingJudgement, overallGrade, scaleOf, sectionApplies, type Limit } from '../../tools/judgements.ts';
import { optionLabel } from '../../tools/scales.ts';
import type { Answer, AuditTool, PrefillSource } from '../../tools/schema.ts';
import { findAudit, type AuditRecord } from '../audit.ts';
import { createActionsFromAudit } from '../../actions/service.ts';
import { raiseSubmissionAlerts } from '../escalation/alerts.ts';
import { reAuditForm } from '../../tools/escalation.ts';
import { editionDefinition } from '../../tools/editions.ts';
import { assignModerator } from '../moderation/rule.ts';
import { announceAuditEvent } from '../notifications.ts';
import { transitionAudit } from '../transitions.ts';
import {
  auditorSections,
  DETAILS_PAGE,
  feedbackOf,
  fieldId,
  findSection,
  isAnswered,
  judgementName,
  missingAnswers,
  missingMessage,
  pageQuestions,
  parsePage,
  respondentQuestions,
  type FieldContext,
  type RawFields,
} from './answers.ts';
import { ukDateAt } from '../../../platform/clock.ts';
import { type IsoDate } from '../../../platform/working-days.ts';

export const EDITABLE_STATUSES: readonly AuditStatus[] = ['allocated', 'in_progress', 'returned'];

export type FormActor = { principal: Principal; ipAddress: string | null; at: Date };

export type FormChild = ChildFacts & { dateOfBirth: string | null; openDate: string | null; allocatedWorkerId: string | null; teamName: string | null };

/** Everything a page of the form needs: the audit, its tool edition, the child's facts, the staff to choose from. */
export type AuditForm = {
  audit: AuditRecord;
  tool: AuditTool;
  child: FormChild;
  version: number;
  completedSections: string[];
  context: FieldContext;
  staffOptions: { value: string; text: string }[];
};

/** A problem that stops submission, with the page it is on. */
export type FormProblem = FieldError & { page: string };

export type SaveOutcome =
  /** Saved: the new version, and the form with the answers as saved (what the page shows next). */
  | { ok: true; version: number; form: AuditForm; answers: Record<string, unknown> }
  | { ok: false; reason: 'invalid'; errors: FieldError[] }
  /** The page was loaded at an older version: the newer answers, for the person to compare. */
  | { ok: false; reason: 'stale'; version: number; answers: Record<string, unknown> };

export type SubmitOutcome = { ok: true; grade: Grade | null } | { ok: false; reason: 'invalid'; errors: FormProblem[] } | { ok: false; reason: 'stale'; version: number };

/**
 * The audit's form for its auditor. Someone who cannot see the audit gets "not found"; someone
 * who can but is not its auditor is refused.
 */
export async function openForm(db: Db, principal: Principal, auditId: string, today: IsoDate): Promise<AuditForm> {
  const audit = await findAudit(db, principal, auditId);
  if (!audit) throw notFound('Audit');
  if (!principal.staffId || audit.auditor.id !== principal.staffId) throw forbidden();
  // The form's audit, edition and child, and the staff its answers name: asked at once.
  const [row, staff] = await Promise.all([
    db
      .selectFrom('audits')
      .innerJoin('children', 'children.id', 'audits.child_id')
      .leftJoin('teams', 'teams.id', 'children.allocated_team_id')
      .select([
        'audits.version',
        'audits.answers',
        'audits.completed_sections',
        'audits.re_audit_of',
        'audits.tool_edition_id',
        'children.legal_status',
        'children.date_of_birth',
        'children.referral_factors',
        'children.open_date',
        'children.allocated_worker_id',
        'teams.name as team_name',
      ])
      .where('audits.id', '=', audit.id)
      .where('audits.organisation_id', '=', principal.organisationId)
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('staff')
      .select(['id', 'full_name', 'job_title', 'line_manager_id'])
      .where('organisation_id', '=', principal.organisationId)
      .where((eb) => eb.or([eb('leaving_date', 'is', null), eb('leaving_date', '>=', sql<string>`${today}::date`)]))
      .orderBy('full_name')
      .execute(),
  ]);
  // The edition is kept once read (it never changes): the form does not fetch it again.
  const stored = await editionDefinition(db, principal.organisationId, row.tool_edition_id);
  // A re-audit also asks the tool's re-audit section.
  const tool = row.re_audit_of ? reAuditForm(stored) : stored;
  const dateOfBirth = row.date_of_birth ? String(row.date_of_birth).slice(0, 10) : null;
  const child: FormChild = {
    legalStatus: row.legal_status,
    ageInYears: dateOfBirth ? ageOn(dateOfBirth, today) : null,
    referralFactors: row.referral_factors ?? [],
    dateOfBirth,
    openDate: row.open_date ? String(row.open_date).slice(0, 10) : null,
    allocatedWorkerId: row.allocated_worker_id,
    teamName: row.team_name,
  };
  return {
    audit: { ...audit, answers: row.answers ?? {} },
    tool,
    child,
    version: row.version,
    completedSections: row.completed_sections ?? [],
    context: { tool, staff: new Map(staff.map((member) => [member.id, member.full_name])), today },
    staffOptions: staff.map((member) => ({ value: member.id, text: `${member.full_name}, ${member.job_title}` })),
  };
}

export function isEditable(form: AuditForm): boolean {
  return EDITABLE_STATUSES.includes(form.audit.status);
}

function ageOn(dateOfBirth: string, today: string): number {
  const [by, bm, bd] = dateOfBirth.split('-').map(Number) as [number, number, number];
  const [ty, tm, td] = today.split('-').map(Number) as [number, number, number];
  return ty - by - (tm < bm || (tm === bm && td < bd) ? 1 : 0);
}

/** Logs a view of a page of the form (child-related). */
export async function logFormView(db: Db, actor: FormActor, form: AuditForm, page: string): Promise<void> {
  await logActivity(db, actor, { action: 'view', recordType: 'audit_form', recordId: form.audit.id, childId: form.audit.child.id, summary: `audit form: ${page}` });
}

// ---- prefill ------------------------------------------------------------------------------------

/** The header answers a tool fills in from the register and the audit, as they stand now. */
export async function prefilledAnswers(db: Db, form: AuditForm): Promise<Record<string, unknown>> {
  const { audit, child, context } = form;
  const caseHolderManager = audit.caseHolder
    ? ((await db.selectFrom('staff').select('line_manager_id').where('id', '=', audit.caseHolder.id).executeTakeFirst())?.line_manager_id ?? null)
    : null;
  const staffName = (id: string | null | undefined) => (id ? (context.staff.get(id) ?? null) : null);
  const sources: Record<PrefillSource, { staff?: string | null; text?: string | null; date?: string | null; number?: number | null; list?: string[] }> = {
    'child.externalId': { text: audit.child.externalId },
    'child.initials': { text: audit.child.initials },
    'child.dateOfBirth': { date: child.dateOfBirth },
    'child.ageInYears': { number: child.ageInYears ?? null },
    'child.legalStatus': { list: child.legalStatus ? [child.legalStatus] : [] },
    'child.referralFactors': { list: [...(child.referralFactors ?? [])] },
    'child.allocatedWorker': { staff: child.allocatedWorkerId },
    'child.allocatedTeam': { text: child.teamName },
    'child.openDate': { date: child.openDate },
    'audit.reference': { number: audit.reference },
    'audit.auditor': { staff: audit.auditor.id },
    'audit.caseHolder': { staff: audit.caseHolder?.id ?? null },
    'audit.caseHolderManager': { staff: caseHolderManager },
    'audit.moderator': { staff: audit.moderator?.id ?? null },
    'audit.team': { text: audit.team?.name ?? null },
    'audit.service': { text: audit.service?.name ?? null },
    'audit.locality': {},
    'audit.allocatedOn': { date: audit.allocatedOn },
    'audit.today': { date: context.today },
  };
  const answers: Record<string, unknown> = {};
  for (const { spec } of pageQuestions(form.tool, DETAILS_PAGE)) {
    if (!spec.prefill) continue;
    const source = sources[spec.prefill];
    const value = prefillValue(form.tool, spec, source, staffName);
    if (isAnswered(value)) answers[spec.key] = value;
  }
  return answers;
}

function prefillValue(
  tool: AuditTool,
  spec: Answer,
  source: { staff?: string | null; text?: string | null; date?: string | null; number?: number | null; list?: string[] },
  staffName: (id: string | null | undefined) => string | null,
): unknown {
  const options = spec.kind === 'single' || spec.kind === 'multiple' ? (spec.options ?? (spec.scale ? (scaleOf(tool, spec.scale)?.options ?? []) : [])) : [];
  const known = (source.list ?? []).filter((value) => options.some((option) => option.value === value));
  switch (spec.kind) {
    case 'staff':
      return source.staff && staffName(source.staff) ? source.staff : undefined;
    case 'date':
      return source.date ?? undefined;
    case 'number':
      return source.number ?? undefined;
    case 'single':
      return known[0];
    case 'multiple':
      return known.length ? known : undefined;
    case 'text':
      return source.text ?? (source.staff ? staffName(source.staff) : null) ?? source.date ?? (source.number !== undefined && source.number !== null ? String(source.number) : null) ?? (source.list?.length ? source.list.join(', ') : undefined);
    default:
      return undefined;
  }
}

// ---- what is still to do ----------------------------------------------------------------------

/** What a judgement is about, in words: its label, or its section's title for a bare "Grading". */
export { judgementName };

/** A limit in words: "Management Grip cannot be better than Does not yet meet good: <the tool's reason>". */
export function limitMessage(tool: AuditTool, limit: Limit): string {
  const section = tool.sections.find((candidate) => candidate.answers.some((answer) => answer.key === limit.answerKey));
  const answer = section?.answers.find((candidate) => candidate.key === limit.answerKey);
  const scale = answer?.kind === 'judgement' ? scaleOf(tool, answer.scale) : undefined;
  const atBest = scale ? optionLabel(scale, limit.atBest) : limit.atBest;
  return `${answer ? judgementName(section, answer) : limit.answerKey} cannot be better than ${atBest}: ${limit.message}`;
}

/** The limits in force on the judgements of a page, by judgement key. */
export function limitsOnPage(form: AuditForm, page: string, answers: Record<string, unknown>): Record<string, string> {
  const limits: Record<string, string> = {};
  for (const { spec } of pageQuestions(form.tool, page)) {
    if (spec.kind !== 'judgement') continue;
    const limit = limitingJudgement(form.tool, spec.key, answers, form.child);
    if (limit) limits[spec.key] = limitMessage(form.tool, limit);
  }
  return limits;
}

/**
 * Which of a page's questions are asked for these answers. A question whose condition does not
 * hold is `asked: false`; `live` when that condition reads an answer on the same page, so it
 * changes as the auditor answers: such a question stays on the page (shown without JavaScript,
 * shown or hidden by autosave with it), while any other question not asked is left off.
 */
export function questionsAsked(form: AuditForm, page: string, answers: Record<string, unknown>): Map<string, { asked: boolean; live: boolean }> {
  const asked = new Map<string, { asked: boolean; live: boolean }>();
  const questions = pageQuestions(form.tool, page);
  // A page whose section does not apply is not in the task list; opened anyway, it shows all.
  if (page !== DETAILS_PAGE && !sectionApplies(form.tool, page, answers, form.child)) return asked;
  const onPage = new Set(questions.map((question) => question.spec.key));
  for (const { spec } of questions) {
    const applies = answerApplies(form.tool, spec.key, answers, form.child);
    const live = answersItTurnsOn(form.tool, spec.key).some((key) => onPage.has(key));
    if (!applies || live) asked.set(spec.key, { asked: applies, live });
  }
  return asked;
}

/** The live questions of a page and whether each is asked now: what autosave tells the page. */
export function liveQuestionsOnPage(form: AuditForm, page: string, answers: Record<string, unknown>): Record<string, boolean> {
  return Object.fromEntries([...questionsAsked(form, page, answers)].filter(([, state]) => state.live).map(([key, state]) => [key, state.asked]));
}

/** Limits the answers break, as errors on the judgements of the given page (or all pages). */
function limitErrors(form: AuditForm, answers: Record<string, unknown>, page?: string): FormProblem[] {
  return breachedLimits(form.tool, answers, form.child).flatMap((limit) => {
    const where = pageOf(form.tool, limit.answerKey);
    if (!where || (page !== undefined && where !== page)) return [];
    return [{ page: where, field: limit.answerKey, message: limitMessage(form.tool, limit) }];
  });
}

function pageOf(tool: AuditTool, answerKey: string): string | undefined {
  if (pageQuestions(tool, DETAILS_PAGE).some((question) => question.spec.key === answerKey)) return DETAILS_PAGE;
  return auditorSections(tool).find((section) => pageQuestions(tool, section.key).some((question) => question.spec.key === answerKey))?.key;
}

/** Whether a respondent is asked: their appliesWhen holds and the child is old enough for the tool's age rule. */
export function respondentAsked(form: AuditForm, respondent: { key: string; minimumAge?: number | undefined }, answers: Record<string, unknown>): boolean {
  if (!answerApplies(form.tool, respondent.key, answers, form.child)) return false;
  const age = form.child.ageInYears;
  return respondent.minimumAge === undefined || age === null || age === undefined || age >= respondent.minimumAge;
}

/** Every required answer of a page that is missing, each on its field, in GOV.UK's words ("Select a judgement for Reviews"). */
export function missingOnPage(form: AuditForm, page: string, answers: Record<string, unknown>): FormProblem[] {
  const { tool, child } = form;
  const section = page === DETAILS_PAGE ? undefined : findSection(tool, page);
  if (section && !sectionApplies(tool, section.key, answers, child)) return [];
  const problems: FormProblem[] = missingAnswers(tool, section, pageQuestions(tool, page), answers, child, 'auditor').map((problem) => ({ page, ...problem }));
  const missing = (field: string, message: string) => problems.push({ page, field, message });
  if (section?.feedback) {
    const respondents = feedbackOf(answers, section.key);
    const reasons = section.feedback.notObtained?.options ?? [];
    for (const respondent of section.feedback.respondents) {
      if (!respondentAsked(form, respondent, answers)) continue;
      const entry = respondents[respondent.key];
      if (!entry?.obtained) {
        missing(`${respondent.key}-obtained`, `Select whether feedback was obtained from ${respondent.label}`);
        continue;
      }
      if (entry.obtained === 'no' && !entry.notObtainedReason && !entry.notObtainedOther) {
        missing(reasons.length ? `${respondent.key}-reason` : `${respondent.key}-reason-other`, `${reasons.length ? 'Select' : 'Enter'} why feedback was not obtained from ${respondent.label}`);
      }
      if (entry.obtained === 'yes') {
        for (const question of respondentQuestions(section, respondent)) {
          if (question.required && !isAnswered(entry.answers?.[question.key])) missing(fieldId(question, `${respondent.key}-${question.key}`), missingMessage(question, question.label, respondent.label));
        }
      }
    }
  }
  return problems;
}

/** Whether anything on a page has been answered (a page not started is one line at submission). */
export function pageStarted(form: AuditForm, page: string, answers: Record<string, unknown>): boolean {
  return pageQuestions(form.tool, page).some((question) => isAnswered(answers[question.spec.key])) || isAnswered(answers[page]);
}

/** The pages of the form in order: the details, then each section the auditor fills in. */
export function formPages(tool: AuditTool): string[] {
  return [...(tool.header.length ? [DETAILS_PAGE] : []), ...auditorSections(tool).map((section) => section.key)];
}

/**
 * Everything that stops submission, page by page. A section not started is one line ("Complete
 * the section: Reviews") rather than one per question: its page then names each question.
 */
export function submissionProblems(form: AuditForm, answers: Record<string, unknown>): FormProblem[] {
  const problems = formPages(form.tool).flatMap((page) => {
    const missing = missingOnPage(form, page, answers);
    if (missing.length === 0 || pageStarted(form, page, answers)) return missing;
    const title = page === DETAILS_PAGE ? 'Audit details' : findSection(form.tool, page)!.title;
    return [{ page, field: missing[0]!.field, message: `Complete the section: ${title}` }];
  });
  return [...problems, ...limitErrors(form, answers)];
}

/** The problems of one page that stop submission: shown beside their fields when a refused submission's link opens the page. */
export function pageProblems(form: AuditForm, page: string, answers: Record<string, unknown>): FormProblem[] {
  return [...missingOnPage(form, page, answers), ...limitErrors(form, answers, page)];
}

function completedSections(form: AuditForm, answers: Record<string, unknown>): string[] {
  return auditorSections(form.tool)
    .filter((section) => sectionApplies(form.tool, section.key, answers, form.child))
    .filter((section) => pageStarted(form, section.key, answers))
    .filter((section) => missingOnPage(form, section.key, answers).length === 0)
    .map((section) => section.key);
}

// ---- saving and submitting ----------------------------------------------------------------

function requireEditable(form: AuditForm) {
  if (!isEditable(form)) throw conflict('This audit has been submitted and can no longer be changed here');
}

/**
 * Saves one page of the form: the page's answers replace what was saved for them, nothing else
 * changes. Refused with every problem named (and nothing saved) when an answer is not one the
 * tool allows or breaks a limiting judgement, and refused as stale when the audit has been
 * saved since `expectedVersion`. The first save starts the audit and fills in its header from
 * the register.
 */
export async function saveSection(db: Db, actor: FormActor, auditId: string, page: string, fields: RawFields, expectedVersion: number): Promise<SaveOutcome> {
  const form = await openForm(db, actor.principal, auditId, ukDateAt(actor.at));
  requireEditable(form);
  if (page !== DETAILS_PAGE && !findSection(form.tool, page)) throw notFound('Section');
  if (form.version !== expectedVersion) return { ok: false, reason: 'stale', version: form.version, answers: form.audit.answers };
  const parsed = parsePage(form.tool, page, fields, form.context);
  const answers: Record<string, unknown> = { ...(form.audit.status === 'allocated' ? await prefilledAnswers(db, form) : {}), ...form.audit.answers };
  // A question the page left off (it does not apply) keeps what it had: it was not there to change.
  const leftOff = new Set([...questionsAsked(form, page, answers)].flatMap(([key, state]) => (state.asked || state.live ? [] : [key])));
  for (const [key, value] of Object.entries(parsed.answers)) {
    if (leftOff.has(key)) continue;
    if (value === undefined) delete answers[key];
    else answers[key] = value;
  }
  keepRespondentsNotAsked(form, page, answers, form.audit.answers);
  const errors = [...parsed.errors, ...limitErrors(form, answers, page).map(({ field, message }) => ({ field, message }))];
  if (errors.length) return { ok: false, reason: 'invalid', errors };
  return inTransaction(db, async (trx) => {
    const updated = await trx
      .updateTable('audits')
      .set({
        answers: JSON.stringify(answers),
        completed_sections: JSON.stringify(completedSections(form, answers)),
        version: sql<number>`version + 1`,
        updated_at: sql<string>`now()`,
      })
      .where('id', '=', form.audit.id)
      .where('version', '=', expectedVersion)
      .returning(['version', 'status'])
      .executeTakeFirst();
    if (!updated) {
      const current = await trx.selectFrom('audits').select(['version', 'answers']).where('id', '=', form.audit.id).executeTakeFirstOrThrow();
      return { ok: false as const, reason: 'stale' as const, version: current.version, answers: current.answers };
    }
    // Saved: what was kept of an earlier try at this page is no longer needed.
    await trx.deleteFrom('audit_form_drafts').where('audit_id', '=', form.audit.id).where('page', '=', page).execute();
    // The first save starts the audit: a transition of the lifecycle, in this same transaction.
    const version = updated.status === 'allocated' ? (await transitionAudit(trx, actor, form.audit.id, 'in_progress', { expectedVersion: updated.version })).version : updated.version;
    const started = updated.status === 'allocated' ? '; audit started' : '';
    await logActivity(trx, actor, { action: 'update', recordType: 'audit', recordId: form.audit.id, childId: form.audit.child.id, summary: `audit form saved: ${page}${started}` });
    return { ok: true as const, version, form, answers };
  });
}

/**
 * A respondent not asked for this child (too young, or their condition does not hold) is not on
 * the page, like any question left off: what was saved for them stays, and nothing posted for
 * them is taken.
 */
function keepRespondentsNotAsked(form: AuditForm, page: string, answers: Record<string, unknown>, before: Record<string, unknown>): void {
  const section = page === DETAILS_PAGE ? undefined : findSection(form.tool, page);
  if (!section?.feedback) return;
  const saved = feedbackOf(before, section.key);
  const respondents: Record<string, unknown> = { ...feedbackOf(answers, section.key) };
  for (const respondent of section.feedback.respondents) {
    if (respondentAsked(form, respondent, answers)) continue;
    if (saved[respondent.key]) respondents[respondent.key] = saved[respondent.key];
    else delete respondents[respondent.key];
  }
  if (Object.keys(respondents).length) answers[section.key] = { respondents };
  else delete answers[section.key];
}

/**
 * The respondents whose "Was feedback obtained?" this save answered or changed, with nothing
 * yet in the branch it opens: without JavaScript, Continue brings the auditor back to the
 * page, which now shows only that branch, rather than moving on past it.
 */
export function feedbackToFollowUp(form: AuditForm, page: string, before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const section = page === DETAILS_PAGE ? undefined : findSection(form.tool, page);
  if (!section?.feedback) return [];
  const was = feedbackOf(before, section.key);
  const now = feedbackOf(after, section.key);
  return section.feedback.respondents
    .filter((respondent) => respondentAsked(form, respondent, after))
    .filter((respondent) => {
      const entry = now[respondent.key];
      if (!entry?.obtained || entry.obtained === was[respondent.key]?.obtained) return false;
      const branchEmpty = entry.obtained === 'yes' ? Object.keys(entry.answers ?? {}).length === 0 : !entry.notObtainedReason && !entry.notObtainedOther;
      return branchEmpty;
    })
    .map((respondent) => respondent.key);
}

/** The fields of a form page worth keeping: what was typed, not the form's own bookkeeping. */
function typedFields(fields: RawFields): RawFields {
  return Object.fromEntries(Object.entries(fields).filter(([name]) => !name.startsWith('_')));
}

/**
 * Keeps what was typed on a page that could not be saved, as typed, so nothing is lost if the
 * auditor leaves by the back link: the page shows it again, with its problems, until it saves.
 */
export async function keepDraft(db: Db, actor: FormActor, form: AuditForm, page: string, fields: RawFields): Promise<void> {
  const typed = JSON.stringify(typedFields(fields));
  await inTransaction(db, async (trx) => {
    await trx
      .insertInto('audit_form_drafts')
      .values({ audit_id: form.audit.id, organisation_id: actor.principal.organisationId, page, fields: typed, saved_by: actor.principal.userId })
      .onConflict((conflict) => conflict.columns(['audit_id', 'page']).doUpdateSet({ fields: typed, saved_by: actor.principal.userId, updated_at: sql<string>`now()` }))
      .execute();
    await logActivity(trx, actor, { action: 'update', recordType: 'audit', recordId: form.audit.id, childId: form.audit.child.id, summary: `audit form: ${page} kept unsaved, with problems to put right` });
  });
}

/** What was typed on a page that could not be saved, if anything. */
export async function findDraft(db: Db, form: AuditForm, page: string): Promise<RawFields | undefined> {
  const row = await db.selectFrom('audit_form_drafts').select('fields').where('audit_id', '=', form.audit.id).where('page', '=', page).executeTakeFirst();
  if (!row) return undefined;
  return jsonValue<RawFields>(row.fields);
}

/** The overall grade as an Ofsted grade, through the scale option's `ofsted` where it has one. */
export function auditorGrade(form: AuditForm, answers: Record<string, unknown>): Grade | null {
  const { tool } = form;
  const grade = overallGrade(tool, answers, form.child).grade;
  if (!grade || !tool.overall) return null;
  const answer = [...tool.header, ...tool.sections.flatMap((section) => section.answers)].find((candidate) => candidate.key === tool.overall!.answer);
  const scale = answer?.kind === 'judgement' ? scaleOf(tool, answer.scale) : undefined;
  return scale?.options.find((option) => option.value === grade)?.ofsted ?? null;
}

/**
 * Submits the audit for moderation: refused, with every missing answer named, while a required
 * judgement or its evidence is missing or a limiting judgement is broken. Records the auditor's
 * grade and each section's judgement.
 */
export async function submitAudit(db: Db, actor: FormActor, auditId: string, expectedVersion: number): Promise<SubmitOutcome> {
  const form = await openForm(db, actor.principal, auditId, ukDateAt(actor.at));
  requireEditable(form);
  if (form.version !== expectedVersion) return { ok: false, reason: 'stale', version: form.version };
  const answers = form.audit.answers;
  const errors = submissionProblems(form, answers);
  if (errors.length) return { ok: false, reason: 'invalid', errors };
  const grade = auditorGrade(form, answers);
  const judgements = sectionJudgements(form, answers);
  return inTransaction(db, async (trx) => {
    const updated = await trx
      .updateTable('audits')
      .set({
        auditor_grade: grade,
        completed_sections: JSON.stringify(completedSections(form, answers)),
        version: sql<number>`version + 1`,
        updated_at: sql<string>`now()`,
      })
      .where('id', '=', form.audit.id)
      .where('version', '=', expectedVersion)
      .where('status', 'in', [...EDITABLE_STATUSES])
      .returning(['version', 'status'])
      .executeTakeFirst();
    if (!updated) {
      const current = await trx.selectFrom('audits').select('version').where('id', '=', form.audit.id).executeTakeFirstOrThrow();
      return { ok: false as const, reason: 'stale' as const, version: current.version };
    }
    // Submitting is the lifecycle's submit (or resubmit, once returned); an audit never saved is started first.
    let version = updated.version;
    if (updated.status === 'allocated') version = (await transitionAudit(trx, actor, form.audit.id, 'in_progress', { expectedVersion: version })).version;
    const submitted = await transitionAudit(trx, actor, form.audit.id, 'in_moderation', { expectedVersion: version });
    // A grade the tool alerts on is escalated at once: alerts and e-mails, in this transaction.
    await raiseSubmissionAlerts(trx, actor, form.audit.id);
    // The moderator is chosen now, by the organisation's rule, unless one is already set.
    await assignModerator(trx, actor.principal.organisationId, form.audit.id, ukDateAt(actor.at));
    // The moderator, once chosen, is told it waits on them (by e-mail or in their digest).
    await announceAuditEvent(trx, actor, { auditId: form.audit.id, event: submitted.transition === 'resubmit' ? 'resubmitted' : 'submitted', version: submitted.version });
    await trx.deleteFrom('audit_judgements').where('audit_id', '=', form.audit.id).where('stage', '=', 'auditor').execute();
    if (judgements.length) {
      await trx
        .insertInto('audit_judgements')
        .values(judgements.map((judgement) => ({ audit_id: form.audit.id, organisation_id: actor.principal.organisationId, stage: 'auditor' as const, ...judgement })))
        .execute();
    }
    // The agreed actions become tracked items, once each, whatever the number of submissions.
    await createActionsFromAudit(trx, form.audit.id);
    await logActivity(trx, actor, {
      action: 'update',
      recordType: 'audit',
      recordId: form.audit.id,
      childId: form.audit.child.id,
      summary: `audit submitted for moderation; auditor's grade ${grade ?? 'none'}`,
    });
    return { ok: true as const, grade };
  });
}

/** Each applicable section's first judgement, with the limit that holds it down if any. */
function sectionJudgements(form: AuditForm, answers: Record<string, unknown>) {
  const judgements: { section_key: string; grade: string; reason: string | null }[] = [];
  for (const section of auditorSections(form.tool)) {
    if (!sectionApplies(form.tool, section.key, answers, form.child)) continue;
    const judgement = section.answers.find((answer) => answer.kind === 'judgement' && typeof answers[answer.key] === 'string');
    if (!judgement) continue;
    const limit = limitingJudgement(form.tool, judgement.key, answers, form.child);
    judgements.push({ section_key: section.key, grade: answers[judgement.key] as string, reason: limit ? limitMessage(form.tool, limit) : null });
  }
  return judgements;
}

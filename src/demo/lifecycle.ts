import type { Db } from '../db/index.ts';
import type { Grade } from '../db/types.ts';
import type { Principal } from '../platform/access.ts';
import { findAction, listMyActions, markActionDone, verifyAction, type ActionView } from '../modules/actions/service.ts';
import { closeAudit, openClosing } from '../modules/audits/distribution/closing.ts';
import { distributeAudit, openDistribution } from '../modules/audits/distribution/distribution.ts';
import { giveFeedback, openFeedback } from '../modules/audits/distribution/feedback.ts';
import { recordCaseDirection } from '../modules/audits/escalation/case-direction.ts';
import { DETAILS_PAGE } from '../modules/audits/form/answers.ts';
import { formPages, openForm, prefilledAnswers, saveSection, submitAudit } from '../modules/audits/form/form.ts';
import { moderateAudit, moderationItems, moderatorFields, openModeration, OVERALL_KEY, returnAudit } from '../modules/audits/moderation/moderation.ts';
import { sectionApplies } from '../modules/tools/judgements.ts';
import { addDays, type IsoDate } from '../platform/working-days.ts';
import { demoAnswerWriter, demoFeedbackFields, pageAnswers, type DemoAnswerPlan, type Fields } from './answers.ts';
import { ukDateAt } from '../platform/clock.ts';

/**
 * The demo's people doing their part of an audit's life through the product's own services,
 * with what they would type on each page: the auditor fills in the form and submits it, the
 * moderator moderates or returns it, the QA coordinator distributes and closes it, the case
 * holder gives feedback and marks actions done, the service manager records a case direction.
 * Each step is checked and recorded as the page's would be; a refusal stops the demo load.
 */

export type DemoActor = { principal: Principal; ipAddress: string | null; at: Date };

/** A service's refusal is a fault in the demo's data: stop, naming the step and why. */
function check<T extends { ok: boolean }>(outcome: T, step: string): void {
  if (!outcome.ok) throw new Error(`The demo council could not ${step}: ${JSON.stringify(outcome)}`);
}

/**
 * The auditor fills in the form page by page (the first `pages` only, when given: an audit
 * in progress), each saved as the page saves it. Pages whose section does not apply are skipped.
 */
export async function fillInForm(db: Db, auditor: DemoActor, auditId: string, plan: DemoAnswerPlan, options: { pages?: number } = {}): Promise<void> {
  const form = await openForm(db, auditor.principal, auditId, ukDateAt(auditor.at));
  const prefilled = await prefilledAnswers(db, form);
  const writer = demoAnswerWriter(form, plan);
  let answers: Record<string, unknown> = { ...prefilled, ...form.audit.answers };
  let version = form.version;
  let saved = 0;
  for (const page of formPages(form.tool)) {
    if (saved === options.pages) break;
    // Whether a section applies may turn on the answers of the pages before it.
    if (page !== DETAILS_PAGE && !sectionApplies(form.tool, page, answers, form.child)) continue;
    const fields = writer.page(page, answers, prefilled);
    const outcome = await saveSection(db, auditor, auditId, page, fields, version);
    check(outcome, `save the page "${page}" of audit ${form.audit.reference}`);
    if (outcome.ok) version = outcome.version;
    saved += 1;
    answers = { ...answers, ...pageAnswers(form, page, fields) };
  }
}

/** The auditor submits the audit (or resubmits it) from the check-your-answers page. */
export async function submit(db: Db, auditor: DemoActor, auditId: string): Promise<void> {
  const form = await openForm(db, auditor.principal, auditId, ukDateAt(auditor.at));
  check(await submitAudit(db, auditor, auditId, form.version), `submit audit ${form.audit.reference}`);
}

/**
 * The moderator moderates: every grade as the auditor gave it, except the overall grade when
 * `regrade` changes it (with the reason), and development comments to the auditor.
 */
export async function moderate(db: Db, moderator: DemoActor, auditId: string, options: { comments: string; regrade?: { grade: Grade; reason: string } }): Promise<void> {
  const moderation = await openModeration(db, moderator.principal, auditId, ukDateAt(moderator.at));
  const fields: Fields = { comments: options.comments };
  for (const item of moderationItems(moderation)) {
    const kept = item.auditorGrade ?? item.options[0]?.value ?? '';
    fields[`grade-${item.key}`] = kept;
    if (item.key !== OVERALL_KEY || !options.regrade) continue;
    const changed = item.options.find((option) => option.ofsted === options.regrade!.grade)?.value;
    if (changed && changed !== kept) {
      fields[`grade-${item.key}`] = changed;
      fields[`reason-${item.key}`] = options.regrade.reason;
    }
  }
  // The tool's own questions for the moderator, answered as the moderator would; a grade of theirs that speaks to the overall grade is the one they gave it.
  const part = moderation.moderatorsPart;
  const asked = part.sections.flatMap(({ questions }) => questions.map(({ spec }) => spec)).filter((spec) => spec.kind !== 'repeating' && spec.kind !== 'staff');
  Object.assign(fields, moderatorFields(part), demoFeedbackFields(part.tool, asked, part.context.today));
  for (const spec of asked) if (spec.kind === 'judgement' && spec.domain === 'overall' && fields[`grade-${OVERALL_KEY}`]) fields[spec.key] = fields[`grade-${OVERALL_KEY}`]!;
  // "Do you agree with the grading" / "Did you change the audit grading" say what they did with the overall grade.
  const overallChanged = moderation.overall !== null && fields[`grade-${OVERALL_KEY}`] !== moderation.overall.auditorGrade;
  for (const spec of asked) if (spec.kind === 'yesno' && spec.yesMeans) fields[spec.key] = overallChanged === (spec.yesMeans === 'overallGradeChanged') ? 'yes' : 'no';
  check(await moderateAudit(db, moderator, auditId, fields, moderation.version), `moderate audit ${moderation.audit.reference}`);
}

/** The moderator returns the audit to its auditor with what needs to change. */
export async function returnToAuditor(db: Db, moderator: DemoActor, auditId: string, changes: string): Promise<void> {
  const moderation = await openModeration(db, moderator.principal, auditId, ukDateAt(moderator.at));
  check(await returnAudit(db, moderator, auditId, { changes }, moderation.version), `return audit ${moderation.audit.reference}`);
}

/** The QA coordinator sends the moderated audit to the team manager, the case holder and, when named, an IRO or CP chair. */
export async function distribute(db: Db, coordinator: DemoActor, auditId: string, options: { professional?: { role: 'cp_chair' | 'iro'; jobTitle: string } } = {}): Promise<void> {
  const distribution = await openDistribution(db, coordinator.principal, auditId, ukDateAt(coordinator.at));
  const fields: Fields = { send: ['team_manager', 'case_holder'] };
  const professional = options.professional && distribution.staffList.find((member) => member.jobTitle === options.professional!.jobTitle);
  if (professional) Object.assign(fields, { 'other-0-role': options.professional!.role, 'other-0-staff': professional.id });
  check(await distributeAudit(db, coordinator, auditId, fields, distribution.state.version), `distribute audit ${distribution.audit.reference}`);
}

/** The case holder answers the practitioner feedback questions. */
export async function giveDemoFeedback(db: Db, caseHolder: DemoActor, auditId: string): Promise<void> {
  const form = await openFeedback(db, caseHolder.principal, auditId, ukDateAt(caseHolder.at));
  const fields = demoFeedbackFields(form.tool, form.asked.questions, form.context.today);
  check(await giveFeedback(db, caseHolder, auditId, fields, form.state.version), `give feedback on audit ${form.audit.reference}`);
}

/** The QA coordinator reads the feedback and closes the audit with their comments. */
export async function close(db: Db, coordinator: DemoActor, auditId: string, comments: string): Promise<void> {
  const closing = await openClosing(db, coordinator.principal, auditId);
  check(await closeAudit(db, coordinator, auditId, { comments }, closing.state.version), `close audit ${closing.audit.reference}`);
}

export type DirectedAction = { text: string; ownerId: string; dueInDays: number };

/** The service manager records the case direction and its actions, on the day given. */
export async function directCase(db: Db, serviceManager: DemoActor, auditId: string, direction: string, actions: readonly DirectedAction[], today: IsoDate): Promise<void> {
  const fields: Fields = { direction };
  actions.forEach((action, row) => {
    const [year, month, day] = addDays(today, action.dueInDays).split('-');
    Object.assign(fields, {
      [`action-${row}-text`]: action.text,
      [`action-${row}-owner`]: action.ownerId,
      [`action-${row}-due-day`]: String(Number(day)),
      [`action-${row}-due-month`]: String(Number(month)),
      [`action-${row}-due-year`]: year!,
    });
  });
  check(await recordCaseDirection(db, serviceManager, auditId, fields, { today }), 'record the case direction');
}

/** The owner's actions from one audit, in the order the audit lists them. */
export async function actionsOf(db: Db, owner: DemoActor, auditId: string): Promise<ActionView[]> {
  return (await listMyActions(db, owner.principal, ukDateAt(owner.at))).filter((action) => action.auditId === auditId);
}

/** The owner marks their action done, with their evidence. */
export async function markDone(db: Db, owner: DemoActor, action: ActionView, evidence: string): Promise<void> {
  check(await markActionDone(db, owner, action.id, { _version: action.version, evidence }), 'mark an action done');
}

/** Someone other than the owner checks the done action and verifies it. */
export async function verify(db: Db, verifier: DemoActor, actionId: string, note: string): Promise<void> {
  const action = await findAction(db, verifier.principal, actionId, ukDateAt(verifier.at));
  if (!action) throw new Error('The demo council could not verify an action: the verifier cannot see it');
  check(await verifyAction(db, verifier, action.id, { _version: action.version, note }), 'verify an action');
}

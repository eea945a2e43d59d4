import type { Grade } from '../db/types.ts';
import { addDays } from '../platform/working-days.ts';
import { DETAILS_PAGE, findSection, optionsOf, pageFields, pageQuestions, parsePage, simpleToFields } from '../modules/audits/form/answers.ts';
import { respondentAsked, type AuditForm } from '../modules/audits/form/form.ts';
import { actionPlanAnswers } from '../modules/actions/service.ts';
import type { Answer, AuditTool, SimpleAnswer } from '../modules/tools/schema.ts';
import type { ScaleOption } from '../modules/tools/scales.ts';

/**
 * The demo's answers: what a person would type into each page of an audit's form, built from
 * the tool's own definition so that any tool can be filled in. Pure: the pages are saved
 * through the form's own service (demo-lifecycle.ts), which checks them as it checks a person's.
 */

export type Fields = Record<string, string | string[]>;

/** How the auditor grades the case: the overall grade, and the sections around it. */
export type DemoGrading = 'good' | 'requires_improvement' | 'inadequate';

export type DemoAnswerPlan = {
  grading: DemoGrading;
  /** Who the agreed actions are for (the case holder), and who a required staff question names. */
  ownerId: string;
  /** Days from today to each agreed action's due date: one action per entry. */
  actionsDueInDays: readonly number[];
};

/** Sections alternate between the overall grade and the one next to it, as real audits do. */
const SECTION_GRADES: Record<DemoGrading, readonly Grade[]> = {
  good: ['good', 'good', 'outstanding'],
  requires_improvement: ['good', 'requires_improvement'],
  inadequate: ['requires_improvement', 'inadequate'],
};

/**
 * What is written in a box, chosen by what the box asks (the first pattern that matches), and
 * turn by turn among the alternatives so that the sections of an audit do not all read alike.
 * Where the grade matters, the words follow the audit's grading.
 */
type Texts = readonly string[] | Record<DemoGrading, readonly string[]>;

const STRENGTHS = [
  "The social worker knows the child well: visits are regular and purposeful, and the child's wishes and feelings are recorded in their own words.",
  'The family were part of the assessment and the plan, and say they understand what needs to change.',
  "Good use of the family network: the grandparents are part of the safety plan and attend the core group.",
  'Partner agencies are engaged and share information promptly; school and health contribute to every review.',
];

const IMPROVEMENTS: Record<DemoGrading, readonly string[]> = {
  good: [
    'The chronology has not been updated since the last review.',
    "The child's plan could say more clearly who does what by when.",
    "The father's views are not recorded, although he sees the child every week.",
  ],
  requires_improvement: [
    "The chronology has not been updated since the last review, and not every action in the child's plan says who does what by when.",
    'Two statutory visits were late, and the reasons are not recorded.',
    "The assessment does not analyse the impact of the parents' mental health on the child.",
  ],
  inadequate: [
    'Visits have lapsed for six weeks and the child has not been seen alone since the last review.',
    'The risks from domestic abuse are not assessed, and the plan has not been reviewed since the conference.',
    'There is no management oversight recorded for three months, despite a new referral from the school.',
  ],
};

const TEXTS: readonly (readonly [RegExp, Texts])[] = [
  [/considerations/i, ["The family asked for more notice of meetings: I now agree the next date with them at the end of each visit."]],
  [/strength|going.*well|went well/i, STRENGTHS],
  [/improvement|would it take/i, IMPROVEMENTS],
  [/done better/i, ['More notice of meetings, so that we can arrange time off work.', 'To have the same social worker for longer.']],
  [/clear about/i, ['Yes. The social worker explained why they are involved and what needs to change, and wrote it down for us.', 'Mostly. It was clearer after the first core group.']],
  [/comment/i, ['Up to date and used to inform planning.', 'In place, but not reviewed since the last significant event.']],
  [/practice/i, ['I update the chronology after each significant event, and check the actions of the plan with my manager in supervision.']],
  [/changes? (have been )?achieved/i, ['Things are calmer at home and the children are going to school every day.', 'We have a routine now and know who to call when things get difficult.']],
  [/learning/i, ['Keep the chronology up to date after every significant event, and write plans the family can follow.']],
  [/findings/i, ['The grades are supported by the evidence on the record.']],
  [/teams/i, ['First Response, then the area social work unit.']],
  [/role/i, ['Independent reviewing officer']],
];
const FALLBACK_TEXT = "Seen on the child's record and discussed with the case holder in the collaborative session.";

const IMPROVEMENT_PLAN = 'Update the chronology by the end of the month, and review every action of the plan with the family at the next core group.';

/** Agreed actions: SMART, each with its owner and date (never "ASAP" or "ongoing"). */
const ACTIONS = [
  "Update the chronology with the events of the last three months and share it with the child's network.",
  "Hold a family network meeting to agree the contingency plan, and record the child's views on it.",
  'Complete the direct work sessions with the child and add their words to the plan.',
  "Record the father's views and invite him to the next core group.",
  'Refer the family to the domestic abuse service and record the outcome on the file.',
  "Ask the school for an attendance report before the review, and add it to the child's record.",
];

/** The text for a box with this label: each kind of box takes its alternatives in turn. */
function demoText(writer: Writer, label: string, maxLength?: number): string {
  const kind = TEXTS.findIndex(([pattern]) => pattern.test(label));
  const texts = TEXTS[kind]?.[1];
  const choices = !texts ? [FALLBACK_TEXT] : Array.isArray(texts) ? texts : (texts as Record<DemoGrading, readonly string[]>)[writer.plan.grading];
  const turn = writer.turns.get(kind) ?? writer.firstTurn;
  writer.turns.set(kind, turn + 1);
  const text = choices[turn % choices.length]!;
  return maxLength ? text.slice(0, maxLength) : text;
}

/** How many days before today a date in the past lies, by what it asks. */
function daysAgo(label: string): number {
  if (/referral/i.test(label)) return 120;
  if (/allocation/i.test(label)) return 100;
  if (/supervision/i.test(label)) return 3;
  return 14;
}

/** The option for a grade: the one the Ofsted grade maps to, else the scale's first. */
function gradeOption(options: readonly ScaleOption[], grade: Grade): string | undefined {
  return (options.find((option) => option.ofsted === grade) ?? options.find((option) => option.value === grade) ?? options[0])?.value;
}

/** Counters carried from page to page: the n-th judgement, and the turn of each kind of text. */
type Writer = { tool: AuditTool; plan: DemoAnswerPlan; today: string; judgements: number; firstTurn: number; turns: Map<number, number> };

/** A simple answer as the form posts it (nothing for a staff question nobody needs to answer). */
function simpleField(spec: Answer | SimpleAnswer, name: string, writer: Writer, fields: Fields): void {
  const { tool, today } = writer;
  switch (spec.kind) {
    case 'judgement': {
      const grades = SECTION_GRADES[writer.plan.grading];
      const grade = tool.overall?.answer === spec.key ? writer.plan.grading : grades[writer.judgements++ % grades.length]!;
      const value = gradeOption(optionsOf(tool, spec), grade);
      if (value) fields[name] = value;
      return;
    }
    case 'single':
    case 'multiple': {
      const first = optionsOf(tool, spec)[0]?.value;
      if (first) fields[name] = spec.kind === 'multiple' ? [first] : first;
      return;
    }
    case 'yesno':
      fields[name] = 'yes';
      return;
    case 'text':
      fields[name] = /improvement plan/i.test(spec.label) ? IMPROVEMENT_PLAN : demoText(writer, spec.label, spec.maxLength);
      return;
    case 'number':
      fields[name] = String(Math.min(spec.max ?? 2, Math.max(spec.min ?? 2, 2)));
      return;
    case 'scaling':
      fields[name] = String(Math.min(spec.max, Math.max(spec.min, 7)));
      return;
    case 'staff':
      if (spec.required && writer.plan.ownerId) fields[name] = writer.plan.ownerId;
      return;
    case 'date': {
      const offset = spec.allow === 'future' ? 28 : spec.allow === 'past' ? -daysAgo(spec.label) : 0;
      simpleToFields(spec, addDays(today, offset), name, fields);
      return;
    }
    case 'repeating':
      return;
  }
}

type ActionPlan = ReturnType<typeof actionPlanAnswers>[number];

/** An action plan's rows, one per due date of the plan: the action, its owner (the case holder) and its date. */
function actionRows(spec: Extract<Answer, { kind: 'repeating' }>, plan: ActionPlan, writer: Writer, fields: Fields): void {
  writer.plan.actionsDueInDays.forEach((days, row) => {
    for (const column of spec.columns) {
      const name = `${spec.key}-${row}-${column.key}`;
      if (column.key === plan.text.key) fields[name] = ACTIONS[(writer.firstTurn + row) % ACTIONS.length]!;
      else if (column.key === plan.due?.key) simpleToFields(column, addDays(writer.today, days), name, fields);
      else if (column.key === plan.owner?.key) fields[name] = writer.plan.ownerId;
      else simpleField(column, name, writer, fields);
    }
  });
}

export type DemoAnswerWriter = {
  /**
   * The fields of one page, as the auditor would fill it in: the header keeps what the
   * register filled in (`prefilled`), the rest is written from the tool's questions.
   * `answers` are those given so far, which decide whose feedback is asked for.
   */
  page(page: string, answers: Record<string, unknown>, prefilled: Record<string, unknown>): Fields;
};

/** Writes an audit's pages in turn, so its sections' grades vary around the overall grade. */
export function demoAnswerWriter(form: AuditForm, plan: DemoAnswerPlan): DemoAnswerWriter {
  // Audits start at different texts and actions, so that a case holder's list does not repeat itself.
  const writer: Writer = { tool: form.tool, plan, today: form.context.today, judgements: 0, firstTurn: form.audit.reference, turns: new Map() };
  const plans = new Map(actionPlanAnswers(form.tool).map((plan) => [plan.key, plan]));
  return {
    page(page, answers, prefilled) {
      const fields: Fields = page === DETAILS_PAGE ? pageFields(form.tool, page, prefilled) : {};
      for (const { spec } of pageQuestions(form.tool, page)) {
        if (page === DETAILS_PAGE && spec.key in prefilled) continue;
        const plan = plans.get(spec.key);
        if (spec.kind !== 'repeating') simpleField(spec, spec.key, writer, fields);
        else if (plan) actionRows(spec, plan, writer, fields);
        else for (const column of spec.columns) simpleField(column, `${spec.key}-0-${column.key}`, writer, fields);
      }
      const section = page === DETAILS_PAGE ? undefined : findSection(form.tool, page);
      const feedback = section?.feedback;
      // Whose feedback is asked for may turn on this page's own answers (was any feedback gained?).
      const withPage = feedback ? { ...answers, ...pageAnswers(form, page, fields) } : answers;
      for (const respondent of feedback?.respondents ?? []) {
        if (!respondentAsked(form, respondent, withPage)) continue;
        // Parents and carers took part; the others could not, with the reason recorded.
        if (respondent.type === 'parent_carer') {
          fields[`${respondent.key}-obtained`] = 'yes';
          if (respondent.askResidence) fields[`${respondent.key}-resident`] = 'yes';
          for (const question of [...feedback!.questions, ...(respondent.questions ?? [])]) simpleField(question, `${respondent.key}-${question.key}`, writer, fields);
        } else {
          fields[`${respondent.key}-obtained`] = 'no';
          const reason = feedback!.notObtained?.options?.[0]?.value;
          if (reason) fields[`${respondent.key}-reason`] = reason;
          else fields[`${respondent.key}-reason-other`] = 'Did not want to take part this time';
        }
      }
      return fields;
    },
  };
}

/** The answers a page's fields give, to decide what the later pages ask. */
export function pageAnswers(form: AuditForm, page: string, fields: Fields): Record<string, unknown> {
  return parsePage(form.tool, page, fields, form.context).answers;
}

/** The case holder's answers to the practitioner feedback questions (a staff question left blank). */
export function demoFeedbackFields(tool: AuditTool, questions: readonly (Answer | SimpleAnswer)[], today: string): Fields {
  const writer: Writer = { tool, plan: { grading: 'good', ownerId: '', actionsDueInDays: [] }, today, judgements: 0, firstTurn: 0, turns: new Map() };
  const fields: Fields = {};
  for (const question of questions) {
    simpleField(question, question.key, writer, fields);
  }
  return fields;
}

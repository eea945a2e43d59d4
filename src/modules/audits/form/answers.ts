/**
 * The audit form's fields, built from the tool edition: which questions a page asks, how the
 * posted fields of a page become answers (checked per kind with zod), and how answers go back
 * into form fields and into words.
 *
 * Answers are stored as the tool's own keys (see the answers contract): a judgement or choice
 * is its option value, a date 'YYYY-MM-DD', a repeating answer an array of rows, a
 * service-user feedback section an object of respondents. Text is stored exactly as typed.
 *
 * Field names: an answer's own key; a date's parts `key-day`, `key-month`, `key-year`; a row's
 * column `key-ROW-column`; a respondent's part `respondent-obtained`, `respondent-QUESTION`.
 * Tool keys never contain a hyphen, so these names cannot collide.
 */
import { z } from 'zod';
import type { FieldError } from '../../../platform/errors.ts';
import { formatDate } from '../../../platform/views.ts';
import { isIsoDate } from '../../../platform/working-days.ts';
import type { ScaleOption } from '../../tools/scales.ts';
import { answerApplies, scaleOf } from '../../tools/judgements.ts';
import type { ChildFacts } from '../../tools/expression.ts';
import { defaultCompletedBy, type Answer, type AuditTool, type CompletedBy, type Respondent, type Section, type SimpleAnswer } from '../../tools/schema.ts';

/** The page of the form that holds the tool's header answers. */
export const DETAILS_PAGE = 'details';

/** Posted field values: a string, or several for checkboxes. */
export type RawFields = Record<string, unknown>;

/** What a value is checked against: the staff who may be named, and today (for past/future dates). */
export type FieldContext = { tool: AuditTool; staff: ReadonlyMap<string, string>; today: string };

/** One question on a page, with its place: criteria and evidence boxes become questions too. */
export type Question = { spec: Answer; section: string; judgementKey?: string };

const MAX_TEXT = 20_000;
const MAX_ROWS = 100;

export function auditorCompletes(section: Section): boolean {
  return section.kind !== 'reAudit' && (section.completedBy ?? defaultCompletedBy(section.kind)) === 'auditor';
}

/** Who fills a section in: its own `completedBy`, else its kind's person. */
export function sectionPerson(section: Section): CompletedBy {
  return section.completedBy ?? defaultCompletedBy(section.kind);
}

const byPerson = (person: CompletedBy, section: Section | null, answer: { completedBy?: string | undefined }) =>
  (answer.completedBy ?? (section ? sectionPerson(section) : 'auditor')) === person;

const byAuditor = (section: Section | null, answer: { completedBy?: string | undefined }) => byPerson('auditor', section, answer);

/**
 * The sections the moderator fills in on the moderation page, in the tool's order: a
 * `moderation` section, and any section or answer marked `completedBy: moderator` (Lambeth's
 * "Additional Actions recommended by Second Line"). A re-audit's section is never theirs.
 */
export function moderatorSections(tool: AuditTool): Section[] {
  return tool.sections.filter((section) => section.kind !== 'reAudit' && section.answers.some((answer) => byPerson('moderator', section, answer)));
}

/** The sections the auditor fills in, in the tool's order (moderation, feedback and re-audit come later). */
export function auditorSections(tool: AuditTool): Section[] {
  return tool.sections.filter(auditorCompletes);
}

export function findSection(tool: AuditTool, key: string): Section | undefined {
  return auditorSections(tool).find((section) => section.key === key);
}

/** A criterion answered on a scale, as a single-choice question. */
function criterionQuestions(section: Section): Answer[] {
  const questions: Answer[] = [];
  for (const criterion of section.criteria ?? []) {
    if (typeof criterion === 'string' || 'heading' in criterion || !criterion.key) continue;
    const scale = criterion.scale ?? section.criteriaScale;
    if (scale) {
      questions.push({
        kind: 'single',
        key: criterion.key,
        label: criterion.text,
        hint: criterion.hint,
        scale,
        required: criterion.required ?? section.criteriaRequired ?? false,
        appliesWhen: criterion.appliesWhen,
      });
    }
    if (criterion.comment) questions.push({ kind: 'text', key: criterion.comment.key, label: criterion.comment.label, hint: criterion.comment.hint, required: criterion.comment.required, rows: criterion.comment.rows ?? 2 });
  }
  return questions;
}

/** The questions of a page (the header, or one section), in the order they are asked. */
export function pageQuestions(tool: AuditTool, page: string): Question[] {
  if (page === DETAILS_PAGE) return tool.header.filter((answer) => byAuditor(null, answer)).map((spec) => ({ spec, section: DETAILS_PAGE }));
  const section = findSection(tool, page);
  return section ? sectionQuestions(section, 'auditor') : [];
}

/** The questions of a section that a person answers, in the order they are asked: criteria, then each answer with its evidence boxes. */
export function sectionQuestions(section: Section, person: CompletedBy): Question[] {
  const questions: Question[] = person === sectionPerson(section) ? criterionQuestions(section).map((spec) => ({ spec, section: section.key })) : [];
  for (const answer of section.answers) {
    if (!byPerson(person, section, answer)) continue;
    questions.push({ spec: answer, section: section.key });
    if (answer.kind === 'judgement') {
      for (const box of answer.evidence ?? []) {
        questions.push({ spec: { kind: 'text', key: box.key, label: box.label, hint: box.hint, required: box.required, rows: box.rows ?? 5 }, section: section.key, judgementKey: answer.key });
      }
    }
  }
  return questions;
}

export function optionsOf(tool: AuditTool, spec: Answer | SimpleAnswer): ScaleOption[] {
  if (spec.kind === 'yesno') return [{ value: 'yes', label: 'Yes' }, { value: 'no', label: 'No' }];
  if (spec.kind === 'judgement') return scaleOf(tool, spec.scale)?.options ?? [];
  if (spec.kind === 'single' || spec.kind === 'multiple') return spec.options ?? (spec.scale ? (scaleOf(tool, spec.scale)?.options ?? []) : []);
  return [];
}

/** The id of the element an error links to: the first radio, the day box, the text box. */
export function fieldId(spec: Answer | SimpleAnswer, name: string): string {
  return spec.kind === 'date' || spec.kind === 'datetime' ? `${name}-day` : name;
}

/** A label as the middle of a sentence: "Action Required" → "action required", but "SMART plan" and "IRO" stay. */
function inSentence(label: string): string {
  return label.replace(/\b[A-Z][a-z]+\b/g, (word) => word.toLowerCase());
}

/** A judgement labelled only "Judgement" or "Grading" is named by its section: "Reviews". */
export function judgementName(section: Section | undefined, answer: { label: string }): string {
  const bare = /^(grading|judgement|grade)$/i.test(answer.label.trim());
  return bare && section ? section.title.replace(/^\d+\.\s*/, '') : answer.label;
}

/**
 * What to say when a required answer is missing, in GOV.UK's words: "Select a judgement for
 * Reviews", "Enter strengths for Assessment", "Select case type". A long label, or a question,
 * is quoted whole ("Answer ‘Is the child seen alone?’") rather than bent into a sentence.
 */
export function missingMessage(spec: Answer | SimpleAnswer, label: string, forWhat?: string): string {
  const about = forWhat ? ` for ${forWhat}` : '';
  if (spec.kind === 'judgement') return `Select a judgement for ${label}`;
  const text = label.trim().replace(/[.:]$/, '');
  if (isQuestion(text) || text.split(/\s+/).length > 6) return `Answer ‘${text}’${about}`;
  const what = inSentence(text);
  switch (spec.kind) {
    case 'single':
    case 'yesno':
    case 'scaling':
      return `Select ${what}${about}`;
    case 'multiple':
      return `Select at least one option for ${what}${about}`;
    case 'date':
      return `Enter a date for ${what}${about}`;
    case 'datetime':
      return `Enter a date and time for ${what}${about}`;
    case 'staff':
      // Staff labels name a role in the form's own words ("To be completed by"): quoted, they read.
      return `Select a member of staff for ‘${text}’${about}`;
    default:
      return `Enter ${what}${about}`;
  }
}

/** A label that asks a question, with its question mark or without ("Do you agree with the grading"): it is quoted, never bent into a sentence. */
function isQuestion(text: string): boolean {
  return text.endsWith('?') || /^(do|does|did|is|are|was|were|has|have|had|can|could|will|would|should)\s/i.test(text);
}

/**
 * A label as the subject of a sentence about a wrong answer, to start it ("By when for action 1
 * must be a real date") or within it ("Enter by when for action 1 as a date"); a question, or a
 * label as long as a paragraph, is quoted whole: "The answer to ‘Is the child seen alone?’".
 */
type Subject = { start: string; within: string };

function subjectOf(label: string, forWhat?: string): Subject {
  const about = forWhat ? ` for ${forWhat}` : '';
  const text = label.trim().replace(/[.:]$/, '');
  // A statement of a few more words still starts a sentence well ("Date you discussed the audit in
  // supervision with your manager must be a real date"); a question or a paragraph does not.
  if (isQuestion(text) || text.split(/\s+/).length > 12) return { start: `The answer to ‘${text}’${about}`, within: `the answer to ‘${text}’${about}` };
  return { start: `${text}${about}`, within: `${inSentence(text)}${about}` };
}

/**
 * How an answer is wrong, in GOV.UK's words for its component: a sentence finished with the
 * field's name ("By when for action 1 must be a real date", "Child's age must be a whole number
 * between 0 and 25"), or for a choice not among those offered (only a crafted form posts one)
 * the same words as when it is missing ("Select type of audit").
 */
export type Problem = { says: (subject: Subject) => string } | 'choose';

export function wrongMessage(spec: Answer | SimpleAnswer, label: string, problem: Problem, forWhat?: string): string {
  return problem === 'choose' ? missingMessage(spec, label, forWhat) : problem.says(subjectOf(label, forWhat));
}

const says = (sentence: (subject: Subject) => string): { ok: false; problem: Problem } => ({ ok: false, problem: { says: sentence } });
const choose = { ok: false, problem: 'choose' } as const;

export function isAnswered(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'string') return value.trim() !== '';
  if (Array.isArray(value)) return value.length > 0;
  return true;
}

// ---- posted fields → answers -------------------------------------------------------------

function one(raw: RawFields, name: string): string {
  const value = raw[name];
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return String(value.findLast((item) => typeof item === 'string') ?? '');
  return '';
}

function many(raw: RawFields, name: string): string[] {
  const value = raw[name];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string' && item !== '');
  return typeof value === 'string' && value !== '' ? [value] : [];
}

type Parsed = { ok: true; value: unknown } | { ok: false; problem: Problem };

function choiceSchema(options: ScaleOption[]) {
  const values = options.map((option) => option.value);
  return z.string().refine((value) => values.includes(value));
}

function checkChoice<T>(schema: z.ZodType<T>, input: unknown): Parsed {
  const result = schema.safeParse(input);
  return result.success ? { ok: true, value: result.data } : choose;
}

/** "a whole number between 0 and 25", "a number of 0 or more": the range in the same words whatever was wrong. */
function numberWanted(spec: Extract<SimpleAnswer, { kind: 'number' }>): string {
  const kind = spec.integer ? 'a whole number' : 'a number';
  const at = (value: number) => value.toLocaleString('en-GB');
  if (spec.min !== undefined && spec.max !== undefined) return `${kind} between ${at(spec.min)} and ${at(spec.max)}`;
  if (spec.min !== undefined) return `${kind} of ${at(spec.min)} or more`;
  if (spec.max !== undefined) return `${kind} of ${at(spec.max)} or less`;
  return kind;
}

function parseNumber(spec: Extract<SimpleAnswer, { kind: 'number' }>, value: string): Parsed {
  const trimmed = value.trim();
  const number = Number(trimmed);
  const fits =
    /^-?\d+(\.\d+)?$/.test(trimmed) &&
    (!spec.integer || Number.isInteger(number)) &&
    (spec.min === undefined || number >= spec.min) &&
    (spec.max === undefined || number <= spec.max);
  return fits ? { ok: true, value: number } : says((subject) => `${subject.start} must be ${numberWanted(spec)}`);
}

/** "must include a month", "must include a day and year": GOV.UK's words for a date part left out. */
function partsLeftOut(parts: string[]): string | undefined {
  const names = ['day', 'month', 'year'].filter((_, index) => parts[index] === '');
  if (names.length === 0) return undefined;
  return names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** A date typed as day, month and year: a real date, today or earlier / later when the tool says so. */
function parseDate(raw: RawFields, name: string, allow: 'any' | 'past' | 'future' | undefined, today: string): Parsed {
  const parts = ['day', 'month', 'year'].map((part) => one(raw, `${name}-${part}`).trim());
  if (parts.every((part) => part === '')) return { ok: true, value: undefined };
  const [day, month, year] = parts as [string, string, string];
  // Words such as "ASAP" or "ongoing" are not a date at all: say how to write one, as the hint does.
  if (parts.some((part) => /\D/.test(part))) return says((subject) => `Enter ${subject.within} as a date, like 27 3 2027`);
  const leftOut = partsLeftOut(parts);
  if (leftOut) return says((subject) => `${subject.start} must include a ${leftOut}`);
  if (!/^\d{4}$/.test(year)) return says((subject) => `${subject.start} must have a year with 4 numbers, like 2027`);
  if (![day, month].every((part) => /^\d{1,2}$/.test(part))) return says((subject) => `${subject.start} must be a real date`);
  const iso = `${year}-${month.padStart(2, '0')}-${day.padStart(2, '0')}`;
  if (!isIsoDate(iso)) return says((subject) => `${subject.start} must be a real date`);
  if (allow === 'past' && iso > today) return says((subject) => `${subject.start} must be today or in the past`);
  if (allow === 'future' && iso < today) return says((subject) => `${subject.start} must be today or in the future`);
  return { ok: true, value: iso };
}

/**
 * A time of day as people type it ("14:30", "2:30pm", "2pm", "9.15am"), as 'HH:MM' on the
 * 24-hour clock, or undefined when it is not one.
 */
export function parseTimeOfDay(typed: string): string | undefined {
  const match = /^(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?$/i.exec(typed.trim());
  if (!match) return undefined;
  let hours = Number(match[1]);
  const minutes = match[2] === undefined ? 0 : Number(match[2]);
  const half = match[3]?.toLowerCase().replace(/\./g, '');
  // "14" alone is not a time: without minutes, say am or pm.
  if (match[2] === undefined && !half) return undefined;
  if (minutes > 59) return undefined;
  if (half) {
    if (hours < 1 || hours > 12) return undefined;
    hours = (hours % 12) + (half === 'pm' ? 12 : 0);
  } else if (hours > 23) return undefined;
  return `${String(hours).padStart(2, '0')}:${String(minutes).padStart(2, '0')}`;
}

/** A date typed as day, month and year with a time of day: 'YYYY-MM-DDTHH:MM'. */
function parseDateTime(raw: RawFields, name: string, allow: 'any' | 'past' | 'future' | undefined, today: string): Parsed {
  const typedTime = one(raw, `${name}-time`).trim();
  const date = parseDate(raw, name, allow, today);
  if (!date.ok) return date;
  if (date.value === undefined) return typedTime === '' ? { ok: true, value: undefined } : says((subject) => `${subject.start} must include a day, month and year`);
  if (typedTime === '') return says((subject) => `${subject.start} must include a time`);
  const time = parseTimeOfDay(typedTime);
  if (!time) return says((subject) => `Enter the time for ${subject.within} as a real time, like 14:30 or 2:30pm`);
  return { ok: true, value: `${date.value as string}T${time}` };
}

/** A stored date and time in words: "14 March 2027 at 2:30pm". */
export function formatDateTimeAnswer(value: unknown): string {
  if (typeof value !== 'string') return String(value);
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})$/.exec(value);
  if (!match) return value;
  const hours = Number(match[2]);
  const minutes = match[3]!;
  const clock = hours === 12 && minutes === '00' ? 'midday' : hours === 0 && minutes === '00' ? 'midnight' : `${hours % 12 === 0 ? 12 : hours % 12}${minutes === '00' ? '' : `:${minutes}`}${hours < 12 ? 'am' : 'pm'}`;
  return `${formatDate(match[1])} at ${clock}`;
}

/** One posted answer of a simple kind: undefined when left blank, else the value or the problem. */
export function parseSimple(spec: Answer | SimpleAnswer, raw: RawFields, name: string, context: FieldContext): Parsed {
  switch (spec.kind) {
    case 'judgement':
    case 'single':
    case 'yesno': {
      const value = one(raw, name);
      return value === '' ? { ok: true, value: undefined } : checkChoice(choiceSchema(optionsOf(context.tool, spec)), value);
    }
    case 'multiple': {
      const values = many(raw, name);
      return values.length === 0 ? { ok: true, value: undefined } : checkChoice(z.array(choiceSchema(optionsOf(context.tool, spec))), [...new Set(values)]);
    }
    case 'text': {
      const value = one(raw, name);
      if (value.trim() === '') return { ok: true, value: undefined };
      const max = spec.maxLength ?? MAX_TEXT;
      return value.length > max ? says((subject) => `${subject.start} must be ${max.toLocaleString('en-GB')} characters or less`) : { ok: true, value };
    }
    case 'number': {
      const value = one(raw, name);
      return value.trim() === '' ? { ok: true, value: undefined } : parseNumber(spec, value);
    }
    case 'scaling': {
      const value = one(raw, name);
      if (value.trim() === '') return { ok: true, value: undefined };
      // The score is a row of radios: one not among them is asked for again ("Select …").
      const score = Number(value.trim());
      return /^\d+$/.test(value.trim()) && score >= spec.min && score <= spec.max ? { ok: true, value: score } : choose;
    }
    case 'date':
      return parseDate(raw, name, spec.allow, context.today);
    case 'datetime':
      return parseDateTime(raw, name, spec.allow, context.today);
    case 'staff': {
      const value = one(raw, name).trim();
      if (value === '') return { ok: true, value: undefined };
      return context.staff.has(value) ? { ok: true, value } : choose;
    }
    case 'repeating':
      throw new TypeError('a repeating answer is parsed row by row');
  }
}

/** The row numbers posted for a repeating answer (`key-ROW-column`), in order. */
function postedRows(raw: RawFields, key: string): number[] {
  const rows = new Set<number>();
  const pattern = new RegExp(`^${key}-(\\d{1,3})-`);
  for (const name of Object.keys(raw)) {
    const row = pattern.exec(name)?.[1];
    if (row !== undefined && Number(row) < MAX_ROWS) rows.add(Number(row));
  }
  return [...rows].sort((a, b) => a - b);
}

/**
 * The columns of a repeating answer the auditor fills in. Others are someone else's to complete
 * later (Telford's line manager says how each remedial action was addressed): in Assure that is
 * the action's own record, marked done with evidence and verified.
 */
export function auditorColumns(spec: Extract<Answer, { kind: 'repeating' }>, person: CompletedBy = 'auditor'): Extract<Answer, { kind: 'repeating' }>['columns'] {
  return spec.columns.filter((column) => (column.completedBy ?? person) === person);
}

function parseRepeating(spec: Extract<Answer, { kind: 'repeating' }>, raw: RawFields, context: FieldContext, errors: FieldError[], person: CompletedBy = 'auditor'): unknown {
  const rows: Record<string, unknown>[] = [];
  const item = spec.itemName ?? 'row';
  const columns = auditorColumns(spec, person);
  postedRows(raw, spec.key).forEach((posted, index) => {
    const row: Record<string, unknown> = {};
    for (const column of columns) {
      const name = `${spec.key}-${posted}-${column.key}`;
      const parsed = parseSimple(column, raw, name, context);
      if (!parsed.ok) errors.push({ field: fieldId(column, name), message: wrongMessage(column, column.label, parsed.problem, `${item} ${index + 1}`) });
      else if (parsed.value !== undefined) row[column.key] = parsed.value;
    }
    // A row left blank is no row: that is how a row is removed without JavaScript.
    if (Object.keys(row).length === 0) return;
    // A row with a date or an owner but none of its required words (the action itself) would be
    // saved and then never become anything: it is refused, naming what it lacks.
    const words = columns.filter((column) => column.kind === 'text');
    const lacking = words.find((column) => column.required);
    if (lacking && words.every((column) => !isAnswered(row[column.key]))) {
      const name = `${spec.key}-${posted}-${lacking.key}`;
      if (!errors.some((error) => error.field.startsWith(`${spec.key}-${posted}-`))) errors.push({ field: fieldId(lacking, name), message: `${missingMessage(lacking, lacking.label, `${item} ${index + 1}`)}, or clear the ${item}` });
    }
    rows.push(row);
  });
  if (spec.maxRows !== undefined && rows.length > spec.maxRows) errors.push({ field: `${spec.key}-0-${spec.columns[0]!.key}`, message: `${subjectOf(spec.label).start} must have ${spec.maxRows} ${item}s or fewer` });
  return rows.length ? rows : undefined;
}

/**
 * Every required answer among these questions that is missing, each on its field, in GOV.UK's
 * words ("Select a judgement for Reviews", "Enter action required for action 2"). A question
 * that does not apply to these answers is not asked for.
 */
export function missingAnswers(
  tool: AuditTool,
  section: Section | undefined,
  questions: Question[],
  answers: Readonly<Record<string, unknown>>,
  child: ChildFacts | null | undefined,
  person: CompletedBy,
): FieldError[] {
  const problems: FieldError[] = [];
  const missing = (field: string, message: string) => problems.push({ field, message });
  for (const { spec, judgementKey } of questions) {
    if (!answerApplies(tool, spec.key, answers, child)) continue;
    const value = answers[spec.key];
    if (spec.kind === 'repeating') {
      const rows = Array.isArray(value) ? (value as Record<string, unknown>[]) : [];
      const item = spec.itemName ?? 'row';
      const least = spec.minRows ?? (spec.required ? 1 : 0);
      if (least > rows.length) missing(`${spec.key}-0-${spec.columns[0]!.key}`, least === 1 ? `Add at least one ${item}` : `Add at least ${least} ${item}s`);
      rows.forEach((row, index) => {
        for (const column of auditorColumns(spec, person)) {
          if (column.required && !isAnswered(row[column.key])) missing(fieldId(column, `${spec.key}-${index}-${column.key}`), missingMessage(column, column.label, `${item} ${index + 1}`));
        }
      });
      continue;
    }
    const judgement = judgementKey ? questions.find((question) => question.spec.key === judgementKey)!.spec : undefined;
    const label = spec.kind === 'judgement' ? judgementName(section, spec) : spec.label;
    if (spec.required && !isAnswered(value)) missing(fieldId(spec, spec.key), missingMessage(spec, label, judgement ? judgementName(section, judgement) : undefined));
  }
  return problems;
}

/** The questions put to a respondent: the section's, then their own. */
export function respondentQuestions(section: Section, respondent: Respondent): SimpleAnswer[] {
  return [...(section.feedback?.questions ?? []), ...(respondent.questions ?? [])];
}

export type RespondentAnswer = {
  obtained?: 'yes' | 'no';
  resident?: 'yes' | 'no';
  notObtainedReason?: string;
  notObtainedOther?: string;
  answers: Record<string, unknown>;
};

/**
 * Answers that contradict whether feedback was obtained: a reason it was not with "Yes", answers
 * to the questions with "No" or with nothing chosen. Refused rather than stored side by side,
 * since a report could not tell which is true. (With JavaScript the branch not chosen is not
 * posted; without it, the page shows only the chosen branch once saved.)
 */
function contradiction(respondent: Respondent, entry: RespondentAnswer): string | undefined {
  const answered = Object.keys(entry.answers).length > 0;
  const reason = entry.notObtainedReason !== undefined || entry.notObtainedOther !== undefined;
  if (entry.obtained === 'yes' && reason) return `You said feedback was obtained from ${respondent.label}: delete why it was not obtained, or select No`;
  if (entry.obtained === 'no' && answered) return `You said feedback was not obtained from ${respondent.label}: delete the answers to its questions, or select Yes`;
  if (!entry.obtained && (answered || reason)) return `Select whether feedback was obtained from ${respondent.label}`;
  return undefined;
}

function parseFeedback(section: Section, raw: RawFields, context: FieldContext, errors: FieldError[]): unknown {
  const feedback = section.feedback!;
  const respondents: Record<string, RespondentAnswer> = {};
  const yesNo = choiceSchema(optionsOf(context.tool, { kind: 'yesno', key: 'x', label: 'x', required: false }));
  for (const respondent of feedback.respondents) {
    const entry: RespondentAnswer = { answers: {} };
    // These are radios: a value not among them (only a crafted form posts one) is asked for again.
    const pick = (part: string, select: string, schema: z.ZodType<string>) => {
      const value = one(raw, `${respondent.key}-${part}`);
      if (value === '') return undefined;
      const parsed = checkChoice(schema, value);
      if (!parsed.ok) errors.push({ field: `${respondent.key}-${part}`, message: select });
      return parsed.ok ? (parsed.value as string) : undefined;
    };
    const obtained = pick('obtained', `Select whether feedback was obtained from ${respondent.label}`, yesNo);
    if (obtained) entry.obtained = obtained as 'yes' | 'no';
    const resident = respondent.askResidence ? pick('resident', `Select whether ${respondent.label} is resident with the child`, yesNo) : undefined;
    if (resident) entry.resident = resident as 'yes' | 'no';
    const reasons = feedback.notObtained?.options ?? [];
    const reason = reasons.length ? pick('reason', `Select why feedback was not obtained from ${respondent.label}`, choiceSchema(reasons)) : undefined;
    if (reason) entry.notObtainedReason = reason;
    const other = one(raw, `${respondent.key}-reason-other`);
    if (other.trim() !== '') entry.notObtainedOther = other.slice(0, MAX_TEXT);
    for (const question of respondentQuestions(section, respondent)) {
      const name = `${respondent.key}-${question.key}`;
      const parsed = parseSimple(question, raw, name, context);
      if (!parsed.ok) errors.push({ field: fieldId(question, name), message: wrongMessage(question, question.label, parsed.problem, respondent.label) });
      else if (parsed.value !== undefined) entry.answers[question.key] = parsed.value;
    }
    const refusal = contradiction(respondent, entry);
    if (refusal) errors.push({ field: `${respondent.key}-obtained`, message: refusal });
    if (entry.obtained || entry.resident || entry.notObtainedReason || entry.notObtainedOther || Object.keys(entry.answers).length) respondents[respondent.key] = entry;
  }
  return Object.keys(respondents).length ? { respondents } : undefined;
}

/**
 * The posted fields of one page, checked against the tool: every answer the page asks (a key
 * with undefined means "cleared"), or every problem, each naming its field. Required answers
 * are not asked for here: a page may be saved half done, and submission checks them.
 */
export function parsePage(tool: AuditTool, page: string, raw: RawFields, context: FieldContext): { answers: Record<string, unknown>; errors: FieldError[] } {
  const section = page === DETAILS_PAGE ? undefined : findSection(tool, page);
  return parseQuestions(tool, section, pageQuestions(tool, page), raw, context, 'auditor');
}

/** The posted answers of a section that a person answers (the moderator's, on the moderation page), checked as parsePage checks the form's. */
export function parseSection(tool: AuditTool, section: Section, person: CompletedBy, raw: RawFields, context: FieldContext): { answers: Record<string, unknown>; errors: FieldError[] } {
  return parseQuestions(tool, section, sectionQuestions(section, person), raw, context, person);
}

function parseQuestions(tool: AuditTool, section: Section | undefined, questions: Question[], raw: RawFields, context: FieldContext, person: CompletedBy): { answers: Record<string, unknown>; errors: FieldError[] } {
  const answers: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  for (const { spec } of questions) {
    if (spec.kind === 'repeating') {
      answers[spec.key] = parseRepeating(spec, raw, context, errors, person);
      continue;
    }
    const parsed = parseSimple(spec, raw, spec.key, context);
    if (parsed.ok) answers[spec.key] = parsed.value;
    else errors.push({ field: fieldId(spec, spec.key), message: wrongMessage(spec, spec.kind === 'judgement' ? judgementName(section, spec) : spec.label, parsed.problem) });
  }
  if (section?.feedback && person === sectionPerson(section)) answers[section.key] = parseFeedback(section, raw, context, errors);
  return { answers, errors };
}

// ---- answers → form fields ----------------------------------------------------------------

export function simpleToFields(spec: Answer | SimpleAnswer, value: unknown, name: string, fields: Record<string, string | string[]>) {
  if (value === undefined || value === null) return;
  if (spec.kind === 'date' && typeof value === 'string' && isIsoDate(value)) {
    const [year, month, day] = value.split('-');
    fields[`${name}-day`] = String(Number(day));
    fields[`${name}-month`] = String(Number(month));
    fields[`${name}-year`] = year!;
  } else if (spec.kind === 'datetime' && typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value)) {
    simpleToFields({ ...spec, kind: 'date' }, value.slice(0, 10), name, fields);
    fields[`${name}-time`] = value.slice(11);
  } else if (spec.kind === 'multiple' && Array.isArray(value)) {
    fields[name] = value.map(String);
  } else {
    fields[name] = String(value);
  }
}

/** The saved answers of a page as the form fields that show them (blank rows to add to come from the page). */
export function pageFields(tool: AuditTool, page: string, answers: Readonly<Record<string, unknown>>): Record<string, string | string[]> {
  const fields = questionFields(pageQuestions(tool, page), answers, 'auditor');
  const section = page === DETAILS_PAGE ? undefined : findSection(tool, page);
  if (section?.feedback) {
    const respondents = feedbackOf(answers, section.key);
    for (const respondent of section.feedback.respondents) {
      const entry = respondents[respondent.key];
      if (!entry) continue;
      if (entry.obtained) fields[`${respondent.key}-obtained`] = entry.obtained;
      if (entry.resident) fields[`${respondent.key}-resident`] = entry.resident;
      if (entry.notObtainedReason) fields[`${respondent.key}-reason`] = entry.notObtainedReason;
      if (entry.notObtainedOther) fields[`${respondent.key}-reason-other`] = entry.notObtainedOther;
      for (const question of respondentQuestions(section, respondent)) simpleToFields(question, entry.answers?.[question.key], `${respondent.key}-${question.key}`, fields);
    }
  }
  return fields;
}

/** Saved answers to some questions as the form fields that show them. */
export function questionFields(questions: Question[], answers: Readonly<Record<string, unknown>>, person: CompletedBy): Record<string, string | string[]> {
  const fields: Record<string, string | string[]> = {};
  for (const { spec } of questions) {
    const value = answers[spec.key];
    if (spec.kind === 'repeating') {
      (Array.isArray(value) ? value : []).forEach((row: Record<string, unknown>, index) => {
        for (const column of auditorColumns(spec, person)) simpleToFields(column, row?.[column.key], `${spec.key}-${index}-${column.key}`, fields);
      });
    } else simpleToFields(spec, value, spec.key, fields);
  }
  return fields;
}

export function feedbackOf(answers: Readonly<Record<string, unknown>>, sectionKey: string): Record<string, RespondentAnswer> {
  const value = answers[sectionKey] as { respondents?: Record<string, RespondentAnswer> } | undefined;
  return value && typeof value === 'object' && value.respondents && typeof value.respondents === 'object' ? value.respondents : {};
}

/** How many rows a repeating answer shows: those posted or saved, plus one blank to fill in. */
export function rowCount(spec: Extract<Answer, { kind: 'repeating' }>, fields: Record<string, unknown>, extra: number): number {
  const filled = postedRows(fields, spec.key);
  const last = filled.length ? filled[filled.length - 1]! + 1 : 0;
  return Math.min(MAX_ROWS, Math.max(last + extra, spec.minRows ?? 0, 1));
}

// ---- answers → words ------------------------------------------------------------------------

/** An answer in words, for the check-your-answers page and the newer saved version beside a stale save. */
export function answerText(spec: Answer | SimpleAnswer, value: unknown, context: Pick<FieldContext, 'tool' | 'staff'>): string {
  if (!isAnswered(value)) return '';
  const label = (option: string) => optionsOf(context.tool, spec).find((candidate) => candidate.value === option)?.label ?? option;
  switch (spec.kind) {
    case 'judgement':
    case 'single':
    case 'yesno':
      return label(String(value));
    case 'multiple':
      return (Array.isArray(value) ? value : [value]).map((item) => label(String(item))).join(', ');
    case 'date':
      return formatDate(value);
    case 'datetime':
      return formatDateTimeAnswer(value);
    case 'staff':
      return context.staff.get(String(value)) ?? 'A former member of staff';
    case 'repeating': {
      const rows = Array.isArray(value) ? (value as Record<string, unknown>[]) : [];
      return rows
        .map((row, index) => `${index + 1}. ${auditorColumns(spec).map((column) => `${column.label}: ${answerText(column, row[column.key], context) || 'not given'}`).join('; ')}`)
        .join('\n');
    }
    default:
      return String(value);
  }
}

/**
 * One audit as a document: the tool edition's form filled with the audit's answers, in the
 * form's own order, every answer in words (option labels, staff names, UK dates). The read
 * view, the DOCX and the PDF all render this one model, so they cannot say different things.
 *
 * Only what applies to the child is included: a section or answer whose appliesWhen does not
 * hold is left out, as the audit form leaves it out. Pure: the caller loads the audit, the
 * edition, the child's facts and the staff names.
 */
import { formatDate } from '../../../platform/views.ts';
import type { ChildFacts } from '../../tools/expression.ts';
import {
  answerApplies,
  applyLimitingJudgements,
  descriptorForChild,
  limitingJudgement,
  overallGrade,
  scaleOf,
  sectionApplies,
  type Answers,
  type Limit,
} from '../../tools/judgements.ts';
import { isBetterThan, type Scale, type ScaleOption } from '../../tools/scales.ts';
import type { Answer, AuditTool, Descriptors, Respondent, Section, SimpleAnswer } from '../../tools/schema.ts';
import { auditorColumns, auditorCompletes } from '../form/answers.ts';
import type { AuditRecord } from '../audit.ts';
import { AUDIT_STATUS_LABELS } from '../tracker.ts';

/** One question and its answer; `value` is null when not answered, `items` for a multiple choice. */
export type AnswerRow = { label: string; value: string | null; items?: string[] };

export type GradeWords = { value: string; label: string; code?: string | undefined };

/** A limiting judgement in force on a grade: it can be no better than `atBest`. */
export type LimitNote = { message: string; atBest: string; breached: boolean };

export type TableRow = { heading: string } | { cells: string[] };

export type DocumentBlock =
  | { type: 'guidance'; text: string }
  | { type: 'prompts'; items: string[] }
  | { type: 'answers'; rows: AnswerRow[] }
  | { type: 'subheading'; text: string }
  | { type: 'table'; caption: string; head: string[]; rows: TableRow[]; empty: string }
  | { type: 'judgement'; label: string; grade: GradeWords | null; descriptor: string[]; evidence: AnswerRow[]; limit: LimitNote | null };

export type DocumentSection = { key: string; title: string; blocks: DocumentBlock[] };

export type AuditDocument = {
  reference: number;
  childExternalId: string;
  childInitials: string;
  toolName: string;
  edition: string;
  source: string | null;
  /** The audit itself: child, tool, people, status and dates. */
  details: AnswerRow[];
  /** The overall grade the tool gives these answers, and every limiting judgement in force. */
  outcome: { label: string; grade: GradeWords | null; limitedBy: LimitNote | null; limits: string[] } | null;
  sections: DocumentSection[];
};

export type DocumentInput = {
  audit: AuditRecord;
  tool: AuditTool;
  child: ChildFacts | null;
  /** Staff names by id: whoever an answer names. */
  staff: ReadonlyMap<string, string>;
};

/**
 * How text people typed is written out. The read view shows it as typed (the template escapes
 * it); exports pass a function that neutralises spreadsheet formulas and drops control characters.
 */
export type DocumentOptions = { typed?: (text: string) => string };

export const NOT_ANSWERED = 'Not answered';

type Context = {
  tool: AuditTool;
  answers: Answers;
  child: ChildFacts | null;
  staff: ReadonlyMap<string, string>;
  typed: (text: string) => string;
};

/** A stored definition is checked when loaded, but one from before the format may lack lists. */
function normalised(tool: AuditTool): AuditTool {
  return {
    ...tool,
    scales: Array.isArray(tool.scales) ? tool.scales : [],
    header: Array.isArray(tool.header) ? tool.header : [],
    sections: Array.isArray(tool.sections) ? tool.sections : [],
    rules: Array.isArray(tool.rules) ? tool.rules : [],
  };
}

export function buildAuditDocument(input: DocumentInput, options: DocumentOptions = {}): AuditDocument {
  const tool = normalised(input.tool);
  const answers = input.audit.answers && typeof input.audit.answers === 'object' ? input.audit.answers : {};
  const context: Context = { tool, answers, child: input.child, staff: input.staff, typed: options.typed ?? ((text) => text) };
  const sections: DocumentSection[] = [];
  const header = tool.header.filter((answer) => answerApplies(tool, answer.key, answers, input.child));
  if (header.length) sections.push({ key: 'details', title: 'Case details', blocks: answerBlocks(context, header) });
  for (const whole of tool.sections) {
    const section = auditorsPart(whole);
    if (!section || !sectionApplies(tool, section.key, answers, input.child)) continue;
    sections.push({ key: section.key, title: section.title, blocks: sectionBlocks(context, section) });
  }
  const { audit } = input;
  const moderated = moderationSection(context, audit);
  if (moderated) sections.push(moderated);
  const typed = context.typed;
  return {
    reference: audit.reference,
    childExternalId: typed(audit.child.externalId),
    childInitials: typed(audit.child.initials),
    toolName: tool.name ?? audit.tool.name,
    edition: audit.tool.edition,
    source: typeof tool.source === 'string' ? tool.source : null,
    details: auditDetails(audit, typed),
    outcome: outcomeOf(context),
    sections,
  };
}

/**
 * The part of a section the auditor fills in on the form (as the form asks it), or null when
 * there is none. The moderator's, the practitioner's and the re-auditor's parts are recorded at
 * their own stage (moderation, practitioner feedback, the re-audit) and appear in the document
 * from there, not as unanswered questions of the form.
 */
function auditorsPart(section: Section): Section | null {
  if (!auditorCompletes(section)) return null;
  const answers = section.answers.filter((answer) => (answer.completedBy ?? 'auditor') === 'auditor');
  return answers.length === section.answers.length ? section : { ...section, answers };
}

function auditDetails(audit: AuditRecord, typed: (text: string) => string): AnswerRow[] {
  const name = (person: { name: string } | null) => (person ? typed(person.name) : 'None');
  return [
    { label: 'Audit reference', value: String(audit.reference) },
    { label: 'Child', value: `${typed(audit.child.initials)} (${typed(audit.child.externalId)})` },
    { label: 'Audit tool', value: `${audit.tool.name} (edition ${audit.tool.edition})` },
    { label: 'Status', value: AUDIT_STATUS_LABELS[audit.status] },
    { label: 'Auditor', value: name(audit.auditor) },
    { label: 'Case holder', value: name(audit.caseHolder) },
    { label: 'Moderator', value: name(audit.moderator) },
    { label: 'Team', value: name(audit.team) },
    { label: 'Service', value: name(audit.service) },
    { label: 'Allocated', value: formatDate(audit.allocatedOn) },
    { label: 'Due', value: formatDate(audit.dueOn) },
    { label: 'Submitted', value: audit.submittedAt ? formatDate(audit.submittedAt) : 'Not yet' },
    { label: 'Moderated', value: audit.moderatedAt ? formatDate(audit.moderatedAt) : 'Not yet' },
  ];
}

/** The moderator's key for the overall grade (see moderation/moderation.ts). */
const OVERALL_KEY = 'overall';

/**
 * Once moderated: each grade the moderator ruled on, the auditor's beside it (never
 * overwritten), the reason for any change, the final grade and the development comments.
 */
function moderationSection(context: Context, audit: AuditRecord): DocumentSection | null {
  // In the form's order, the overall grade last, as the moderation page shows them.
  const formOrder = (key: string) => (key === OVERALL_KEY ? Infinity : context.tool.sections.findIndex((section) => section.key === key));
  const moderatorRows = audit.grades.sections.filter((row) => row.stage === 'moderator').sort((a, b) => formOrder(a.sectionKey) - formOrder(b.sectionKey));
  if (!moderatorRows.length) return null;
  const auditorGrades = new Map(audit.grades.sections.filter((row) => row.stage === 'auditor').map((row) => [row.sectionKey, row.grade]));
  const rows: TableRow[] = moderatorRows.map((row) => {
    const { title, options } = judgedBy(context, row.sectionKey);
    const auditorGrade = auditorGrades.get(row.sectionKey) ?? (row.sectionKey === OVERALL_KEY ? overallValue(context) : judgementValue(context, row.sectionKey));
    const words = (value: string | null | undefined) => (value ? optionLabel(context, options, value) : 'Not graded');
    return { cells: [title, words(auditorGrade), words(row.grade), row.reason ? context.typed(row.reason) : 'Unchanged'] };
  });
  const final = moderatorRows.find((row) => row.sectionKey === OVERALL_KEY);
  return {
    key: 'moderation-outcome',
    title: 'Moderation',
    blocks: [
      { type: 'table', caption: 'The auditor’s grades and the moderator’s', head: ['Grade of', 'Auditor', 'Moderator', 'Reason for a change'], rows, empty: 'No grades moderated' },
      {
        type: 'answers',
        rows: [
          { label: 'Final grade', value: final ? optionLabel(context, judgedBy(context, OVERALL_KEY).options, final.grade) : null },
          { label: 'Development comments for the auditor', value: audit.moderatorComments ? context.typed(audit.moderatorComments) : null },
        ],
      },
    ],
  };
}

/** The section (or the overall grade) a moderated grade belongs to, and its scale's options. */
function judgedBy(context: Context, key: string): { title: string; options: { value: string; label: string }[] } {
  const overallKey = context.tool.overall?.answer;
  const judgementIn = (answers: readonly Answer[], wanted?: string) => answers.find((answer) => answer.kind === 'judgement' && (!wanted || answer.key === wanted));
  if (key === OVERALL_KEY) {
    const answer = overallKey ? context.tool.sections.flatMap((section) => section.answers).find((candidate) => candidate.key === overallKey) : undefined;
    return { title: 'Overall grade', options: scaleOptions(context, answer) };
  }
  const section = context.tool.sections.find((candidate) => candidate.key === key);
  const answer = section ? judgementIn(section.answers) : undefined;
  return { title: section?.title ?? key, options: scaleOptions(context, answer) };
}

function scaleOptions(context: Context, answer: Answer | undefined): { value: string; label: string }[] {
  return answer?.kind === 'judgement' ? (scaleOf(context.tool, answer.scale)?.options ?? []) : [];
}

function judgementValue(context: Context, sectionKey: string): string | null {
  const answer = context.tool.sections.find((section) => section.key === sectionKey)?.answers.find((candidate) => candidate.kind === 'judgement');
  const value = answer ? context.answers[answer.key] : undefined;
  return typeof value === 'string' ? value : null;
}

function overallValue(context: Context): string | null {
  const key = context.tool.overall?.answer;
  const value = key ? context.answers[key] : undefined;
  return typeof value === 'string' ? value : null;
}

function sectionBlocks(context: Context, section: Section): DocumentBlock[] {
  const blocks: DocumentBlock[] = [];
  if (section.guidance) blocks.push({ type: 'guidance', text: section.guidance });
  if (section.prompts?.length) blocks.push({ type: 'prompts', items: [...section.prompts] });
  if (section.criteria?.length) blocks.push(criteriaTable(context, section));
  if (section.feedback) blocks.push(...feedbackBlocks(context, section));
  const applying = section.answers.filter((answer) => answerApplies(context.tool, answer.key, context.answers, context.child));
  blocks.push(...answerBlocks(context, applying, section.descriptors));
  return blocks;
}

/** Answers in order: runs of plain answers as one list; judgements and repeating answers on their own. */
function answerBlocks(context: Context, answers: readonly Answer[], sectionDescriptors?: Descriptors): DocumentBlock[] {
  const blocks: DocumentBlock[] = [];
  let run: AnswerRow[] = [];
  const flush = () => {
    if (run.length) blocks.push({ type: 'answers', rows: run });
    run = [];
  };
  for (const answer of answers) {
    if (answer.kind === 'judgement') {
      flush();
      blocks.push(judgementBlock(context, answer, sectionDescriptors));
    } else if (answer.kind === 'repeating') {
      flush();
      blocks.push(repeatingTable(context, answer, context.answers[answer.key]));
    } else {
      run.push(answerRow(context, answer, context.answers[answer.key]));
    }
  }
  flush();
  return blocks;
}

function optionsOf(context: Context, spec: { options?: ScaleOption[] | { value: string; label: string }[] | undefined; scale?: string | undefined }): { value: string; label: string; code?: string | undefined }[] {
  if (spec.options?.length) return spec.options;
  const scale = spec.scale ? scaleOf(context.tool, spec.scale) : undefined;
  return scale?.options ?? [];
}

function optionLabel(context: Context, options: { value: string; label: string }[], value: unknown): string {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : JSON.stringify(value);
  return options.find((option) => option.value === text)?.label ?? context.typed(text);
}

function answerRow(context: Context, spec: SimpleAnswer, value: unknown): AnswerRow {
  const row: AnswerRow = { label: spec.label, value: inWords(context, spec, value) };
  if (spec.kind === 'multiple' && Array.isArray(value) && value.length) row.items = value.map((item) => optionLabel(context, optionsOf(context, spec), item));
  return row;
}

const isAnswered = (value: unknown) => value !== undefined && value !== null && value !== '' && !(Array.isArray(value) && value.length === 0);

/** A simple answer in words, or null when it has none. */
function inWords(context: Context, spec: SimpleAnswer, value: unknown): string | null {
  if (!isAnswered(value)) return null;
  switch (spec.kind) {
    case 'single':
      return optionLabel(context, optionsOf(context, spec), value);
    case 'multiple':
      return (Array.isArray(value) ? value : [value]).map((item) => optionLabel(context, optionsOf(context, spec), item)).join('; ');
    case 'yesno':
      return value === 'yes' ? 'Yes' : value === 'no' ? 'No' : context.typed(String(value));
    case 'date':
      return typeof value === 'string' ? formatDate(value) : context.typed(String(value));
    case 'number':
      return `${typeof value === 'number' ? value.toLocaleString('en-GB') : context.typed(String(value))}${spec.unit ? ` ${spec.unit}` : ''}`;
    case 'scaling':
      return `${String(value)} on a scale of ${spec.min} to ${spec.max}`;
    case 'staff':
      return typeof value === 'string' ? context.typed(context.staff.get(value.toLowerCase()) ?? 'A member of staff no longer on record') : null;
    case 'text':
      return context.typed(typeof value === 'string' ? value : String(value));
  }
}

function gradeOf(scale: Scale | undefined, value: unknown): GradeWords | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const option = scale?.options.find((candidate) => candidate.value === String(value));
  return option ? { value: option.value, label: option.label, code: option.code } : { value: String(value), label: String(value) };
}

function limitNote(scale: Scale | undefined, limit: Limit | null, given: unknown): LimitNote | null {
  if (!limit) return null;
  const atBest = scale?.options.find((option) => option.value === limit.atBest)?.label ?? limit.atBest;
  const breached = Boolean(scale) && typeof given === 'string' && isBetterThan(scale!, given, limit.atBest);
  return { message: limit.message, atBest, breached };
}

function judgementBlock(context: Context, answer: Extract<Answer, { kind: 'judgement' }>, sectionDescriptors?: Descriptors): DocumentBlock {
  const { tool, answers, child } = context;
  const scale = scaleOf(tool, answer.scale);
  const given = answers[answer.key];
  const grade = gradeOf(scale, given);
  const descriptors = answer.descriptors ?? sectionDescriptors;
  const descriptor = grade ? descriptorForChild(descriptors?.[grade.value], child) : undefined;
  return {
    type: 'judgement',
    label: answer.label,
    grade: grade ? { ...grade, label: context.typed(grade.label) } : null,
    descriptor: descriptor === undefined ? [] : typeof descriptor === 'string' ? [descriptor] : descriptor,
    evidence: (answer.evidence ?? []).map((box) => ({ label: box.label, value: isAnswered(answers[box.key]) ? context.typed(String(answers[box.key])) : null })),
    limit: limitNote(scale, limitingJudgement(tool, answer.key, answers, child), given),
  };
}

function repeatingTable(context: Context, answer: Extract<Answer, { kind: 'repeating' }>, value: unknown): DocumentBlock {
  const rows = Array.isArray(value) ? value.filter((row): row is Record<string, unknown> => Boolean(row) && typeof row === 'object') : [];
  return {
    type: 'table',
    caption: answer.label,
    head: auditorColumns(answer).map((column) => column.label),
    rows: rows.map((row) => ({ cells: auditorColumns(answer).map((column) => inWords(context, column, row[column.key]) ?? '') })),
    empty: `No ${answer.itemName ? `${answer.itemName}s` : 'rows'} recorded`,
  };
}

/** Criteria as the form's table: each statement, its answer on the scale and the auditor's comment. */
function criteriaTable(context: Context, section: Section): DocumentBlock {
  const { tool, answers, child } = context;
  const rows: TableRow[] = [];
  const withComments = (section.criteria ?? []).some((criterion) => typeof criterion === 'object' && 'text' in criterion && criterion.comment);
  for (const criterion of section.criteria ?? []) {
    if (typeof criterion === 'string') {
      rows.push({ cells: withComments ? [criterion, '', ''] : [criterion, ''] });
      continue;
    }
    if ('heading' in criterion) {
      rows.push({ heading: criterion.heading });
      continue;
    }
    if (criterion.key && !answerApplies(tool, criterion.key, answers, child)) continue;
    const scaleId = criterion.scale ?? section.criteriaScale;
    const answer = criterion.key && scaleId ? (gradeOf(scaleOf(tool, scaleId), answers[criterion.key])?.label ?? NOT_ANSWERED) : '';
    const comment = criterion.comment && isAnswered(answers[criterion.comment.key]) ? context.typed(String(answers[criterion.comment.key])) : '';
    rows.push({ cells: withComments ? [criterion.text, answer, comment] : [criterion.text, answer] });
  }
  const commentLabel = (section.criteria ?? []).find((criterion) => typeof criterion === 'object' && 'text' in criterion && criterion.comment);
  const head = ['Criterion', 'Answer'];
  if (withComments) head.push(typeof commentLabel === 'object' && 'comment' in commentLabel && commentLabel.comment ? commentLabel.comment.label : 'Comments');
  return { type: 'table', caption: 'Criteria', head, rows, empty: 'No criteria' };
}

type RespondentEntry = { obtained?: unknown; resident?: unknown; notObtainedReason?: unknown; notObtainedOther?: unknown; answers?: Record<string, unknown> };

/** Service-user feedback: for each respondent, whether feedback was obtained and their answers. */
function feedbackBlocks(context: Context, section: Section): DocumentBlock[] {
  const feedback = section.feedback!;
  const stored = context.answers[section.key];
  const respondents = (stored && typeof stored === 'object' && 'respondents' in stored ? (stored as { respondents: unknown }).respondents : {}) as Record<string, RespondentEntry | undefined>;
  const blocks: DocumentBlock[] = [];
  for (const respondent of feedback.respondents) {
    if (!answerApplies(context.tool, respondent.key, context.answers, context.child)) continue;
    const entry = respondents && typeof respondents === 'object' ? respondents[respondent.key] : undefined;
    blocks.push({ type: 'subheading', text: respondent.label }, { type: 'answers', rows: respondentRows(context, section, respondent, entry) });
  }
  return blocks;
}

function respondentRows(context: Context, section: Section, respondent: Respondent, entry: RespondentEntry | undefined): AnswerRow[] {
  const feedback = section.feedback!;
  const yesNo = (value: unknown) => (value === 'yes' ? 'Yes' : value === 'no' ? 'No' : null);
  const rows: AnswerRow[] = [{ label: 'Feedback obtained', value: yesNo(entry?.obtained) }];
  if (respondent.askResidence) rows.push({ label: 'Lives with the child', value: yesNo(entry?.resident) });
  if (entry?.obtained === 'no') {
    if (feedback.notObtained) {
      const reason = isAnswered(entry.notObtainedReason) ? optionLabel(context, feedback.notObtained.options, entry.notObtainedReason) : null;
      rows.push({ label: feedback.notObtained.label, value: reason });
    }
    if (isAnswered(entry.notObtainedOther)) rows.push({ label: 'Other reason', value: context.typed(String(entry.notObtainedOther)) });
    return rows;
  }
  const given = entry?.answers && typeof entry.answers === 'object' ? entry.answers : {};
  for (const question of [...feedback.questions, ...(respondent.questions ?? [])]) rows.push(answerRow(context, question, given[question.key]));
  return rows;
}

/** Each judgement of the tool by key: its scale, and the section it sits in. */
function judgementsOf(tool: AuditTool): Map<string, { scale: Scale | undefined; where: string }> {
  const map = new Map<string, { scale: Scale | undefined; where: string }>();
  for (const answer of tool.header) if (answer.kind === 'judgement') map.set(answer.key, { scale: scaleOf(tool, answer.scale), where: answer.label });
  for (const section of tool.sections) {
    for (const answer of section.answers) if (answer.kind === 'judgement') map.set(answer.key, { scale: scaleOf(tool, answer.scale), where: section.title });
  }
  return map;
}

function outcomeOf(context: Context): AuditDocument['outcome'] {
  const { tool, answers, child } = context;
  if (!tool.overall) return null;
  const judgements = judgementsOf(tool);
  const scale = judgements.get(tool.overall.answer)?.scale;
  const { grade, limitedBy } = overallGrade(tool, answers, child);
  return {
    label: 'Overall grade',
    grade: gradeOf(scale, grade),
    limitedBy: limitNote(scale, limitedBy, answers[tool.overall.answer]),
    limits: applyLimitingJudgements(tool, answers, child).map((limit) => {
      const target = judgements.get(limit.answerKey);
      const atBest = target?.scale?.options.find((option) => option.value === limit.atBest)?.label ?? limit.atBest;
      return `${target?.where ?? limit.answerKey}: ${limit.message} (no better than ${atBest})`;
    }),
  };
}

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
import type { Answer, AuditTool, CompletedBy, Descriptors, Respondent, Section, SimpleAnswer } from '../../tools/schema.ts';
import { auditorColumns, auditorCompletes, formatDateTimeAnswer, moderatorSections, sectionQuestions } from '../form/answers.ts';
import type { AuditRecord } from '../audit.ts';
import { auditStatusLabel } from '../tracker.ts';

/**
 * One question and its answer; `value` is null when not answered, `items` for a multiple choice.
 * On a blank form `space` says what is left for the hand: options to tick, or lines to write on.
 */
export type AnswerRow = { label: string; value: string | null; items?: string[]; space?: AnswerSpace };

/** On a blank form: options to tick (side by side when short, as a yes/no or a 0–10 scale), or lines to write on. */
export type AnswerSpace = { kind: 'tick'; options: string[]; inline?: boolean } | { kind: 'write'; lines: number };

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
  | {
      type: 'judgement';
      label: string;
      /** The auditor's grade, as given on the form. */
      grade: GradeWords | null;
      /** The moderator's ruling on this judgement, once moderated. */
      moderated: ModeratedGrade | null;
      /** What the renderers show first: the grade that stands and, when the moderator changed it, the auditor's and why. */
      summary: AnswerRow[];
      /** The descriptor of the grade that stands, and that grade's label. */
      descriptor: string[];
      descriptorOf: string | null;
      evidence: AnswerRow[];
      limit: LimitNote | null;
      /** A blank form: every grade to tick, each with its descriptor. */
      choices?: { label: string; descriptor: string[] }[];
    };

export type ModeratedGrade = { grade: GradeWords; changed: boolean; reason: string | null };

export type DocumentSection = { key: string; title: string; blocks: DocumentBlock[] };

/**
 * A form as a document: an audit's filled form, or a tool edition's blank one. The DOCX and PDF
 * render either; the audit's read view renders the audit's.
 */
export type FormDocument = {
  /** The document's title (its metadata) and the line under the tool's name. */
  title: string;
  subtitle: string;
  toolName: string;
  edition: string;
  source: string | null;
  /** The audit itself: child, tool, people, status and dates. */
  details: AnswerRow[];
  /**
   * The headline, read before anything else: the final grade once moderated (with the auditor's
   * beside it), else the auditor's grade said plainly to be not yet moderated; then every
   * limiting judgement in force on the auditor's answers.
   */
  outcome: Outcome | null;
  sections: DocumentSection[];
};

export type AuditDocument = FormDocument & {
  reference: number;
  childExternalId: string;
  childInitials: string;
};

export type Outcome = {
  label: string;
  grade: GradeWords | null;
  moderated: boolean;
  /** One sentence on where the grade comes from: moderated by whom and when, or not yet moderated. */
  note: string;
  limitedBy: LimitNote | null;
  limits: string[];
};

/**
 * What every page of a document that leaves Assure carries, top and foot: the protective
 * marking, the council, and whose document it is (the child's case ID, or the tool edition of a
 * blank form). The renderers add the page numbers.
 */
export type PageMarks = { marking: string; council: string; subject: string };

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
  /** The moderator's grade and reason by the key moderation rules on (a section's, or 'overall'). */
  moderated: ReadonlyMap<string, { grade: string; reason: string | null }>;
  /** Whose part of the form is being laid out: the auditor's, or the moderator's (their columns of a table). */
  person: CompletedBy;
};

/** A stored definition is checked when loaded, but one from before the format may lack lists. */
export function normalised(tool: AuditTool): AuditTool {
  // The same object when nothing is missing: what judgements.ts works out per tool is then kept.
  if (Array.isArray(tool.scales) && Array.isArray(tool.header) && Array.isArray(tool.sections) && Array.isArray(tool.rules)) return tool;
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
  const moderated = new Map(input.audit.grades.sections.filter((row) => row.stage === 'moderator').map((row) => [row.sectionKey, { grade: row.grade, reason: row.reason }]));
  const context: Context = { tool, answers, child: input.child, staff: input.staff, typed: options.typed ?? ((text) => text), moderated, person: 'auditor' };
  const sections: DocumentSection[] = [];
  const header = tool.header.filter((answer) => answerApplies(tool, answer.key, answers, input.child));
  if (header.length) sections.push({ key: 'details', title: 'Case details', blocks: answerBlocks(context, header) });
  for (const whole of tool.sections) {
    const section = auditorsPart(whole);
    if (!section || !sectionApplies(tool, section.key, answers, input.child)) continue;
    sections.push({ key: section.key, title: section.title, blocks: sectionBlocks(context, section) });
  }
  const { audit } = input;
  const moderation = moderationSection(context, audit);
  if (moderation) sections.push(moderation);
  const typed = context.typed;
  const childExternalId = typed(audit.child.externalId);
  const childInitials = typed(audit.child.initials);
  return {
    title: `Case file audit ${audit.reference}: ${tool.name ?? audit.tool.name}`,
    subtitle: `Case file audit ${audit.reference}: ${childInitials} (${childExternalId}). Edition ${audit.tool.edition}.`,
    reference: audit.reference,
    childExternalId,
    childInitials,
    toolName: tool.name ?? audit.tool.name,
    edition: audit.tool.edition,
    source: typeof tool.source === 'string' ? tool.source : null,
    details: auditDetails(audit, typed),
    outcome: outcomeOf(context, audit),
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
    { label: 'Status', value: auditStatusLabel(audit.status, audit.distribution.feedbackAt !== null) },
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
      ...moderatorsPart(context),
    ],
  };
}

/**
 * The tool's own questions for the moderator (Bolton's moderator's form, Lambeth's second line
 * quality assurance and its additional actions), as the moderator answered them on the
 * moderation page: each section under its title. An audit moderated before the moderation page
 * asked them has none, and shows none.
 */
function moderatorsPart(context: Context): DocumentBlock[] {
  const theirs: Context = { ...context, person: 'moderator' };
  const answered = (section: Section) => sectionQuestions(section, 'moderator').some(({ spec }) => isAnswered(context.answers[spec.key]));
  return moderatorSections(context.tool)
    .filter((section) => sectionApplies(context.tool, section.key, context.answers, context.child) && answered(section))
    .flatMap((section): DocumentBlock[] => {
      const asked = sectionQuestions(section, 'moderator')
        .filter(({ judgementKey }) => !judgementKey)
        .map(({ spec }) => spec)
        .filter((answer) => answerApplies(context.tool, answer.key, context.answers, context.child));
      return [{ type: 'subheading', text: section.title }, ...answerBlocks(theirs, asked, section.descriptors)];
    });
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
  blocks.push(...answerBlocks(context, applying, section.descriptors, moderationKeyOf(context.tool, section)));
  return blocks;
}

/**
 * The key the moderator's ruling on a judgement is kept under: 'overall' for the tool's overall
 * judgement, the section's key for the section's (first) judgement; none for any other.
 */
function moderationKeyOf(tool: AuditTool, section: Section): (answerKey: string) => string | null {
  const first = section.answers.find((answer) => answer.kind === 'judgement')?.key;
  return (answerKey) => (answerKey === tool.overall?.answer ? OVERALL_KEY : answerKey === first ? section.key : null);
}

/**
 * Answers in order, as a document lays them out: runs of plain answers as one list; judgements
 * and repeating answers each a block of their own. The audit and the blank form say how each is drawn.
 */
export function layOutAnswers(
  answers: readonly Answer[],
  draw: {
    judgement: (answer: Extract<Answer, { kind: 'judgement' }>) => DocumentBlock;
    repeating: (answer: Extract<Answer, { kind: 'repeating' }>) => DocumentBlock;
    plain: (answer: SimpleAnswer) => AnswerRow;
  },
): DocumentBlock[] {
  const blocks: DocumentBlock[] = [];
  let run: AnswerRow[] = [];
  const flush = () => {
    if (run.length) blocks.push({ type: 'answers', rows: run });
    run = [];
  };
  for (const answer of answers) {
    if (answer.kind === 'judgement') {
      flush();
      blocks.push(draw.judgement(answer));
    } else if (answer.kind === 'repeating') {
      flush();
      blocks.push(draw.repeating(answer));
    } else {
      run.push(draw.plain(answer));
    }
  }
  flush();
  return blocks;
}

function answerBlocks(context: Context, answers: readonly Answer[], sectionDescriptors?: Descriptors, moderationKey: (answerKey: string) => string | null = () => null): DocumentBlock[] {
  return layOutAnswers(answers, {
    judgement: (answer) => {
      const key = moderationKey(answer.key);
      return judgementBlock(context, answer, sectionDescriptors, key ? context.moderated.get(key) : undefined);
    },
    repeating: (answer) => repeatingTable(context, answer, context.answers[answer.key]),
    plain: (answer) => answerRow(context, answer, context.answers[answer.key]),
  });
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
    case 'datetime':
      return context.typed(formatDateTimeAnswer(value));
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

/** The descriptor of a grade as it reads for this child (paragraphs whose condition fails are left out). */
export function descriptorOf(descriptors: Descriptors | undefined, value: string | undefined, child: ChildFacts | null): string[] {
  const descriptor = value === undefined ? undefined : descriptorForChild(descriptors?.[value], child);
  return descriptor === undefined ? [] : typeof descriptor === 'string' ? [descriptor] : [...descriptor];
}

function judgementBlock(
  context: Context,
  answer: Extract<Answer, { kind: 'judgement' }>,
  sectionDescriptors: Descriptors | undefined,
  ruling: { grade: string; reason: string | null } | undefined,
): Extract<DocumentBlock, { type: 'judgement' }> {
  const { tool, answers, child } = context;
  const scale = scaleOf(tool, answer.scale);
  const given = answers[answer.key];
  const found = gradeOf(scale, given);
  const grade = found ? { ...found, label: context.typed(found.label) } : null;
  const ruled = ruling ? gradeOf(scale, ruling.grade) : null;
  const moderated: ModeratedGrade | null = ruled && ruling ? { grade: ruled, changed: ruled.value !== grade?.value, reason: ruling.reason ? context.typed(ruling.reason) : null } : null;
  const standing = moderated?.grade ?? grade;
  return {
    type: 'judgement',
    label: answer.label,
    grade,
    moderated,
    summary: judgementSummary(answer.label, grade, moderated),
    descriptor: descriptorOf(answer.descriptors ?? sectionDescriptors, standing?.value, child),
    descriptorOf: standing?.label ?? null,
    evidence: (answer.evidence ?? []).map((box) => ({ label: box.label, value: isAnswered(answers[box.key]) ? context.typed(String(answers[box.key])) : null })),
    limit: limitNote(scale, limitingJudgement(tool, answer.key, answers, child), given),
  };
}

/**
 * The grade that stands, where the judgement stands: once the moderator changed it, the
 * moderator's grade marked as such, the auditor's beneath it and the reason; once agreed, the
 * grade marked as agreed at moderation.
 */
function judgementSummary(label: string, grade: GradeWords | null, moderated: ModeratedGrade | null): AnswerRow[] {
  if (!moderated) return [{ label, value: grade?.label ?? null }];
  if (!moderated.changed) return [{ label, value: `${moderated.grade.label} (agreed at moderation)` }];
  return [
    { label, value: `${moderated.grade.label} (moderated: regraded from the auditor’s ${grade?.label ?? 'no grade'})` },
    { label: 'Auditor’s grade', value: grade?.label ?? 'Not graded' },
    { label: 'Moderator’s grade', value: moderated.grade.label },
    { label: 'Reason for the change', value: moderated.reason },
  ];
}

function repeatingTable(context: Context, answer: Extract<Answer, { kind: 'repeating' }>, value: unknown): DocumentBlock {
  const rows = Array.isArray(value) ? value.filter((row): row is Record<string, unknown> => Boolean(row) && typeof row === 'object') : [];
  return {
    type: 'table',
    caption: answer.label,
    head: auditorColumns(answer, context.person).map((column) => column.label),
    rows: rows.map((row) => ({ cells: auditorColumns(answer, context.person).map((column) => inWords(context, column, row[column.key]) ?? '') })),
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

const OFSTED_WORDS: Record<string, string> = { outstanding: 'Outstanding', good: 'Good', requires_improvement: 'Requires improvement', inadequate: 'Inadequate' };

function outcomeOf(context: Context, audit: AuditRecord): AuditDocument['outcome'] {
  const { tool, answers, child } = context;
  const ruling = context.moderated.get(OVERALL_KEY);
  // Moderated before the moderator's grades were kept one by one: the final grade alone tells.
  const moderated = Boolean(ruling) || (audit.moderatedAt !== null && audit.grades.final !== null);
  if (!tool.overall && !moderated) return null;
  const judgements = judgementsOf(tool);
  const scale = tool.overall ? judgements.get(tool.overall.answer)?.scale : undefined;
  const computed = tool.overall ? overallGrade(tool, answers, child) : { grade: undefined, limitedBy: null };
  const auditors = gradeOf(scale, computed.grade) ?? ofstedWords(audit.grades.auditor);
  const final = ruling ? gradeOf(scale, ruling.grade) : ofstedWords(audit.grades.final);
  const by = audit.moderator ? ` by ${context.typed(audit.moderator.name)}` : '';
  const on = audit.moderatedAt ? ` on ${formatDate(audit.moderatedAt)}` : '';
  let note = 'This is the auditor’s grade. It has not yet been moderated.';
  if (moderated) {
    const changed = final && auditors && final.value !== auditors.value && final.label !== auditors.label;
    note = changed
      ? `Moderated${by}${on}: the auditor graded ${auditors.label}; the moderator regraded it ${final.label}.`
      : `Moderated${by}${on}: the moderator agreed the auditor’s grade.`;
    if (changed && ruling?.reason) note += ` Reason: ${context.typed(ruling.reason)}`;
  }
  return {
    label: moderated ? 'Final grade' : 'Auditor’s grade (not yet moderated)',
    grade: moderated ? final : auditors,
    moderated,
    note,
    limitedBy: tool.overall ? limitNote(scale, computed.limitedBy, answers[tool.overall.answer]) : null,
    limits: applyLimitingJudgements(tool, answers, child).map((limit) => {
      const target = judgements.get(limit.answerKey);
      const atBest = target?.scale?.options.find((option) => option.value === limit.atBest)?.label ?? limit.atBest;
      return `${target?.where ?? limit.answerKey}: ${limit.message} (no better than ${atBest})`;
    }),
  };
}

function ofstedWords(grade: string | null): GradeWords | null {
  return grade ? { value: grade, label: OFSTED_WORDS[grade] ?? grade } : null;
}

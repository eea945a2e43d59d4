/**
 * A tool edition as a blank form, for councils that circulate their forms on paper or in Word:
 * the header fields, then every section with its guidance, prompts, criteria and descriptors,
 * a space for each answer and every grade to tick. It is a FormDocument like a filled audit,
 * so the same DOCX and PDF builders draw it.
 *
 * Everything on it comes from the tool file, which the library checked when it was loaded; a
 * definition stored before the format may lack lists, and is read as having none.
 */
import { descriptorAsWritten, scaleOf } from '../../tools/judgements.ts';
import { defaultCompletedBy, type Answer, type AuditTool, type CompletedBy, type Descriptors, type Section, type SimpleAnswer } from '../../tools/schema.ts';
import { layOutAnswers, normalised, type AnswerRow, type AnswerSpace, type DocumentBlock, type DocumentSection, type FormDocument, type TableRow } from './model.ts';

/** Lines to write on when the tool does not say (the audit form's own default). */
const TEXT_LINES = 3;
/** Blank rows of a repeating answer (an action plan, a list of visits). */
const BLANK_TABLE_ROWS = 3;
const TICK = '☐';

const COMPLETED_BY_WORDS: Record<CompletedBy, string> = {
  auditor: 'the auditor',
  practitioner: 'the practitioner',
  moderator: 'the moderator',
  line_manager: 'the line manager',
  qa_coordinator: 'the QA coordinator',
};

export function buildBlankForm(definition: AuditTool, edition: { toolName: string; edition: string }): FormDocument {
  const tool = normalised(definition);
  const toolName = tool.name ?? edition.toolName;
  const sections: DocumentSection[] = [];
  if (tool.header.length) sections.push({ key: 'details', title: 'Case details', blocks: answerBlocks(tool, tool.header) });
  for (const section of tool.sections) sections.push({ key: section.key, title: section.title, blocks: sectionBlocks(tool, section) });
  const grading = gradingSection(tool);
  if (grading) sections.push(grading);
  return {
    title: `${toolName}, edition ${edition.edition}: blank form`,
    subtitle: `Blank form, edition ${edition.edition}.`,
    toolName,
    edition: edition.edition,
    source: typeof tool.source === 'string' ? tool.source : null,
    details: [],
    outcome: null,
    sections: typeof tool.guidance === 'string' ? [{ key: 'guidance', title: 'Guidance', blocks: [{ type: 'guidance', text: tool.guidance }] }, ...sections] : sections,
  };
}

function sectionBlocks(tool: AuditTool, section: Section): DocumentBlock[] {
  const blocks: DocumentBlock[] = [];
  const completedBy = section.completedBy ?? defaultCompletedBy(section.kind ?? 'standard');
  const who = completedBy !== 'auditor' ? `Completed by ${COMPLETED_BY_WORDS[completedBy]}.` : section.kind === 'reAudit' ? 'Completed at the re-audit.' : '';
  const when = section.appliesWhen ? `Completed only when ${section.appliesWhen}.` : '';
  if (who || when) blocks.push({ type: 'guidance', text: [who, when].filter(Boolean).join(' ') });
  if (section.guidance) blocks.push({ type: 'guidance', text: section.guidance });
  if (section.prompts?.length) blocks.push({ type: 'prompts', items: [...section.prompts] });
  if (section.criteria?.length) blocks.push(criteriaTable(tool, section));
  if (section.feedback) blocks.push(...feedbackBlocks(tool, section));
  blocks.push(...answerBlocks(tool, section.answers ?? [], section.descriptors));
  return blocks;
}

function answerBlocks(tool: AuditTool, answers: readonly Answer[], sectionDescriptors?: Descriptors): DocumentBlock[] {
  return layOutAnswers(answers, {
    judgement: (answer) => judgementBlock(tool, answer, sectionDescriptors),
    repeating: (answer) => {
      const head = answer.columns.map((column) => column.label);
      const rows: TableRow[] = Array.from({ length: Math.max(BLANK_TABLE_ROWS, answer.minRows ?? 0) }, () => ({ cells: head.map(() => '\n\n') }));
      return { type: 'table', caption: answer.label, head, rows, empty: '' };
    },
    plain: (answer) => blankRow(tool, answer),
  });
}

/** The question, with its hint and who answers it when that is not the auditor. */
function questionLabel(answer: { label: string; hint?: string | undefined; completedBy?: CompletedBy | undefined }): string {
  const who = answer.completedBy && answer.completedBy !== 'auditor' ? ` (completed by ${COMPLETED_BY_WORDS[answer.completedBy]})` : '';
  return `${answer.label}${who}${answer.hint ? `\n${answer.hint}` : ''}`;
}

function blankRow(tool: AuditTool, answer: SimpleAnswer): AnswerRow {
  return { label: questionLabel(answer), value: null, space: spaceFor(tool, answer) };
}

function spaceFor(tool: AuditTool, answer: SimpleAnswer): AnswerSpace {
  switch (answer.kind) {
    case 'single':
    case 'multiple': {
      const options = answer.options?.length ? answer.options : answer.scale ? (scaleOf(tool, answer.scale)?.options ?? []) : [];
      return options.length ? { kind: 'tick', options: options.map((option) => option.label) } : { kind: 'write', lines: 1 };
    }
    case 'yesno':
      return { kind: 'tick', options: ['Yes', 'No'], inline: true };
    case 'scaling': {
      const count = Math.max(0, Math.min(answer.max - answer.min, 20));
      const options = Array.from({ length: count + 1 }, (_, index) => String(answer.min + index));
      if (answer.minLabel && options.length) options[0] = `${options[0]} (${answer.minLabel})`;
      if (answer.maxLabel && options.length > 1) options[options.length - 1] = `${options[options.length - 1]} (${answer.maxLabel})`;
      return { kind: 'tick', options, inline: true };
    }
    case 'text':
      // A field filled in from the record (a case ID, a name) takes a line.
      return { kind: 'write', lines: answer.rows ?? (answer.prefill ? 1 : TEXT_LINES) };
    case 'number':
    case 'date':
    case 'datetime':
    case 'staff':
      return { kind: 'write', lines: 1 };
  }
}

/** Every grade of the judgement's scale to tick, each with what it means here; then the evidence boxes. */
function judgementBlock(tool: AuditTool, answer: Extract<Answer, { kind: 'judgement' }>, sectionDescriptors?: Descriptors): DocumentBlock {
  const options = scaleOf(tool, answer.scale)?.options ?? [];
  const descriptors = answer.descriptors ?? sectionDescriptors;
  return {
    type: 'judgement',
    label: questionLabel(answer),
    grade: null,
    moderated: null,
    summary: [],
    descriptor: [],
    descriptorOf: null,
    evidence: (answer.evidence ?? []).map((box) => ({ label: box.hint ? `${box.label}\n${box.hint}` : box.label, value: null, space: { kind: 'write', lines: box.rows ?? TEXT_LINES } })),
    limit: null,
    choices: options.map((option) => ({ label: option.hint ? `${option.label}: ${option.hint}` : option.label, descriptor: descriptorAsWritten(descriptors?.[option.value]) })),
  };
}

/** The criteria as the form's table: each statement with its answers to tick, and a column for comments where the form has one. */
function criteriaTable(tool: AuditTool, section: Section): DocumentBlock {
  const criteria = section.criteria ?? [];
  const commented = criteria.find((criterion) => typeof criterion === 'object' && 'text' in criterion && criterion.comment);
  const rows: TableRow[] = criteria.map((criterion) => {
    if (typeof criterion === 'object' && 'heading' in criterion) return { heading: criterion.heading };
    const text = typeof criterion === 'string' ? criterion : criterion.hint ? `${criterion.text}\n${criterion.hint}` : criterion.text;
    const scaleId = typeof criterion === 'string' ? undefined : (criterion.scale ?? section.criteriaScale);
    const ticks = typeof criterion === 'object' && criterion.key && scaleId ? (scaleOf(tool, scaleId)?.options ?? []).map((option) => `${TICK} ${option.label}`).join('\n') : '';
    return { cells: commented ? [text, ticks, ''] : [text, ticks] };
  });
  const head = ['Criterion', 'Answer'];
  if (commented && typeof commented === 'object' && 'comment' in commented && commented.comment) head.push(commented.comment.label);
  return { type: 'table', caption: 'Criteria', head, rows, empty: 'No criteria' };
}

/** Service-user feedback: for each respondent, whether it was obtained, why not, and the questions. */
function feedbackBlocks(tool: AuditTool, section: Section): DocumentBlock[] {
  const feedback = section.feedback!;
  const blocks: DocumentBlock[] = [];
  for (const respondent of feedback.respondents) {
    const rows: AnswerRow[] = [{ label: 'Feedback obtained', value: null, space: { kind: 'tick', options: ['Yes', 'No'], inline: true } }];
    if (respondent.askResidence) rows.push({ label: 'Lives with the child', value: null, space: { kind: 'tick', options: ['Yes', 'No'], inline: true } });
    if (feedback.notObtained) {
      const options = feedback.notObtained.options.map((option) => option.label);
      if (feedback.notObtained.allowOther) options.push('Other (give the reason)');
      rows.push({ label: `If not obtained: ${feedback.notObtained.label}`, value: null, space: { kind: 'tick', options } });
    }
    for (const question of [...feedback.questions, ...(respondent.questions ?? [])]) rows.push(blankRow(tool, question));
    const notes = [respondent.minimumAge !== undefined ? `Aged ${respondent.minimumAge} or over.` : '', respondent.ageRule ?? '', respondent.appliesWhen ? `Only when ${respondent.appliesWhen}.` : ''].filter(Boolean);
    blocks.push({ type: 'subheading', text: respondent.label });
    if (notes.length) blocks.push({ type: 'guidance', text: notes.join(' ') });
    blocks.push({ type: 'answers', rows });
  }
  return blocks;
}

/** How the overall judgement is reached and the limiting judgements, in the form's words. */
function gradingSection(tool: AuditTool): DocumentSection | null {
  const labels = new Map<string, string>();
  for (const answer of [...tool.header, ...tool.sections.flatMap((section) => section.answers ?? [])]) labels.set(answer.key, answer.label);
  const blocks: DocumentBlock[] = [];
  if (tool.overall) {
    const name = labels.get(tool.overall.answer) ?? 'The overall judgement';
    const from = (tool.overall.from ?? []).map((key) => labels.get(key) ?? key);
    const how = tool.overall.mode === 'chosen' ? 'is chosen by the auditor, within any limits below' : `is the lowest of ${from.length ? from.join('; ') : 'the section judgements'}`;
    blocks.push({ type: 'guidance', text: `${name} ${how}.` });
  }
  if (tool.rules.length) {
    const rows: TableRow[] = tool.rules.map((rule) => {
      const target = rule.limit.answer === 'overall' ? (tool.overall?.answer ?? 'overall') : rule.limit.answer;
      const answer = [...tool.header, ...tool.sections.flatMap((section) => section.answers ?? [])].find((candidate) => candidate.key === target);
      const scale = answer?.kind === 'judgement' ? scaleOf(tool, answer.scale) : undefined;
      const atBest = scale?.options.find((option) => option.value === rule.limit.atBest)?.label ?? rule.limit.atBest;
      return { cells: [rule.message, `${labels.get(target) ?? target} is at best ${atBest}`] };
    });
    blocks.push({ type: 'table', caption: 'Limiting judgements', head: ['When', 'Limit'], rows, empty: '' });
  }
  return blocks.length ? { key: 'grading', title: 'How the judgements are graded', blocks } : null;
}

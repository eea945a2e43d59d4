/**
 * Reading and checking an audit-tool file.
 *
 * parseToolFile turns YAML text into a checked AuditTool or into EVERY problem found, each with
 * the path of the field (`sections[3].answers[2].scale`) and its line in the file. Checks run in
 * two passes over the same data: the zod schema (shape of each field), then the checks that need
 * the whole tool (scales exist, keys are unique, expressions and rules refer to real answers).
 * The second pass reads the raw data defensively so that it still reports its problems when the
 * first pass has found some: a QA officer fixes a file in one go, not one error at a time.
 */
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { linkAddressProblem, linksIn } from '../../platform/linked-text.ts';
import { checkExpression, parseExpression, pathsIn, type ToolContext, type ValueType } from './expression.ts';
import { standardScale, ranksOf, STANDARD_SCALES, type Scale, type ScaleOption } from './scales.ts';
import {
  ANSWER_KINDS,
  defaultCompletedBy,
  LEGAL_STATUSES,
  PREFILL_SOURCES,
  SIMPLE_ANSWER_KINDS,
  toolFileSchema,
  type AuditTool,
  type PrefillSource,
  type SectionKind,
} from './schema.ts';

export type ToolFileError = { file: string; path: string; message: string; line?: number };
export type ToolFileResult = { ok: true; tool: AuditTool } | { ok: false; errors: ToolFileError[] };

type Path = (string | number)[];
type Raw = Record<string, unknown>;
type Problem = { path: Path; message: string };

/** Parses and checks the YAML text of one tool edition. */
export function parseToolFile(yamlText: string, fileName: string): ToolFileResult {
  const lineCounter = new LineCounter();
  const document = parseDocument(yamlText, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) return { ok: false, errors: syntaxErrors(document, lineCounter, yamlText, fileName) };
  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return { ok: false, errors: [{ file: fileName, path: '', message: `YAML error: ${(error as Error).message}` }] };
  }
  const result = checkToolData(data);
  if (result.ok) return result;
  const errors = result.problems.map((problem) => ({
    file: fileName,
    path: formatPath(problem.path),
    message: problem.message,
    ...lineOf(document, lineCounter, problem.path),
  }));
  return { ok: false, errors: errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)) };
}

/** Shown at most: after the first few, YAML syntax errors are mostly echoes of the first. */
const MAX_SYNTAX_ERRORS = 5;

/** YAML syntax errors with their line, and the path of the field they fall in where there is one. */
function syntaxErrors(document: Document, lineCounter: LineCounter, yamlText: string, fileName: string): ToolFileError[] {
  const errors: ToolFileError[] = [];
  const lines = new Set<number>();
  for (const error of document.errors) {
    const line = lineCounter.linePos(error.pos[0]).line;
    if (lines.has(line)) continue;
    lines.add(line);
    const duplicate = error.code === 'DUPLICATE_KEY' ? /^[^\s:#]+/.exec(yamlText.slice(error.pos[0]))?.[0] : undefined;
    const message = duplicate
      ? `YAML syntax error: the field "${duplicate}" is given twice in the same mapping (line ${line})`
      : `YAML syntax error: ${error.message.split('\n')[0]} (line ${line})`;
    // Only a duplicate field leaves the structure sound enough to name the field's path.
    errors.push({ file: fileName, path: duplicate ? formatPath(pathAt(document, error.pos[0])) : '', message, line });
  }
  if (errors.length > MAX_SYNTAX_ERRORS) {
    const more = errors.length - MAX_SYNTAX_ERRORS;
    errors.length = MAX_SYNTAX_ERRORS;
    errors.push({ file: fileName, path: '', message: `${more} more YAML syntax error${more === 1 ? '' : 's'}: fix the first ones and check again` });
  }
  return errors;
}

type YamlNode = { range?: [number, number, number] | null; items?: unknown[] };
type YamlPair = { key: { value?: unknown; range?: [number, number, number] | null } | null; value: YamlNode | null };

/** The path of the innermost field whose text contains `offset`. */
function pathAt(document: Document, offset: number): Path {
  const path: Path = [];
  let node = document.contents as YamlNode | null;
  const within = (range: YamlNode['range']) => range !== null && range !== undefined && range[0] <= offset && offset < range[2];
  while (node && Array.isArray(node.items)) {
    let next: YamlNode | null = null;
    node.items.forEach((item, index) => {
      if (next) return;
      const pair = item as Partial<YamlPair>;
      if ('key' in pair && pair.key && (within(pair.key.range) || within(pair.value?.range))) {
        path.push(String(pair.key.value));
        next = pair.value ?? null;
      } else if (!('key' in pair) && within((item as YamlNode).range)) {
        path.push(index);
        next = item as YamlNode;
      }
    });
    if (!next) break;
    node = next;
  }
  return path;
}

/** Checks a definition that is already data (a stored edition, JSON): the same checks, no lines. */
export function validateToolDefinition(data: unknown, name = 'definition'): ToolFileResult {
  const result = checkToolData(data);
  if (result.ok) return result;
  return { ok: false, errors: result.problems.map((problem) => ({ file: name, path: formatPath(problem.path), message: problem.message })) };
}

function checkToolData(data: unknown): { ok: true; tool: AuditTool } | { ok: false; problems: Problem[] } {
  if (data === null || data === undefined) return { ok: false, problems: [{ path: [], message: 'the file is empty' }] };
  if (!record(data)) return { ok: false, problems: [{ path: [], message: 'a tool file is a YAML mapping of fields (schemaVersion: 1, key: …, name: …)' }] };
  const parsed = toolFileSchema.safeParse(data, { reportInput: true });
  const problems: Problem[] = parsed.success ? [] : issuesToProblems(parsed.error.issues, []);
  const index = indexTool(data as Raw, problems);
  if (!parsed.success || problems.length > 0) return { ok: false, problems: dedupe(problems) };
  return { ok: true, tool: { ...parsed.data, scales: [...index.scales.values()].filter((scale) => index.usedScales.has(scale.id) || index.declaredScales.has(scale.id)) } };
}

/** The paths an expression in this tool may use, with their types (for checking and evaluating). */
export function toolContext(tool: AuditTool): ToolContext {
  return indexTool(tool as unknown as Raw, []).context;
}

// ---------------------------------------------------------------------------------------------
// Whole-tool checks

type IndexedAnswer = { key: string; path: Path; kind: string; type: ValueType; scale?: Scale | undefined; sectionIndex?: number };

type ToolIndex = {
  scales: Map<string, Scale>;
  declaredScales: Set<string>;
  usedScales: Set<string>;
  answers: Map<string, IndexedAnswer>;
  context: ToolContext;
};

function indexTool(root: Raw, problems: Problem[]): ToolIndex {
  const report = (path: Path, message: string) => problems.push({ path, message });
  const { scales, declared } = resolveScales(list(root.scales), report);
  const usedScales = new Set<string>();
  const useScale = (id: unknown, path: Path): Scale | undefined => {
    const name = text(id);
    if (name === undefined) return undefined;
    const scale = scales.get(name) ?? standardScale(name);
    if (!scale) {
      report(path, `unknown scale "${name}": declare it under scales, or use a standard scale (${STANDARD_SCALES.map((s) => s.id).join(', ')})`);
      return undefined;
    }
    usedScales.add(name);
    if (!scales.has(name)) scales.set(name, structuredClone(scale));
    return scale;
  };

  const answers = new Map<string, IndexedAnswer>();
  const paths = new Map<string, ValueType>(CHILD_FACT_TYPES);
  const register = (key: unknown, path: Path, entry: Omit<IndexedAnswer, 'key' | 'path'>) => {
    if (typeof key !== 'string') return;
    const first = answers.get(key);
    if (first) return report([...path, 'key'], `duplicate key "${key}": already used at ${formatPath(first.path)}; every answer key must be unique in the tool`);
    answers.set(key, { key, path, ...entry });
    paths.set(`answers.${key}`, entry.type);
  };
  const expressions: { path: Path; text: string; self?: string[] }[] = [];
  const condition = (def: Raw, path: Path, self?: string[]) => {
    if (typeof def.appliesWhen === 'string') expressions.push({ path: [...path, 'appliesWhen'], text: def.appliesWhen, ...(self ? { self } : {}) });
  };

  const checkAnswer = (def: Raw, path: Path, sectionIndex: number | undefined) => {
    const kind = text(def.kind);
    if (!kind || !(ANSWER_KINDS as readonly string[]).includes(kind)) {
      // Already reported by the schema; registering it keeps rules that name it from being reported too.
      return register(def.key, path, { kind: 'unknown', type: { kind: 'unknown' } });
    }
    const type = answerType(def, path, useScale, report);
    register(def.key, path, { kind, type: type.type, scale: type.scale, ...(sectionIndex === undefined ? {} : { sectionIndex }) });
    condition(def, path, typeof def.key === 'string' ? [def.key] : undefined);
    checkPrefill(def, path, kind, report);
    if (kind === 'judgement') {
      list(def.evidence).forEach((box, i) =>
        register(record(box)?.key, [...path, 'evidence', i], { kind: 'text', type: { kind: 'text' }, ...(sectionIndex === undefined ? {} : { sectionIndex }) }),
      );
      if (type.scale && type.scale.order === 'none') report([...path, 'scale'], `a judgement needs a graded scale, and "${type.scale.id}" has no order`);
      checkDescriptors(def.descriptors, type.scale, [...path, 'descriptors'], report);
    }
    if (kind === 'repeating') checkColumns(def, path, useScale, report);
  };

  list(root.header).forEach((answer, i) => {
    const def = record(answer);
    if (def) checkAnswer(def, ['header', i], undefined);
  });

  const sectionKeys = new Map<string, Path>();
  list(root.sections).forEach((value, s) => {
    const section = record(value);
    if (!section) return;
    const path: Path = ['sections', s];
    const key = text(section.key);
    if (key !== undefined) {
      const first = sectionKeys.get(key);
      if (first) report([...path, 'key'], `duplicate section key "${key}": already used at ${formatPath(first)}`);
      else sectionKeys.set(key, path);
    }
    const sectionAnswers = list(section.answers);
    sectionAnswers.forEach((answer, i) => {
      const def = record(answer);
      if (def) checkAnswer(def, [...path, 'answers', i], s);
    });
    checkCriteria(section, path, s, useScale, register, condition, report);
    checkSectionKind(section, path, report);
    if (section.feedback !== undefined) checkFeedback(record(section.feedback), [...path, 'feedback'], s, useScale, register, paths, condition, report);
    if (section.descriptors !== undefined) {
      const judgements = sectionAnswers.map(record).filter((a) => a?.kind === 'judgement');
      if (judgements.length !== 1) report([...path, 'descriptors'], `section descriptors go beside the section's judgement, and this section has ${judgements.length}; put them on the judgement answer instead`);
      else checkDescriptors(section.descriptors, scales.get(text(judgements[0]!.scale) ?? '') ?? standardScale(text(judgements[0]!.scale) ?? ''), [...path, 'descriptors'], report);
    }
    // A section cannot depend on its own answers: it would decide whether it exists.
    const own = [...answers.values()].filter((a) => a.sectionIndex === s).map((a) => a.key);
    condition(section, path, own);
  });

  const context: ToolContext = { paths };
  for (const { path, text: source, self } of expressions) checkExpressionAt(source, path, context, report, self);
  checkRules(root, answers, context, report);
  checkOverall(root, answers, report);
  checkYesMeans(root, report);
  checkGradeGuide(record(root.gradeGuide), useScale, report);
  checkEscalation(root, report);
  checkAppliesTo(root.appliesTo, report);
  checkGuidanceLinks(root, report);
  return { scales, declaredScales: declared, usedScales, answers, context };
}

const CHILD_FACT_TYPES: [string, ValueType][] = [
  ['child.legalStatus', { kind: 'choice', values: LEGAL_STATUSES }],
  ['child.ageInYears', { kind: 'number' }],
  ['child.referralFactors', { kind: 'choices', values: null }],
];

type UseScale = (id: unknown, path: Path) => Scale | undefined;
type ReportFn = (path: Path, message: string) => void;

function resolveScales(declared: unknown[], report: ReportFn): { scales: Map<string, Scale>; declared: Set<string> } {
  const scales = new Map<string, Scale>();
  declared.forEach((value, i) => {
    const def = record(value);
    const id = text(def?.id);
    if (!def || id === undefined) return;
    const path: Path = ['scales', i];
    if (scales.has(id)) return report([...path, 'id'], `duplicate scale id "${id}"`);
    const scale = def.extends !== undefined ? extendScale(def, id, path, report) : ownScale(def, id, path, report);
    if (!scale) return;
    const graded = scale.options.filter((o) => !o.excludeFromScore).length;
    if (scale.order !== 'none' && graded < 2) report([...path, 'order'], 'a graded scale needs at least two options that are not excludeFromScore; use order: none for a scale without grades');
    scales.set(id, scale);
  });
  return { scales, declared: new Set(scales.keys()) };
}

function extendScale(def: Raw, id: string, path: Path, report: ReportFn): Scale | undefined {
  const baseId = text(def.extends) ?? '';
  const base = standardScale(baseId);
  if (!base) return void report([...path, 'extends'], `"${baseId}" is not a standard scale: use one of ${STANDARD_SCALES.map((s) => s.id).join(', ')}`);
  if (def.options !== undefined) report([...path, 'options'], 'give either options or extends, not both');
  const values = base.options.map((o) => o.value);
  for (const field of ['labels', 'codes', 'hints'] as const) {
    for (const value of Object.keys(record(def[field]) ?? {})) {
      if (!values.includes(value)) report([...path, field, value], `"${value}" is not a value of ${baseId}: use one of ${values.join(', ')}`);
    }
  }
  const labels = record(def.labels) ?? {};
  const codes = record(def.codes) ?? {};
  const hints = record(def.hints) ?? {};
  return {
    id,
    label: text(def.label) ?? base.label,
    order: (text(def.order) as Scale['order'] | undefined) ?? base.order,
    options: base.options.map((option) => ({
      ...option,
      label: text(labels[option.value]) ?? option.label,
      ...(codes[option.value] !== undefined ? { code: text(codes[option.value]) } : {}),
      ...(hints[option.value] !== undefined ? { hint: text(hints[option.value]) } : {}),
    })),
  };
}

function ownScale(def: Raw, id: string, path: Path, report: ReportFn): Scale | undefined {
  for (const field of ['labels', 'codes', 'hints'] as const) {
    if (def[field] === undefined) continue;
    report([...path, field], field === 'hints' ? 'hints add help to the options of a scale named in extends; on your own scale give each option its hint' : 'labels and codes change the wording of a scale named in extends');
  }
  const options = list(def.options);
  if (def.options === undefined) return void report(path, `give the scale's options, or extends: one of ${STANDARD_SCALES.map((s) => s.id).join(', ')}`);
  const seen = new Set<string>();
  const parsed: ScaleOption[] = [];
  options.forEach((value, j) => {
    const option = record(value);
    const optionValue = text(option?.value);
    if (!option || optionValue === undefined) return;
    if (seen.has(optionValue)) report([...path, 'options', j, 'value'], `duplicate option value "${optionValue}"`);
    seen.add(optionValue);
    parsed.push({
      value: optionValue,
      label: text(option.label) ?? optionValue,
      ...optional('code', text(option.code)),
      ...optional('hint', text(option.hint)),
      ...optional('score', typeof option.score === 'number' ? option.score : undefined),
      ...optional('ofsted', text(option.ofsted) as ScaleOption['ofsted']),
      ...optional('excludeFromScore', option.excludeFromScore === true ? true : undefined),
    });
  });
  return { id, label: text(def.label) ?? id, order: (text(def.order) as Scale['order'] | undefined) ?? 'best-first', options: parsed };
}

function answerType(def: Raw, path: Path, useScale: UseScale, report: ReportFn): { type: ValueType; scale?: Scale | undefined } {
  switch (def.kind) {
    case 'judgement': {
      const scale = useScale(def.scale, [...path, 'scale']);
      return { type: scaleType(scale), scale };
    }
    case 'single':
    case 'multiple': {
      const hasOptions = def.options !== undefined;
      const hasScale = def.scale !== undefined;
      if (hasOptions === hasScale) report(path, hasOptions ? 'give either options or scale, not both' : `a ${def.kind} choice needs options, or a scale`);
      let values: string[] | null = null;
      let scale: Scale | undefined;
      if (hasScale) {
        scale = useScale(def.scale, [...path, 'scale']);
        values = scale ? scale.options.map((o) => o.value) : null;
      } else if (hasOptions) {
        values = optionValues(list(def.options), [...path, 'options'], report);
      }
      // No values: the options or scale are in error (reported above), so its uses are not checked.
      if (values === null) return { type: { kind: 'unknown' }, scale };
      if (def.kind === 'multiple') return { type: { kind: 'choices', values }, scale };
      return { type: scale ? scaleType(scale) : { kind: 'choice', values }, scale };
    }
    case 'yesno':
      return { type: { kind: 'choice', values: ['yes', 'no'], scale: 'yes_no' } };
    case 'text':
      return { type: { kind: 'text' } };
    case 'number':
      if (typeof def.min === 'number' && typeof def.max === 'number' && def.min > def.max) report([...path, 'max'], 'max must not be less than min');
      return { type: { kind: 'number' } };
    case 'scaling':
      if ((typeof def.min === 'number' ? def.min : 0) >= (typeof def.max === 'number' ? def.max : 10)) report([...path, 'max'], 'max must be more than min');
      return { type: { kind: 'number' } };
    case 'date':
      return { type: { kind: 'date' } };
    case 'datetime':
      // A time of day has no order a rule needs yet: a rule can ask only whether it is answered.
      return { type: { kind: 'text' } };
    case 'staff':
      return { type: { kind: 'staff' } };
    default:
      if (typeof def.minRows === 'number' && typeof def.maxRows === 'number' && def.minRows > def.maxRows) report([...path, 'maxRows'], 'maxRows must not be less than minRows');
      return { type: { kind: 'rows' } };
  }
}

function scaleType(scale: Scale | undefined): ValueType {
  // No scale: its name is wrong or missing, which is reported where it is given.
  if (!scale) return { kind: 'unknown' };
  const ranks = ranksOf(scale);
  return { kind: 'choice', values: scale.options.map((o) => o.value), scale: scale.id, ...(Object.keys(ranks).length > 0 ? { ranks } : {}) };
}

function optionValues(options: unknown[], path: Path, report: ReportFn): string[] {
  const values: string[] = [];
  options.forEach((option, j) => {
    const value = text(record(option)?.value);
    if (value === undefined) return;
    if (values.includes(value)) report([...path, j, 'value'], `duplicate option value "${value}"`);
    values.push(value);
  });
  return values;
}

/** Columns of a repeating answer and questions put to respondents: simple kinds, keys unique among siblings. */
function checkSimpleAnswers(items: unknown[], path: Path, what: string, useScale: UseScale, report: ReportFn): Map<string, ValueType> {
  const types = new Map<string, ValueType>();
  items.forEach((value, j) => {
    const def = record(value);
    if (!def) return;
    const at: Path = [...path, j];
    const kind = text(def.kind);
    if (!kind || !(SIMPLE_ANSWER_KINDS as readonly string[]).includes(kind)) return;
    const key = text(def.key);
    if (key !== undefined && types.has(key)) report([...at, 'key'], `duplicate ${what} key "${key}"`);
    if (def.appliesWhen !== undefined) report([...at, 'appliesWhen'], `a ${what} cannot have appliesWhen`);
    if (def.prefill !== undefined) report([...at, 'prefill'], `a ${what} cannot be prefilled`);
    if (def.yesMeans !== undefined) report([...at, 'yesMeans'], `a ${what} cannot have yesMeans: only a question the moderator answers can say what its Yes means of the overall grade`);
    const type = answerType(def, at, useScale, report);
    if (key !== undefined) types.set(key, type.type);
  });
  return types;
}

function checkColumns(def: Raw, path: Path, useScale: UseScale, report: ReportFn): void {
  checkSimpleAnswers(list(def.columns), [...path, 'columns'], 'column', useScale, report);
}

function checkPrefill(def: Raw, path: Path, kind: string, report: ReportFn): void {
  const source = text(def.prefill);
  if (source === undefined || !Object.hasOwn(PREFILL_SOURCES, source)) return;
  const kinds = PREFILL_SOURCES[source as PrefillSource] as readonly string[];
  if (!kinds.includes(kind)) return report([...path, 'prefill'], `${source} cannot fill a ${kind} answer: it fills ${kinds.join(' or ')}`);
  if (source === 'child.legalStatus' && def.options !== undefined) {
    list(def.options).forEach((option, j) => {
      const value = text(record(option)?.value);
      if (value !== undefined && !(LEGAL_STATUSES as readonly string[]).includes(value)) {
        report([...path, 'options', j, 'value'], `options filled from child.legalStatus use its values: ${LEGAL_STATUSES.join(', ')}`);
      }
    });
  }
}

function checkDescriptors(descriptors: unknown, scale: Scale | undefined, path: Path, report: ReportFn): void {
  const entries = record(descriptors);
  if (!entries) return;
  for (const [value, descriptor] of Object.entries(entries)) {
    const paragraphs = Array.isArray(descriptor) ? descriptor.map((paragraph, i) => ({ paragraph, at: [...path, value, i] })) : [{ paragraph: descriptor, at: [...path, value] }];
    for (const { paragraph, at } of paragraphs) {
      const condition = record(paragraph)?.appliesWhen;
      if (typeof condition === 'string') checkDescriptorCondition(condition, [...at, 'appliesWhen'], report);
    }
  }
  if (!scale) return;
  const values = scale.options.map((o) => o.value);
  for (const value of Object.keys(entries)) {
    if (!values.includes(value)) report([...path, value], `"${value}" is not a value of the scale ${scale.id}: use ${values.join(', ')}`);
  }
}

/** What a descriptor's condition may read: the child's facts, the same as in a section's condition. */
export const CHILD_ONLY: ToolContext = { paths: new Map(CHILD_FACT_TYPES) };

function checkDescriptorCondition(source: string, path: Path, report: ReportFn): void {
  const parsed = parseExpression(source);
  const answers = parsed.ok ? pathsIn(parsed.expression).filter((reference) => reference.segments[0] === 'answers') : [];
  // The descriptor is the benchmark a grade is given against: it must not change as the auditor answers.
  if (answers.length > 0) {
    return report(path, `a descriptor's condition reads only the child's facts (${CHILD_FACT_TYPES.map(([name]) => name).join(', ')}), not ${answers[0]!.text} (column ${answers[0]!.start + 1})`);
  }
  checkExpressionAt(source, path, CHILD_ONLY, report);
}

/** Which children the tool is for: something to test, and an age range that is not empty. */
function checkAppliesTo(value: unknown, report: ReportFn): void {
  const appliesTo = record(value);
  if (!appliesTo) return;
  if (appliesTo.legalStatuses === undefined && appliesTo.minimumAge === undefined && appliesTo.maximumAge === undefined) {
    return report(['appliesTo'], 'say which children the tool is for: legalStatuses, minimumAge or maximumAge; or leave appliesTo out for a tool for every child');
  }
  const seen = new Set<string>();
  list(appliesTo.legalStatuses).forEach((status, i) => {
    const name = text(status);
    if (name !== undefined && seen.has(name)) report(['appliesTo', 'legalStatuses', i], `"${name}" is listed twice`);
    if (name !== undefined) seen.add(name);
  });
  if (typeof appliesTo.minimumAge === 'number' && typeof appliesTo.maximumAge === 'number' && appliesTo.minimumAge > appliesTo.maximumAge) {
    report(['appliesTo', 'maximumAge'], 'maximumAge must not be less than minimumAge');
  }
}

/** Links in guidance: only addresses Assure will make links (http, https, mailto). */
function checkGuidanceLinks(root: Raw, report: ReportFn): void {
  const check = (guidance: unknown, path: Path) => {
    if (typeof guidance !== 'string') return;
    for (const link of linksIn(guidance)) {
      const problem = linkAddressProblem(link.address);
      if (problem) report(path, problem);
    }
  };
  check(root.guidance, ['guidance']);
  list(root.sections).forEach((section, s) => check(record(section)?.guidance, ['sections', s, 'guidance']));
}

type Register = (key: unknown, path: Path, entry: Omit<IndexedAnswer, 'key' | 'path'>) => void;
type Condition = (def: Raw, path: Path, self?: string[]) => void;

function checkCriteria(section: Raw, path: Path, sectionIndex: number, useScale: UseScale, register: Register, condition: Condition, report: ReportFn): void {
  const defaultScale = section.criteriaScale !== undefined ? useScale(section.criteriaScale, [...path, 'criteriaScale']) : undefined;
  list(section.criteria).forEach((value, i) => {
    const item = record(value);
    if (!item || item.heading !== undefined) return;
    const at: Path = [...path, 'criteria', i];
    const scale = item.scale !== undefined ? useScale(item.scale, [...at, 'scale']) : defaultScale;
    const answered = item.scale !== undefined || section.criteriaScale !== undefined;
    if (item.key === undefined && item.scale !== undefined) report(at, 'a criterion answered on a scale needs a key');
    if (item.key !== undefined && !answered) report([...at, 'key'], "a criterion with a key is answered on a scale: give it a scale, or give the section a criteriaScale");
    if (item.key !== undefined) register(item.key, at, { kind: 'criterion', type: scaleType(scale), scale, sectionIndex });
    if (item.comment !== undefined) register(record(item.comment)?.key, [...at, 'comment'], { kind: 'text', type: { kind: 'text' }, sectionIndex });
    condition(item, at, typeof item.key === 'string' ? [item.key] : undefined);
  });
}

function checkSectionKind(section: Raw, path: Path, report: ReportFn): void {
  const kind = text(section.kind) ?? 'standard';
  if (kind === 'serviceUserFeedback' && section.feedback === undefined) report(path, 'a serviceUserFeedback section needs feedback: its respondents and questions');
  if (kind !== 'serviceUserFeedback' && section.feedback !== undefined) report([...path, 'feedback'], 'feedback belongs in a section of kind serviceUserFeedback');
  if (kind === 'actionPlan' && !list(section.answers).some((a) => record(a)?.kind === 'repeating')) {
    report([...path, 'answers'], 'an actionPlan section needs a repeating answer for its actions (action, owner, by when)');
  }
}

function checkFeedback(
  feedback: Raw | undefined,
  path: Path,
  sectionIndex: number,
  useScale: UseScale,
  register: Register,
  paths: Map<string, ValueType>,
  condition: Condition,
  report: ReportFn,
): void {
  if (!feedback) return;
  const questions = checkSimpleAnswers(list(feedback.questions), [...path, 'questions'], 'question', useScale, report);
  const notObtained = record(feedback.notObtained);
  const reasons = notObtained ? optionValues(list(notObtained.options), [...path, 'notObtained', 'options'], report) : null;
  list(feedback.respondents).forEach((value, r) => {
    const respondent = record(value);
    const key = text(respondent?.key);
    if (!respondent || key === undefined) return;
    const at: Path = [...path, 'respondents', r];
    if (respondent.minimumAge !== undefined && respondent.type !== 'child') report([...at, 'minimumAge'], 'minimumAge applies to a child respondent');
    const own = respondent.questions !== undefined ? checkSimpleAnswers(list(respondent.questions), [...at, 'questions'], 'question', useScale, report) : questions;
    register(key, at, { kind: 'respondent', type: { kind: 'respondent' }, sectionIndex });
    for (const [question, type] of own) paths.set(`answers.${key}.${question}`, type);
    if (respondent.askResidence) paths.set(`answers.${key}.resident`, { kind: 'choice', values: ['resident', 'non_resident'] });
    if (reasons) paths.set(`answers.${key}.notObtained`, { kind: 'choice', values: reasons });
    condition(respondent, at, [key]);
  });
}

function checkExpressionAt(source: string, path: Path, context: ToolContext, report: ReportFn, self?: string[]): void {
  const parsed = parseExpression(source);
  if (!parsed.ok) return report(path, `${parsed.problem.message} (column ${parsed.problem.column})`);
  for (const problem of checkExpression(parsed.expression, context)) report(path, `${problem.message} (column ${problem.column})`);
  for (const reference of pathsIn(parsed.expression)) {
    const key = reference.segments[0] === 'answers' ? reference.segments[1] : undefined;
    if (key !== undefined && self?.includes(key)) report(path, `${reference.text} is answered inside what this condition decides, so it cannot decide whether it applies (column ${reference.start + 1})`);
  }
}

function checkRules(root: Raw, answers: Map<string, IndexedAnswer>, context: ToolContext, report: ReportFn): void {
  const keys = new Map<string, number>();
  const overallAnswer = text(record(root.overall)?.answer);
  list(root.rules).forEach((value, i) => {
    const rule = record(value);
    if (!rule) return;
    const path: Path = ['rules', i];
    const key = text(rule.key);
    if (key !== undefined) {
      if (keys.has(key)) report([...path, 'key'], `duplicate rule key "${key}": already used at rules[${keys.get(key)}]`);
      else keys.set(key, i);
    }
    if (typeof rule.when === 'string') checkExpressionAt(rule.when, [...path, 'when'], context, report);
    const limit = record(rule.limit);
    const target = text(limit?.answer);
    if (!limit || target === undefined) return;
    if (target === 'overall' && overallAnswer === undefined) return report([...path, 'limit', 'answer'], 'the tool has no overall: define overall, or name a judgement');
    const answerKey = target === 'overall' ? overallAnswer! : target;
    const answer = answers.get(answerKey);
    if (!answer) return report([...path, 'limit', 'answer'], `no answer has the key "${answerKey}"`);
    if (answer.kind === 'unknown') return;
    if (answer.kind !== 'judgement') return report([...path, 'limit', 'answer'], `"${answerKey}" is a ${answer.kind} answer: a limit applies to a judgement`);
    const atBest = text(limit.atBest);
    if (atBest === undefined || !answer.scale) return;
    if (!answer.scale.options.some((o) => o.value === atBest)) {
      return report([...path, 'limit', 'atBest'], `"${atBest}" is not a value of the scale ${answer.scale.id}: use one of ${answer.scale.options.map((o) => o.value).join(', ')}`);
    }
    if (ranksOf(answer.scale)[atBest] === undefined) report([...path, 'limit', 'atBest'], `"${atBest}" is not a grade, so it cannot be a limit`);
  });
}

function checkOverall(root: Raw, answers: Map<string, IndexedAnswer>, report: ReportFn): void {
  const overall = record(root.overall);
  const key = text(overall?.answer);
  if (!overall || key === undefined) return;
  const answer = answers.get(key);
  if (!answer) return report(['overall', 'answer'], `no answer has the key "${key}"`);
  if (answer.kind === 'unknown') return;
  if (answer.kind !== 'judgement') return report(['overall', 'answer'], `"${key}" is a ${answer.kind} answer: the overall grade is a judgement`);
  // In chosen mode the auditor grades the overall: a list to take the lowest of would be ignored.
  if (overall.mode === 'chosen' && overall.from !== undefined) report(['overall', 'from'], 'from lists the judgements for mode lowest-of-sections; in chosen mode the auditor grades the overall, so remove it');
  const from = overall.from !== undefined ? list(overall.from).map(text) : undefined;
  from?.forEach((source, i) => {
    const judgement = source === undefined ? undefined : answers.get(source);
    if (!judgement) return report(['overall', 'from', i], `no answer has the key "${source}"`);
    if (judgement.kind === 'unknown') return;
    if (judgement.kind !== 'judgement') return report(['overall', 'from', i], `"${source}" is a ${judgement.kind} answer, not a judgement`);
    if (judgement.scale && answer.scale && judgement.scale.id !== answer.scale.id) report(['overall', 'from', i], `"${source}" is on the scale ${judgement.scale?.id}, not ${answer.scale?.id} like the overall grade`);
  });
  if (overall.mode === 'lowest-of-sections' && !from && defaultOverallSources(root, answers, key).length === 0) {
    report(['overall'], 'lowest-of-sections needs judgements to take the lowest of: the tool has none on the same scale; list them in from');
  }
}

/**
 * `yesMeans` says what a moderator's Yes means of the overall grade they give on the moderation
 * page: only the moderator's own yes/no questions can say it, and only of a tool with an overall grade.
 */
function checkYesMeans(root: Raw, report: ReportFn): void {
  const hasOverall = text(record(root.overall)?.answer) !== undefined;
  const check = (def: Raw | undefined, path: Path, person: string) => {
    if (!def || def.yesMeans === undefined) return;
    const at = [...path, 'yesMeans'];
    if (def.kind !== 'yesno') return report(at, `yesMeans belongs on a yesno answer, and this is a ${text(def.kind) ?? 'answer of no kind'}`);
    if ((text(def.completedBy) ?? person) !== 'moderator') return report(at, 'yesMeans belongs on a question the moderator answers (in a moderation section, or marked completedBy: moderator)');
    if (!hasOverall) report(at, 'yesMeans speaks of the overall grade, and this tool has none: add overall, or remove yesMeans');
  };
  list(root.header).forEach((answer, i) => check(record(answer), ['header', i], 'auditor'));
  list(root.sections).forEach((value, s) => {
    const section = record(value);
    if (!section) return;
    const person = text(section.completedBy) ?? defaultCompletedBy((text(section.kind) ?? 'standard') as SectionKind);
    list(section.answers).forEach((answer, i) => check(record(answer), ['sections', s, 'answers', i], person));
  });
}

/** The judgements an overall grade is taken from by default: those in standard sections, on its scale. */
function defaultOverallSources(root: Raw, answers: Map<string, IndexedAnswer>, overallKey: string): string[] {
  const scaleId = answers.get(overallKey)?.scale?.id;
  const sections = list(root.sections).map(record);
  return [...answers.values()]
    .filter((a) => a.kind === 'judgement' && a.key !== overallKey && a.scale?.id === scaleId && a.sectionIndex !== undefined)
    .filter((a) => (text(sections[a.sectionIndex!]?.kind) ?? 'standard') === 'standard')
    .map((a) => a.key);
}

function checkGradeGuide(guide: Raw | undefined, useScale: UseScale, report: ReportFn): void {
  if (!guide) return;
  const scale = useScale(guide.scale, ['gradeGuide', 'scale']);
  const keys = new Set<string>();
  list(guide.domains).forEach((value, i) => {
    const domain = record(value);
    const key = text(domain?.key);
    if (key !== undefined && keys.has(key)) report(['gradeGuide', 'domains', i, 'key'], `duplicate domain key "${key}"`);
    if (key !== undefined) keys.add(key);
    checkDescriptors(domain?.descriptors, scale, ['gradeGuide', 'domains', i, 'descriptors'], report);
  });
}

/**
 * What the grades set off, against the rest of the tool: one way to name the Inadequate alerts,
 * and a re-audit section only where the tool sets a re-audit off (it is asked in the re-audit alone).
 */
function checkEscalation(root: Raw, report: ReportFn): void {
  const escalation = record(root.escalation);
  if (escalation?.alerts !== undefined && escalation.inadequateAlerts !== undefined) {
    report(['escalation', 'inadequateAlerts'], 'give alerts or inadequateAlerts, not both: alerts names the grades and the people (inadequateAlerts is the first format\'s)');
  }
  if (root.schemaVersion === 1) return;
  const reAudits = escalation?.reAudit !== undefined ? escalation.reAudit !== false : escalation?.default === 'bristol';
  list(root.sections).forEach((value, s) => {
    if (!reAudits && record(value)?.kind === 'reAudit') {
      report(['sections', s, 'kind'], 'a reAudit section is asked only in a re-audit, and this tool sets none off: add escalation.reAudit (or default: bristol), or remove the section');
    }
  });
}

// ---------------------------------------------------------------------------------------------
// zod issues → problems a QA officer can act on

type Issue = z.core.$ZodIssue;

function issuesToProblems(issues: readonly Issue[], base: Path): Problem[] {
  return issues.flatMap((issue) => issueToProblems(issue, [...base, ...(issue.path as Path)]));
}

function issueToProblems(issue: Issue, path: Path): Problem[] {
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'invalid_type':
      return [{ path, message: input === undefined ? 'required' : `expected ${article(issue.expected)}, found ${describeValue(input)}` }];
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path: [...path, key], message: `unknown field "${key}"` }));
    case 'invalid_value':
      return [{ path, message: `must be ${issue.values.length === 1 ? String(issue.values[0]) : `one of ${issue.values.join(', ')}`}${input === undefined ? '' : `, not ${describeValue(input)}`}` }];
    case 'invalid_union': {
      const discriminator = (issue as { discriminator?: string }).discriminator;
      if (discriminator) {
        const kind = record(input)?.[discriminator];
        const options = (issue as { options?: unknown[] }).options ?? [];
        return [{ path, message: `${kind === undefined ? 'required' : `unknown ${discriminator} ${describeValue(kind)}`}: use one of ${options.join(', ')}` }];
      }
      // Report the branch the author evidently meant: the one whose problems are not about the value's type.
      const branches = issue.errors.filter((branch) => !branch.some((i) => i.code === 'invalid_type' && i.path.length === 0));
      if (branches.length === 1) return issuesToProblems(branches[0]!, path);
      return [{ path, message: `expected ${issue.errors.map((b) => article(String((b[0] as { expected?: string } | undefined)?.expected ?? 'value'))).join(' or ')}, found ${describeValue(input)}` }];
    }
    case 'too_small':
      if (issue.origin === 'array') return [{ path, message: issue.message.startsWith('Too small') ? `needs at least ${String(issue.minimum)} item${issue.minimum === 1 ? '' : 's'}` : issue.message }];
      return [{ path, message: issue.message.startsWith('Too small') ? `must be at least ${String(issue.minimum)}` : issue.message }];
    case 'too_big':
      return [{ path, message: issue.message.startsWith('Too big') ? `must be at most ${String(issue.maximum)}` : issue.message }];
    default:
      return [{ path, message: issue.message }];
  }
}

function article(expected: string): string {
  const names: Record<string, string> = { string: 'text', number: 'a number', boolean: 'true or false', object: 'a mapping (fields)', array: 'a list', int: 'a whole number' };
  return names[expected] ?? expected;
}

function describeValue(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  return String(value);
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const id = `${formatPath(problem.path)}\n${problem.message}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/** `sections[3].answers[2].scale` */
export function formatPath(path: readonly (string | number | symbol)[]): string {
  return path.reduce<string>((out, segment) => {
    if (typeof segment === 'number') return `${out}[${segment}]`;
    const name = String(segment);
    return out ? `${out}.${name}` : name;
  }, '');
}

function lineOf(document: Document, lineCounter: LineCounter, path: Path): { line?: number } {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = document.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return { line: lineCounter.linePos(node.range[0]).line };
  }
  return {};
}

function record(value: unknown): Raw | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Raw) : undefined;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}

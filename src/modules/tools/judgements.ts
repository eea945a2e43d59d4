/**
 * The rules of a tool applied to an audit's answers: which sections and answers apply to this
 * child, which limiting judgements hold (Bolton: no supervision in the last 3 months → Management
 * grip cannot be better than Requires improvement), and how the overall grade is derived.
 *
 * Pure functions of (tool, answers, child): the audit pages and reports call them; nothing here
 * reads the database.
 */
import { evaluate, parseExpression, pathsIn, type ChildFacts, type EvaluationContext, type Expr, type ToolContext } from './expression.ts';
import { capGrade, isBetterThan, ranksOf, worstOf, type Scale } from './scales.ts';
import type { AuditTool, DescriptorParagraph, Descriptors, Rule } from './schema.ts';
import { CHILD_ONLY, toolContext } from './tool-file.ts';

export type Answers = Readonly<Record<string, unknown>>;

/** A limiting judgement in force: `answerKey` cannot be better than `atBest`, and why. */
export type Limit = { ruleKey: string; answerKey: string; atBest: string; message: string };

/** Where an answer sits, and the conditions (appliesWhen) that must all hold for it to apply. */
type Placement = { conditions: string[]; scale?: Scale | undefined; sectionKind?: string };

const expressions = new Map<string, Expr>();
const contexts = new WeakMap<AuditTool, ToolContext>();
const placements = new WeakMap<AuditTool, Map<string, Placement>>();

function compiled(source: string): Expr {
  let expression = expressions.get(source);
  if (!expression) {
    const parsed = parseExpression(source);
    // A checked tool never gets here with a bad expression; a hand-edited stored one might.
    if (!parsed.ok) throw new Error(`invalid expression "${source}": ${parsed.problem.message}`);
    expression = parsed.expression;
    if (expressions.size > 5000) expressions.clear();
    expressions.set(source, expression);
  }
  return expression;
}

function contextOf(tool: AuditTool, answers: Answers, child: ChildFacts | null | undefined): EvaluationContext {
  let types = contexts.get(tool);
  if (!types) contexts.set(tool, (types = toolContext(tool)));
  return { answers, child: child ?? null, types };
}

/** Evaluates one of the tool's expressions (appliesWhen, a rule's when) for this audit. */
export function holds(tool: AuditTool, source: string, answers: Answers, child?: ChildFacts | null): boolean {
  return evaluate(compiled(source), contextOf(tool, answers, child));
}

export function scaleOf(tool: AuditTool, id: string): Scale | undefined {
  return tool.scales.find((scale) => scale.id === id);
}

function placementsOf(tool: AuditTool): Map<string, Placement> {
  const cached = placements.get(tool);
  if (cached) return cached;
  const map = new Map<string, Placement>();
  const when = (def: { appliesWhen?: string | undefined }) => (def.appliesWhen ? [def.appliesWhen] : []);
  for (const answer of tool.header) map.set(answer.key, { conditions: when(answer), scale: answer.kind === 'judgement' ? scaleOf(tool, answer.scale) : undefined });
  for (const section of tool.sections) {
    const inSection = when(section);
    for (const answer of section.answers) {
      const conditions = [...inSection, ...when(answer)];
      const scale = answer.kind === 'judgement' ? scaleOf(tool, answer.scale) : undefined;
      map.set(answer.key, { conditions, scale, sectionKind: section.kind });
      if (answer.kind === 'judgement') for (const box of answer.evidence ?? []) map.set(box.key, { conditions, sectionKind: section.kind });
    }
    for (const criterion of section.criteria ?? []) {
      if (typeof criterion === 'string' || 'heading' in criterion || !criterion.key) continue;
      const conditions = [...inSection, ...when(criterion)];
      const scaleId = criterion.scale ?? section.criteriaScale;
      map.set(criterion.key, { conditions, scale: scaleId ? scaleOf(tool, scaleId) : undefined, sectionKind: section.kind });
      if (criterion.comment) map.set(criterion.comment.key, { conditions, sectionKind: section.kind });
    }
    for (const respondent of section.feedback?.respondents ?? []) map.set(respondent.key, { conditions: [...inSection, ...when(respondent)], sectionKind: section.kind });
  }
  placements.set(tool, map);
  return map;
}

/** Whether a section applies to this audit (its appliesWhen holds, or it has none). */
export function sectionApplies(tool: AuditTool, sectionKey: string, answers: Answers, child?: ChildFacts | null): boolean {
  const section = tool.sections.find((s) => s.key === sectionKey);
  if (!section) throw new Error(`the tool ${tool.key} has no section "${sectionKey}"`);
  return !section.appliesWhen || holds(tool, section.appliesWhen, answers, child);
}

/**
 * A grade descriptor as this child's auditor reads it: its paragraphs whose condition holds for
 * the child (a care-leaver-only sentence is left out for a child in need). One paragraph comes
 * back as text, a list as points; undefined when nothing is left. The conditions read only the
 * child's facts (tool-file.ts checks it), so the tool is not needed to evaluate them.
 */
export function descriptorForChild(descriptor: Descriptors[string] | undefined, child?: ChildFacts | null): string | string[] | undefined {
  if (descriptor === undefined) return undefined;
  const shown = (paragraph: DescriptorParagraph) =>
    typeof paragraph === 'string' ? [paragraph] : evaluate(compiled(paragraph.appliesWhen), { answers: {}, child: child ?? null, types: CHILD_ONLY }) ? [paragraph.text] : [];
  if (!Array.isArray(descriptor)) return shown(descriptor)[0];
  const points = descriptor.flatMap(shown);
  return points.length > 0 ? points : undefined;
}

/**
 * A grade descriptor for no child in particular (a blank form, the tool's own page): every
 * paragraph, one that holds only for some children followed by its condition.
 */
export function descriptorAsWritten(descriptor: Descriptors[string] | undefined): string[] {
  if (descriptor === undefined) return [];
  const paragraphs = Array.isArray(descriptor) ? descriptor : [descriptor];
  return paragraphs.map((paragraph) => (typeof paragraph === 'string' ? paragraph : `${paragraph.text} (only when ${paragraph.appliesWhen})`));
}

/** The answers an answer's conditions read (its section's appliesWhen and its own): what asking it turns on. */
export function answersItTurnsOn(tool: AuditTool, answerKey: string): string[] {
  const conditions = placementsOf(tool).get(answerKey)?.conditions ?? [];
  return conditions.flatMap((condition) => pathsIn(compiled(condition))).flatMap((path) => (path.segments[0] === 'answers' && path.segments[1] ? [path.segments[1]] : []));
}

/** Whether an answer applies: its section applies and its own appliesWhen holds. */
export function answerApplies(tool: AuditTool, answerKey: string, answers: Answers, child?: ChildFacts | null): boolean {
  const placement = placementsOf(tool).get(answerKey);
  if (!placement) throw new Error(`the tool ${tool.key} has no answer "${answerKey}"`);
  return placement.conditions.every((condition) => holds(tool, condition, answers, child));
}

function limitTarget(tool: AuditTool, rule: Rule): string {
  return rule.limit.answer === 'overall' ? tool.overall!.answer : rule.limit.answer;
}

/**
 * Every limiting judgement in force for these answers, in the order of the tool's rules. A rule
 * whose judgement does not apply to this child (its section is skipped) is not in force.
 */
export function applyLimitingJudgements(tool: AuditTool, answers: Answers, child?: ChildFacts | null): Limit[] {
  const limits: Limit[] = [];
  for (const rule of tool.rules) {
    const answerKey = limitTarget(tool, rule);
    if (!answerApplies(tool, answerKey, answers, child)) continue;
    if (holds(tool, rule.when, answers, child)) limits.push({ ruleKey: rule.key, answerKey, atBest: rule.limit.atBest, message: rule.message });
  }
  return limits;
}

/** The strictest limit in force on one judgement, or null when it may take any grade. */
export function limitingJudgement(tool: AuditTool, answerKey: string, answers: Answers, child?: ChildFacts | null): Limit | null {
  const scale = placementsOf(tool).get(answerKey)?.scale;
  if (!scale) return null;
  const ranks = ranksOf(scale);
  let strictest: Limit | null = null;
  for (const limit of applyLimitingJudgements(tool, answers, child)) {
    if (limit.answerKey !== answerKey) continue;
    if (!strictest || ranks[limit.atBest]! < ranks[strictest.atBest]!) strictest = limit;
  }
  return strictest;
}

/** A grade held to the limits in force: the grade itself, or the limit that lowered it. */
export function gradeWithinLimits(
  tool: AuditTool,
  answerKey: string,
  grade: string,
  answers: Answers,
  child?: ChildFacts | null,
): { grade: string; limitedBy: Limit | null } {
  const limit = limitingJudgement(tool, answerKey, answers, child);
  const scale = placementsOf(tool).get(answerKey)?.scale;
  if (!limit || !scale || !isBetterThan(scale, grade, limit.atBest)) return { grade, limitedBy: null };
  return { grade: capGrade(scale, grade, limit.atBest), limitedBy: limit };
}

/**
 * The limits the given answers break: a judgement graded better than a limit in force allows.
 * The audit form shows each message as the error on that judgement.
 */
export function breachedLimits(tool: AuditTool, answers: Answers, child?: ChildFacts | null): Limit[] {
  return applyLimitingJudgements(tool, answers, child).filter((limit) => {
    const scale = placementsOf(tool).get(limit.answerKey)?.scale;
    const given = answers[limit.answerKey];
    return scale !== undefined && typeof given === 'string' && isBetterThan(scale, given, limit.atBest);
  });
}

/** The judgements the overall grade is taken from in lowest-of-sections mode. */
export function overallSources(tool: AuditTool): string[] {
  if (!tool.overall) return [];
  if (tool.overall.from) return tool.overall.from;
  const overallKey = tool.overall.answer;
  const scale = placementsOf(tool).get(overallKey)?.scale;
  return tool.sections
    .filter((section) => section.kind === 'standard')
    .flatMap((section) => section.answers)
    .filter((answer) => answer.kind === 'judgement' && answer.key !== overallKey && answer.scale === scale?.id)
    .map((answer) => answer.key);
}

/**
 * The overall grade the tool derives, within the limits in force: in lowest-of-sections mode the
 * worst of the applicable section judgements (each held to its own limits; N/A and other
 * ungraded values left out); in chosen mode the auditor's own grade. Undefined while nothing is
 * graded yet.
 */
export function overallGrade(tool: AuditTool, answers: Answers, child?: ChildFacts | null): { grade: string | undefined; limitedBy: Limit | null } {
  if (!tool.overall) return { grade: undefined, limitedBy: null };
  const key = tool.overall.answer;
  const scale = placementsOf(tool).get(key)?.scale;
  let grade: string | undefined;
  if (tool.overall.mode === 'chosen') {
    grade = typeof answers[key] === 'string' ? (answers[key] as string) : undefined;
  } else if (scale) {
    // Each section grade counts as its limits allow: a limited section cannot lift the overall.
    const graded = overallSources(tool)
      .filter((source) => answerApplies(tool, source, answers, child))
      .flatMap((source) => (typeof answers[source] === 'string' ? [gradeWithinLimits(tool, source, answers[source], answers, child).grade] : []));
    grade = worstOf(scale, graded);
  }
  if (grade === undefined) return { grade, limitedBy: null };
  return gradeWithinLimits(tool, key, grade, answers, child);
}

/**
 * Scores: the numbers some tools put on their grades, and what is made of them.
 *
 * Telford's Quality of Case File Measure scores each question 1 (Exceeds good) to 4
 * (Inadequate), with 5 for N/A, and ends with the "Auditors Overall Score" on the same measure:
 * the auditor's own judgement, not a sum. Lambeth rates practice skills 1 to 5, and its
 * framework says "Scores can be aggregated to provide a picture of the skills and quality of
 * practice in the service"; where there is no meaningful discussion about behaviour change,
 * "do not score for evocation". So:
 *
 * - a value scores the `score` of its scale option; an option marked `excludeFromScore` (N/A),
 *   an unanswered item and an item that does not apply to the child score nothing and are left
 *   out of every count and average (never counted as 0);
 * - the overall score is the tool's overall judgement, held to its limiting judgements;
 * - aggregates are per scored item across audits, plus all items together.
 *
 * Everything is driven by the tool's scales, never by a tool's name. Pure functions: no database.
 */
import type { ChildFacts } from './expression.ts';
import { answerApplies, overallGrade, scaleOf, type Answers, type Limit } from './judgements.ts';
import type { Scale, ScaleOption } from './scales.ts';
import type { AuditTool } from './schema.ts';

/** A question or judgement answered on a scale whose options carry scores. */
export type ScoredItem = { key: string; label: string; scale: Scale; sectionKey: string };

/** One item's answer in one audit: its value, and its score (null when N/A or unanswered). */
export type ItemScore = { key: string; label: string; value: string | null; score: number | null; applies: boolean };

/** Scores taken together: N/A and unanswered values are counted apart and not in the mean. */
export type ScoreSummary = {
  /** How many values scored. */
  count: number;
  /** How many were answered with an option excluded from scores (N/A). */
  excluded: number;
  /** Mean of the scores, or null when nothing scored. */
  mean: number | null;
  min: number | null;
  max: number | null;
  /** How many times each scale value was given, N/A included, in the scale's order. */
  distribution: { value: string; label: string; count: number }[];
};

export type ItemAggregate = ScoreSummary & { key: string; label: string };

/** The overall score of one audit: the overall judgement's option, or why there is none. */
export type OverallScore =
  | { status: 'scored'; value: string; label: string; score: number; limitedBy: Limit | null }
  | { status: 'not_applicable'; value: string; label: string; limitedBy: null }
  | { status: 'not_given' };

/** Whether a scale puts numbers on its grades (at least one option has a score). */
export function isScored(scale: Scale): boolean {
  return scale.options.some((option) => option.score !== undefined && !option.excludeFromScore);
}

/** The score of a value on a scale; undefined for N/A, an unscored or unknown value, or no answer. */
export function scoreOf(scale: Scale, value: unknown): number | undefined {
  const option = optionOf(scale, value);
  return option && !option.excludeFromScore ? option.score : undefined;
}

function optionOf(scale: Scale, value: unknown): ScaleOption | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  return scale.options.find((option) => option.value === String(value));
}

/**
 * The items of a tool answered on a scored scale, in form order: judgements, criteria and
 * single choices on a scale. `scaleId` narrows them to one scale; the overall judgement is
 * left out (it is the overall score, not an item).
 */
export function scoredItems(tool: AuditTool, scaleId?: string): ScoredItem[] {
  const items: ScoredItem[] = [];
  const add = (key: string, label: string, id: string | undefined, sectionKey: string) => {
    const scale = id === undefined ? undefined : scaleOf(tool, id);
    if (!scale || !isScored(scale) || (scaleId !== undefined && scale.id !== scaleId)) return;
    if (key === tool.overall?.answer) return;
    items.push({ key, label, scale, sectionKey });
  };
  for (const section of tool.sections) {
    for (const criterion of section.criteria ?? []) {
      if (typeof criterion === 'string' || 'heading' in criterion || !criterion.key) continue;
      add(criterion.key, criterion.text, criterion.scale ?? section.criteriaScale, section.key);
    }
    for (const answer of section.answers) {
      if (answer.kind === 'judgement' || (answer.kind === 'single' && answer.scale)) add(answer.key, answer.label, answer.scale, section.key);
    }
  }
  return items;
}

/** Each scored item's value and score in one audit. */
export function itemScores(tool: AuditTool, answers: Answers, child?: ChildFacts | null, scaleId?: string): ItemScore[] {
  return scoredItems(tool, scaleId).map((item) => {
    const applies = answerApplies(tool, item.key, answers, child);
    const option = applies ? optionOf(item.scale, answers[item.key]) : undefined;
    const score = option && !option.excludeFromScore ? (option.score ?? null) : null;
    return { key: item.key, label: item.label, value: option?.value ?? null, score, applies };
  });
}

/** Count, mean, range and distribution of values on one scale; N/A and unanswered left out of the scores. */
export function summariseScores(scale: Scale, values: readonly unknown[]): ScoreSummary {
  const scores: number[] = [];
  let excluded = 0;
  const counts = new Map(scale.options.map((option) => [option.value, 0]));
  for (const value of values) {
    const option = optionOf(scale, value);
    if (!option) continue;
    counts.set(option.value, counts.get(option.value)! + 1);
    if (option.excludeFromScore) excluded++;
    else if (option.score !== undefined) scores.push(option.score);
  }
  return {
    count: scores.length,
    excluded,
    mean: scores.length === 0 ? null : scores.reduce((sum, score) => sum + score, 0) / scores.length,
    min: scores.length === 0 ? null : Math.min(...scores),
    max: scores.length === 0 ? null : Math.max(...scores),
    distribution: scale.options.map((option) => ({ value: option.value, label: option.label, count: counts.get(option.value)! })),
  };
}

/**
 * The overall score of one audit (Telford's "Auditors Overall Score"): the tool's overall
 * judgement, held to its limiting judgements, as a score on its scale. N/A is reported as
 * such, never as a score.
 */
export function auditorOverallScore(tool: AuditTool, answers: Answers, child?: ChildFacts | null): OverallScore {
  const overall = tool.overall;
  const scale = overall ? scaleOfAnswer(tool, overall.answer) : undefined;
  if (!overall || !scale) return { status: 'not_given' };
  const { grade, limitedBy } = overallGrade(tool, answers, child);
  const option = optionOf(scale, grade);
  if (!option) return { status: 'not_given' };
  if (option.excludeFromScore) return { status: 'not_applicable', value: option.value, label: option.label, limitedBy: null };
  if (option.score === undefined) return { status: 'not_given' };
  return { status: 'scored', value: option.value, label: option.label, score: option.score, limitedBy };
}

/**
 * Scores aggregated across audits of one tool (Lambeth's picture of practice skills in a
 * service): for each scored item its count, mean, range and distribution, and all items
 * together. Items that do not apply to a child, are unanswered or are N/A are left out.
 */
export function aggregateScores(
  tool: AuditTool,
  audits: readonly { answers: Answers; child?: ChildFacts | null }[],
  scaleId?: string,
): { items: ItemAggregate[]; all: Omit<ScoreSummary, 'distribution'> } {
  const items = scoredItems(tool, scaleId);
  const given = new Map<string, unknown[]>(items.map((item) => [item.key, []]));
  for (const audit of audits) {
    for (const item of items) {
      if (answerApplies(tool, item.key, audit.answers, audit.child)) given.get(item.key)!.push(audit.answers[item.key]);
    }
  }
  const aggregates = items.map((item) => ({ key: item.key, label: item.label, ...summariseScores(item.scale, given.get(item.key)!) }));
  const scores = items.flatMap((item) => given.get(item.key)!.map((value) => scoreOf(item.scale, value)).filter((s): s is number => s !== undefined));
  return {
    items: aggregates,
    all: {
      count: scores.length,
      excluded: aggregates.reduce((sum, item) => sum + item.excluded, 0),
      mean: scores.length === 0 ? null : scores.reduce((sum, score) => sum + score, 0) / scores.length,
      min: scores.length === 0 ? null : Math.min(...scores),
      max: scores.length === 0 ? null : Math.max(...scores),
    },
  };
}

function scaleOfAnswer(tool: AuditTool, key: string): Scale | undefined {
  for (const section of tool.sections) {
    const answer = section.answers.find((a) => a.key === key);
    if (answer) return answer.kind === 'judgement' ? scaleOf(tool, answer.scale) : undefined;
  }
  const header = tool.header.find((a) => a.key === key);
  return header?.kind === 'judgement' ? scaleOf(tool, header.scale) : undefined;
}

/**
 * Scales: the named answer lists a judgement or choice is made on (Ofsted four-point,
 * Telford 1–5, Lambeth practice skills, Yes/No…). A scale is defined once and referred to by
 * id; its options carry stable values, which answers, rules and reports join on.
 *
 * Order is what makes a scale a grading scale: options are listed best first (or worst first
 * with `order: worst-first`), options marked `excludeFromScore` (N/A) stand outside the order,
 * and a scale with `order: none` (Yes/No) has no "better than" at all.
 */
import type { Grade } from '../../db/types.ts';

export const OFSTED_GRADES: readonly Grade[] = ['outstanding', 'good', 'requires_improvement', 'inadequate'];

export const SCALE_ORDERS = ['best-first', 'worst-first', 'none'] as const;
export type ScaleOrder = (typeof SCALE_ORDERS)[number];

export type ScaleOption = {
  value: string;
  label: string;
  code?: string | undefined;
  hint?: string | undefined;
  score?: number | undefined;
  ofsted?: Grade | undefined;
  excludeFromScore?: boolean | undefined;
};

export type Scale = {
  id: string;
  label: string;
  order: ScaleOrder;
  options: ScaleOption[];
};

const ofsted: Scale = {
  id: 'ofsted',
  label: 'Ofsted judgement',
  order: 'best-first',
  options: [
    { value: 'outstanding', label: 'Outstanding', code: 'O', ofsted: 'outstanding' },
    { value: 'good', label: 'Good', code: 'G', ofsted: 'good' },
    { value: 'requires_improvement', label: 'Requires improvement', code: 'RI', ofsted: 'requires_improvement' },
    { value: 'inadequate', label: 'Inadequate', code: 'I', ofsted: 'inadequate' },
  ],
};

/**
 * Scales every tool may use by id without declaring them. A tool that uses one gets a copy
 * in its parsed definition, so a stored edition never changes when this list does.
 */
export const STANDARD_SCALES: readonly Scale[] = [
  ofsted,
  {
    id: 'telford_quality',
    label: 'Quality of case file measure',
    order: 'best-first',
    options: [
      { value: '1', label: 'Exceeds good', code: '1', score: 1, ofsted: 'outstanding' },
      { value: '2', label: 'Good', code: '2', score: 2, ofsted: 'good' },
      { value: '3', label: 'Requires improvement', code: '3', score: 3, ofsted: 'requires_improvement' },
      { value: '4', label: 'Inadequate', code: '4', score: 4, ofsted: 'inadequate' },
      { value: '5', label: 'N/A', code: '5', excludeFromScore: true },
    ],
  },
  {
    id: 'practice_skills',
    label: 'Practice skills (1 to 5)',
    order: 'worst-first',
    options: [1, 2, 3, 4, 5].map((n) => ({ value: String(n), label: String(n), score: n })),
  },
  {
    id: 'yes_no',
    label: 'Yes or no',
    order: 'none',
    options: [
      { value: 'yes', label: 'Yes' },
      { value: 'no', label: 'No' },
    ],
  },
  {
    id: 'yes_no_na',
    label: 'Yes, no or not applicable',
    order: 'none',
    options: [
      { value: 'yes', label: 'Yes' },
      { value: 'no', label: 'No' },
      { value: 'na', label: 'N/A', excludeFromScore: true },
    ],
  },
  {
    id: 'yes_no_partially',
    label: 'Yes, partially or no',
    order: 'best-first',
    options: [
      { value: 'yes', label: 'Yes' },
      { value: 'partially', label: 'Partially' },
      { value: 'no', label: 'No' },
    ],
  },
  {
    id: 'yes_no_partially_na',
    label: 'Yes, partially, no or not applicable',
    order: 'best-first',
    options: [
      { value: 'yes', label: 'Yes' },
      { value: 'partially', label: 'Partially' },
      { value: 'no', label: 'No' },
      { value: 'na', label: 'N/A', excludeFromScore: true },
    ],
  },
  {
    id: 'file_recording',
    label: 'File recording quality',
    order: 'best-first',
    options: [
      { value: 'good', label: 'Good' },
      { value: 'requires_update', label: 'Requires update' },
      { value: 'incomplete', label: 'Incomplete' },
    ],
  },
];

export function standardScale(id: string): Scale | undefined {
  return STANDARD_SCALES.find((scale) => scale.id === id);
}

/** The graded options, best first: N/A and the like are left out. */
export function gradedOptions(scale: Scale): ScaleOption[] {
  if (scale.order === 'none') return [];
  const graded = scale.options.filter((option) => !option.excludeFromScore);
  return scale.order === 'best-first' ? graded : [...graded].reverse();
}

/** Ranks of the graded options: a higher rank is a better grade. */
export function ranksOf(scale: Scale): Record<string, number> {
  const graded = gradedOptions(scale);
  // No prototype: an answer stored as "constructor" or "toString" must find no rank, not Object's.
  const ranks: Record<string, number> = Object.create(null) as Record<string, number>;
  graded.forEach((option, index) => (ranks[option.value] = graded.length - 1 - index));
  return ranks;
}

export function rankOf(scale: Scale, value: string): number | undefined {
  return ranksOf(scale)[value];
}

/** True when `a` is a strictly better grade than `b`; false when either is ungraded. */
export function isBetterThan(scale: Scale, a: string, b: string): boolean {
  const ra = rankOf(scale, a);
  const rb = rankOf(scale, b);
  return ra !== undefined && rb !== undefined && ra > rb;
}

/** The grade no better than `atBest`: Good capped at Requires improvement is Requires improvement. */
export function capGrade(scale: Scale, grade: string, atBest: string): string {
  return isBetterThan(scale, grade, atBest) ? atBest : grade;
}

/** The worst graded value among `values` (ungraded ones ignored), or undefined if none is graded. */
export function worstOf(scale: Scale, values: readonly string[]): string | undefined {
  const ranks = ranksOf(scale);
  let worst: string | undefined;
  for (const value of values) {
    const rank = ranks[value];
    if (rank !== undefined && (worst === undefined || rank < ranks[worst]!)) worst = value;
  }
  return worst;
}

export function optionLabel(scale: Scale, value: string): string {
  return scale.options.find((option) => option.value === value)?.label ?? value;
}

/**
 * Which children a tool is for, from its `appliesTo` (a council's CIN/CP tool, its children in
 * care and care leavers tool). Allocation uses it to preselect a tool that fits the child and to
 * warn before one that does not; the allocator may still choose any tool.
 */
import type { LegalStatus } from '../../db/types.ts';
import { LEGAL_STATUS_LABELS } from '../children/annex-a.ts';
import type { ChildFacts } from './expression.ts';
import type { AppliesTo } from './schema.ts';

/**
 * Whether the tool is for this child. A tool without appliesTo is for every child. An age limit
 * is not held against a child whose date of birth the register does not give: Assure cannot say
 * the tool is wrong for them.
 */
export function toolAppliesToChild(appliesTo: AppliesTo | null | undefined, child: ChildFacts): boolean {
  if (!appliesTo) return true;
  if (appliesTo.legalStatuses && !appliesTo.legalStatuses.includes(child.legalStatus as LegalStatus)) return false;
  const age = child.ageInYears;
  if (age === null || age === undefined) return true;
  if (appliesTo.minimumAge !== undefined && age < appliesTo.minimumAge) return false;
  if (appliesTo.maximumAge !== undefined && age > appliesTo.maximumAge) return false;
  return true;
}

/** "Child in Care and Care Leaver, aged 16 to 25": the children a tool is for, in words. */
export function appliesToWords(appliesTo: AppliesTo | null | undefined): string {
  if (!appliesTo) return 'every child';
  const statuses = appliesTo.legalStatuses?.map((status) => LEGAL_STATUS_LABELS[status]);
  const who = statuses ? statuses.reduce((out, label, i) => (i === 0 ? label : `${out}${i === statuses.length - 1 ? ' and ' : ', '}${label}`), '') : 'children';
  const { minimumAge: min, maximumAge: max } = appliesTo;
  const ages = min !== undefined && max !== undefined ? `aged ${min} to ${max}` : min !== undefined ? `aged ${min} or over` : max !== undefined ? `aged ${max} or under` : '';
  return [who, ages].filter(Boolean).join(', ');
}

/** Whole years from a date of birth to a day (both YYYY-MM-DD): a child's age as appliesTo reads it. */
export function ageInYearsOn(dateOfBirth: string, day: string): number {
  const [by, bm, bd] = dateOfBirth.split('-').map(Number) as [number, number, number];
  const [ty, tm, td] = day.split('-').map(Number) as [number, number, number];
  return ty - by - (tm < bm || (tm === bm && td < bd) ? 1 : 0);
}

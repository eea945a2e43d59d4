import { auditorColumns, DETAILS_PAGE, findSection, moderatorSections, pageQuestions, sectionQuestions, type Question } from '../../src/modules/audits/form/answers.ts';
import { addDays } from '../../src/platform/working-days.ts';
import type { AuditTool } from '../../src/modules/tools/schema.ts';

/**
 * A valid answer for every question of an audit-form page, as the form posts it: Good (or the
 * scale's first grade), the first option, "yes", a line of text, a staff member, a date that
 * suits the question. Used by the form's tests and its benchmark.
 */

export type Fields = Record<string, string | string[]>;

/** A GOV.UK date input's three fields. */
export function dateFields(name: string, iso: string): Fields {
  const [year, month, day] = iso.split('-');
  return { [`${name}-day`]: String(Number(day)), [`${name}-month`]: String(Number(month)), [`${name}-year`]: year! };
}

type Spec = { kind: string; allow?: string; min?: number; maxLength?: number; options?: { value: string }[]; scale?: string };

export function completePage(tool: AuditTool, page: string, context: { staffId: string; today: string }): Fields {
  const section = page === DETAILS_PAGE ? undefined : findSection(tool, page);
  const fields = completeQuestions(tool, pageQuestions(tool, page), context);
  for (const respondent of section?.feedback?.respondents ?? []) {
    fields[`${respondent.key}-obtained`] = respondent.type === 'parent_carer' ? 'yes' : 'no';
    if (respondent.askResidence) fields[`${respondent.key}-resident`] = 'yes';
    if (respondent.type === 'parent_carer') {
      Object.assign(fields, completeQuestions(tool, [...section!.feedback!.questions, ...(respondent.questions ?? [])].map((spec) => ({ spec, section: section!.key })), context, `${respondent.key}-`));
    } else fields[`${respondent.key}-reason-other`] = 'Did not want to take part';
  }
  return fields;
}

/**
 * A valid answer to every question of the tool's part for the moderator (its moderation
 * section, Lambeth's second line actions), as the moderation page posts them; a grade of the
 * moderator's that speaks to the overall grade is `overall` when given, and a question saying
 * whether they kept or changed the overall grade (`yesMeans`) says they kept it unless
 * `overallChanged`.
 */
export function completeModeratorsPart(tool: AuditTool, context: { staffId: string; today: string; overall?: string; overallChanged?: boolean }): Fields {
  const questions = moderatorSections(tool).flatMap((section) => sectionQuestions(section, 'moderator'));
  const fields = completeQuestions(tool, questions, context, '', 'moderator');
  for (const { spec } of questions) {
    if (context.overall && spec.kind === 'judgement' && spec.domain === 'overall') fields[spec.key] = context.overall;
    if (spec.kind === 'yesno' && spec.yesMeans) fields[spec.key] = Boolean(context.overallChanged) === (spec.yesMeans === 'overallGradeChanged') ? 'yes' : 'no';
  }
  return fields;
}

function completeQuestions(tool: AuditTool, questions: Question[], context: { staffId: string; today: string }, prefix = '', person: 'auditor' | 'moderator' = 'auditor'): Fields {
  const fields: Fields = {};
  const optionsOf = (spec: Spec) => spec.options ?? tool.scales.find((scale) => scale.id === spec.scale)?.options ?? [];
  const answer = (spec: Spec, name: string) => {
    switch (spec.kind) {
      case 'judgement': {
        // Good where the scale has it, else its first grade (Telford's and Lambeth's scales are numbered).
        const grades = optionsOf(spec);
        fields[name] = grades.some((option) => option.value === 'good') ? 'good' : grades[0]!.value;
        break;
      }
      case 'single':
        fields[name] = optionsOf(spec)[0]!.value;
        break;
      case 'multiple':
        fields[name] = [optionsOf(spec)[0]!.value];
        break;
      case 'yesno':
        fields[name] = 'yes';
        break;
      case 'text':
        fields[name] = `Notes for ${name}`.slice(0, spec.maxLength);
        break;
      case 'number':
        fields[name] = String(Math.max(spec.min ?? 1, 1));
        break;
      case 'scaling':
        fields[name] = '7';
        break;
      case 'staff':
        fields[name] = context.staffId;
        break;
      case 'date':
        Object.assign(fields, dateFields(name, addDays(context.today, spec.allow === 'future' ? 30 : spec.allow === 'past' ? -3 : 0)));
        break;
      case 'datetime':
        Object.assign(fields, dateFields(name, addDays(context.today, spec.allow === 'future' ? 30 : spec.allow === 'past' ? -3 : 0)), { [`${name}-time`]: '14:30' });
        break;
    }
  };
  for (const { spec } of questions) {
    if (spec.kind === 'repeating') for (const column of auditorColumns(spec, person)) answer(column, `${prefix}${spec.key}-0-${column.key}`);
    else answer(spec, `${prefix}${spec.key}`);
  }
  return fields;
}

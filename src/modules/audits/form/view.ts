/**
 * What the form's pages show, built from the tool and the field values: one model per field,
 * ready for the GOV.UK components, so the templates stay plain. Values are what the person
 * typed or what was saved; the templates escape them.
 */
import type { FieldError } from '../../../platform/errors.ts';
import type { ChildFacts } from '../../tools/expression.ts';
import { descriptorForChild, scaleOf } from '../../tools/judgements.ts';
import type { Answer, CompletedBy, Descriptors, Section, SimpleAnswer } from '../../tools/schema.ts';
import { answerText, auditorColumns, DETAILS_PAGE, feedbackOf, fieldId, findSection, optionsOf, pageQuestions, respondentQuestions, rowCount, type Question } from './answers.ts';
import { judgementName, respondentAsked, type AuditForm } from './form.ts';

type Values = Record<string, unknown>;

export type FieldModel = {
  kind: string;
  name: string;
  id: string;
  label: string;
  hint?: string | undefined;
  error?: { text: string } | undefined;
  items?: { value: string; text: string; hint?: { text: string } | undefined; checked: boolean }[];
  value?: string;
  day?: string;
  month?: string;
  year?: string;
  /** A date and time's time of day, as typed. */
  time?: string;
  rows?: number;
  unit?: string | undefined;
  descriptors?: { label: string; text?: string; points?: string[] }[];
  descriptorsTitle?: string;
  limit?: string | undefined;
  staffItems?: { value: string; text: string; selected: boolean }[];
  table?: { itemName: string; rows: { number: number; cells: FieldModel[] }[] };
  /** A question whose condition reads an answer on its own page, and whether it is asked now. */
  live?: { asked: boolean };
};

const text = (values: Values, name: string) => {
  const value = values[name];
  return typeof value === 'string' ? value : Array.isArray(value) ? String(value[value.length - 1] ?? '') : '';
};
const list = (values: Values, name: string) => {
  const value = values[name];
  return Array.isArray(value) ? value.map(String) : typeof value === 'string' && value ? [value] : [];
};

function labelOf(spec: { label: string; required?: boolean }) {
  return spec.required ? spec.label : `${spec.label} (optional)`;
}

/** What a field needs of the form: its tool, the staff to choose from, and the child (for descriptors that depend on them). */
export type FieldForm = Pick<AuditForm, 'tool' | 'staffOptions'> & { child?: ChildFacts | null | undefined };

function descriptorRows(form: FieldForm, spec: Extract<Answer, { kind: 'judgement' }>, section: Section | undefined) {
  const descriptors: Descriptors = spec.descriptors ?? section?.descriptors ?? {};
  const scale = scaleOf(form.tool, spec.scale);
  return (scale?.options ?? []).flatMap((option) => {
    const descriptor = descriptorForChild(descriptors[option.value], form.child);
    if (!descriptor) return [];
    return [typeof descriptor === 'string' ? { label: option.label, text: descriptor } : { label: option.label, points: descriptor }];
  });
}

/** One field of any simple kind, or a judgement, named `name`. */
export function fieldModel(form: FieldForm, spec: Answer | SimpleAnswer, name: string, values: Values, errors: FieldError[], extra: { section?: Section; limit?: string } = {}): FieldModel {
  const id = fieldId(spec, name);
  const error = errors.find((candidate) => candidate.field === id || candidate.field === name);
  const model: FieldModel = { kind: spec.kind, name, id: name, label: labelOf(spec), hint: spec.hint, error: error ? { text: error.message } : undefined };
  switch (spec.kind) {
    case 'judgement':
    case 'single':
    case 'yesno':
    case 'multiple': {
      const chosen = list(values, name);
      model.items = optionsOf(form.tool, spec).map((option) => ({
        value: option.value,
        text: option.code && option.code !== option.label ? `${option.label} (${option.code})` : option.label,
        hint: option.hint ? { text: option.hint } : undefined,
        checked: chosen.includes(option.value),
      }));
      if (spec.kind === 'judgement') {
        model.descriptors = descriptorRows(form, spec, extra.section);
        model.descriptorsTitle = `Grade descriptors: ${judgementName(extra.section, spec)}`;
        model.limit = extra.limit;
      }
      break;
    }
    case 'scaling': {
      const chosen = text(values, name);
      model.items = [];
      for (let score = spec.min; score <= spec.max; score += 1) model.items.push({ value: String(score), text: String(score), checked: chosen === String(score) });
      const ends = spec.minLabel || spec.maxLabel ? `${spec.min}: ${spec.minLabel ?? 'lowest'}. ${spec.max}: ${spec.maxLabel ?? 'highest'}.` : undefined;
      model.hint = [spec.hint, ends].filter(Boolean).join(' ') || undefined;
      break;
    }
    case 'date':
      model.day = text(values, `${name}-day`);
      model.month = text(values, `${name}-month`);
      model.year = text(values, `${name}-year`);
      model.hint = [spec.hint, 'For example, 27 3 2027'].filter(Boolean).join('. ');
      break;
    case 'datetime':
      model.day = text(values, `${name}-day`);
      model.month = text(values, `${name}-month`);
      model.year = text(values, `${name}-year`);
      model.time = text(values, `${name}-time`);
      model.hint = [spec.hint, 'For example, 27 3 2027 and 14:30'].filter(Boolean).join('. ');
      break;
    case 'staff': {
      const chosen = text(values, name);
      model.staffItems = [{ value: '', text: 'Choose a member of staff', selected: chosen === '' }, ...form.staffOptions.map((option) => ({ ...option, selected: option.value === chosen }))];
      // A value that is not on the list (typed into a crafted form) is shown, so the error makes sense.
      if (chosen && !form.staffOptions.some((option) => option.value === chosen)) model.staffItems.push({ value: chosen, text: chosen, selected: true });
      break;
    }
    case 'number':
      model.value = text(values, name);
      model.unit = spec.unit;
      break;
    case 'text':
      model.value = text(values, name);
      model.rows = spec.rows ?? 3;
      break;
    default:
      break;
  }
  return model;
}

export function repeatingModel(form: FieldForm, spec: Extract<Answer, { kind: 'repeating' }>, values: Values, errors: FieldError[], addRows: number, person: CompletedBy = 'auditor'): FieldModel {
  const count = rowCount(spec, values, addRows);
  const rows = Array.from({ length: count }, (_, index) => ({
    number: index + 1,
    cells: auditorColumns(spec, person).map((column) => fieldModel(form, column, `${spec.key}-${index}-${column.key}`, values, errors)),
  }));
  const first = errors.find((error) => error.field.startsWith(`${spec.key}-`));
  return { kind: 'repeating', name: spec.key, id: spec.key, label: labelOf(spec), hint: spec.hint, error: first ? { text: first.message } : undefined, table: { itemName: spec.itemName ?? 'row', rows } };
}

export type RespondentModel = {
  key: string;
  label: string;
  asked: boolean;
  /** Why a respondent is not asked for this child, in words. */
  notAsked?: string;
  ageRule?: string | undefined;
  /** Whether feedback was obtained, as chosen: only that branch is shown without JavaScript. */
  chosen: string;
  /** A branch not chosen that still holds a refused answer stays in view so it can be put right. */
  keepBoth: boolean;
  obtained: FieldModel;
  resident?: FieldModel;
  reason?: FieldModel;
  reasonOther: FieldModel;
  questions: FieldModel[];
};

function feedbackModels(form: AuditForm, section: Section, values: Values, errors: FieldError[], saved: Record<string, unknown>): RespondentModel[] {
  const feedback = section.feedback!;
  const yesNo = (key: string, label: string): SimpleAnswer => ({ kind: 'yesno', key, label, required: true });
  return feedback.respondents.map((respondent) => {
    const prefix = respondent.key;
    const reasons = feedback.notObtained?.options ?? [];
    const asked = respondentAsked(form, respondent, saved);
    const age = form.child.ageInYears;
    const tooYoung = respondent.minimumAge !== undefined && age !== null && age !== undefined && age < respondent.minimumAge;
    const chosen = text(values, `${prefix}-obtained`);
    const obtainedError = errors.some((error) => error.field === `${prefix}-obtained`);
    const model: RespondentModel = {
      key: prefix,
      label: respondent.label,
      asked,
      ...(asked ? {} : { notAsked: tooYoung ? `Not asked for this child, who is ${age} (feedback is sought from age ${respondent.minimumAge}).` : 'Not asked for this child.' }),
      chosen: chosen === 'yes' || chosen === 'no' ? chosen : '',
      keepBoth: obtainedError,
      ageRule: respondent.ageRule ?? (respondent.minimumAge !== undefined ? `Aged ${respondent.minimumAge} or over` : undefined),
      obtained: fieldModel(form, yesNo('obtained', `Was feedback obtained from ${respondent.label}?`), `${prefix}-obtained`, values, errors),
      reasonOther: fieldModel(
        form,
        { kind: 'text', key: 'reason_other', label: reasons.length ? (feedback.notObtained?.allowOther ? 'Other reason' : 'More about why') : 'Feedback not obtained because', required: false, rows: 2 },
        `${prefix}-reason-other`,
        values,
        errors,
      ),
      questions: respondentQuestions(section, respondent).map((question) => fieldModel(form, question, `${prefix}-${question.key}`, values, errors)),
    };
    model.reasonOther.label = model.reasonOther.label.replace(/ \(optional\)$/, '');
    if (respondent.askResidence) model.resident = fieldModel(form, yesNo('resident', `Is ${respondent.label} resident with the child?`), `${prefix}-resident`, values, errors);
    if (reasons.length) {
      model.reason = fieldModel(form, { kind: 'single', key: 'reason', label: feedback.notObtained!.label, options: reasons, required: false }, `${prefix}-reason`, values, errors);
      model.reason.label = feedback.notObtained!.label;
    }
    return model;
  });
}

/** The models of a page's fields, in order, with evidence boxes after their judgement. */
export function pageModel(
  form: AuditForm,
  page: string,
  values: Values,
  errors: FieldError[],
  options: { saved: Record<string, unknown>; limits: Record<string, string>; asked: ReadonlyMap<string, { asked: boolean; live: boolean }>; addRows: number },
) {
  const section = page === DETAILS_PAGE ? undefined : findSection(form.tool, page);
  // A question not asked for these answers is left off, unless an answer on this page can still bring it in.
  const shown = pageQuestions(form.tool, page).filter(({ spec }) => {
    const state = options.asked.get(spec.key);
    return !state || state.asked || state.live;
  });
  const fields = shown.map(({ spec }: Question) => {
    const model =
      spec.kind === 'repeating'
        ? repeatingModel(form, spec, values, errors, options.addRows)
        : fieldModel(form, spec, spec.key, values, errors, { ...(section ? { section } : {}), ...(options.limits[spec.key] ? { limit: options.limits[spec.key]! } : {}) });
    const state = options.asked.get(spec.key);
    // A question with a problem to put right stays in view.
    if (state?.live) model.live = { asked: state.asked || model.error !== undefined };
    return model;
  });
  return {
    section,
    title: section ? section.title : 'Audit details',
    guidance: section ? section.guidance : undefined,
    prompts: section?.prompts ?? [],
    statements: (section?.criteria ?? []).flatMap((criterion): { text?: string; heading?: string }[] =>
      typeof criterion === 'string' ? [{ text: criterion }] : 'heading' in criterion ? [{ heading: criterion.heading }] : criterion.key && (criterion.scale ?? section?.criteriaScale) ? [] : [{ text: criterion.text }],
    ),
    fields,
    respondents: section?.feedback ? feedbackModels(form, section, values, errors, options.saved) : [],
    hasRows: fields.some((field) => field.kind === 'repeating'),
  };
}

/** A page's answers in words, for check-your-answers and for the newer version beside a stale save. */
export function pageSummary(form: AuditForm, page: string, answers: Record<string, unknown>): { label: string; text: string }[] {
  const section = page === DETAILS_PAGE ? undefined : findSection(form.tool, page);
  const rows = pageQuestions(form.tool, page).map(({ spec }) => ({
    label: spec.kind === 'judgement' ? judgementName(section, spec) : spec.label,
    text: answerText(spec, answers[spec.key], form.context) || 'Not answered',
  }));
  if (section?.feedback) {
    const respondents = feedbackOf(answers, section.key);
    for (const respondent of section.feedback.respondents) {
      const entry = respondents[respondent.key];
      if (!entry) continue;
      const reason = entry.notObtainedReason ? (section.feedback.notObtained?.options.find((option) => option.value === entry.notObtainedReason)?.label ?? entry.notObtainedReason) : undefined;
      const parts = [
        `Feedback obtained: ${entry.obtained === 'yes' ? 'Yes' : entry.obtained === 'no' ? 'No' : 'Not answered'}`,
        entry.resident ? `Resident: ${entry.resident === 'yes' ? 'Yes' : 'No'}` : '',
        reason || entry.notObtainedOther ? `Not obtained because: ${[reason, entry.notObtainedOther].filter(Boolean).join('. ')}` : '',
        ...respondentQuestions(section, respondent).map((question) => {
          const answer = answerText(question, entry.answers?.[question.key], form.context);
          return answer ? `${question.label}: ${answer}` : '';
        }),
      ].filter(Boolean);
      rows.push({ label: respondent.label, text: parts.join('\n') });
    }
  }
  return rows;
}

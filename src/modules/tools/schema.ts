/**
 * The audit-tool file format: one YAML file per tool edition, described here as a zod schema.
 *
 * The schema checks the SHAPE of a file (fields, kinds, types). What needs the whole file to
 * decide (scale references, unique keys, expressions, rules) is checked in tool-file.ts, which
 * reports every problem with its path. audit-tools/README.md documents each field for the
 * people who write the files; keep the two in step.
 */
import { z } from 'zod';
import type { Grade, LegalStatus } from '../../db/types.ts';
import { OFSTED_GRADES, SCALE_ORDERS, type Scale } from './scales.ts';

/**
 * The format's version. Version 2 changed one meaning: a tool says what its grades set off
 * (`escalation`), and a version-2 tool that says nothing sets off nothing, where a version-1
 * file was read as Bristol's process (see tools/escalation.ts). A version-2 tool's re-audit
 * section is asked in the re-audit. Version-1 files still load and read as they always did.
 */
export const SCHEMA_VERSION = 2;
export const SCHEMA_VERSIONS = [1, 2] as const;

export const LEGAL_STATUSES: readonly LegalStatus[] = ['early_help', 'cin', 'cp', 'plo', 'child_in_care', 'care_leaver'];

export const ANSWER_KINDS = ['judgement', 'single', 'multiple', 'yesno', 'text', 'number', 'date', 'datetime', 'scaling', 'staff', 'repeating'] as const;
export type AnswerKind = (typeof ANSWER_KINDS)[number];

/** Kinds a repeating row's column, or a question put to each feedback respondent, may have. */
export const SIMPLE_ANSWER_KINDS = ['single', 'multiple', 'yesno', 'text', 'number', 'date', 'datetime', 'scaling', 'staff'] as const;

export const SECTION_KINDS = ['standard', 'serviceUserFeedback', 'actionPlan', 'moderation', 'practitionerFeedback', 'reAudit'] as const;
export type SectionKind = (typeof SECTION_KINDS)[number];

/** Who fills an answer in. A section's kind gives the default (see defaultCompletedBy). */
export const COMPLETED_BY = ['auditor', 'practitioner', 'moderator', 'line_manager', 'qa_coordinator'] as const;
export type CompletedBy = (typeof COMPLETED_BY)[number];

export const RESPONDENT_TYPES = ['parent_carer', 'child', 'foster_carer', 'other'] as const;

/**
 * Where a header answer may be filled from, and which answer kinds can take each source.
 * The list is fixed: a tool file cannot reach any other data.
 */
export const PREFILL_SOURCES = {
  'child.externalId': ['text'],
  'child.initials': ['text'],
  'child.dateOfBirth': ['date', 'text'],
  'child.ageInYears': ['number', 'text'],
  'child.legalStatus': ['single', 'multiple', 'text'],
  'child.referralFactors': ['multiple', 'text'],
  'child.allocatedWorker': ['staff', 'text'],
  'child.allocatedTeam': ['text'],
  'child.openDate': ['date', 'text'],
  'audit.reference': ['text', 'number'],
  'audit.auditor': ['staff', 'text'],
  'audit.caseHolder': ['staff', 'text'],
  'audit.caseHolderManager': ['staff', 'text'],
  'audit.moderator': ['staff', 'text'],
  'audit.team': ['text'],
  'audit.service': ['text'],
  'audit.locality': ['text'],
  'audit.allocatedOn': ['date', 'text'],
  'audit.today': ['date'],
} as const satisfies Record<string, readonly AnswerKind[]>;
export type PrefillSource = keyof typeof PREFILL_SOURCES;

const KEY_PATTERN = /^[a-z][a-z0-9_]*$/;

const key = z.string().regex(KEY_PATTERN, 'use lower-case letters, digits and underscores, starting with a letter (for example child_plan)');
const text = z.string().trim().min(1, 'must not be empty');
/** Option values are stable ids; YAML may write 1 for "1". */
const optionValue = z
  .union([z.string(), z.number()])
  .transform(String)
  .pipe(z.string().regex(/^[a-z0-9][a-z0-9_]*$/, 'use lower-case letters, digits and underscores (for example requires_improvement or 2)'));
/** An expression in the rule language (checked in tool-file.ts against the whole tool). */
const expression = text.max(2000, 'must be at most 2000 characters');
const grade = z.enum(OFSTED_GRADES as [Grade, ...Grade[]]);

export const scaleOptionSchema = z.strictObject({
  value: optionValue,
  label: text,
  code: text.optional(),
  hint: text.optional(),
  score: z.number().optional(),
  ofsted: grade.optional(),
  excludeFromScore: z.boolean().optional(),
});

export const scaleSchema = z.strictObject({
  id: key,
  label: text.optional(),
  order: z.enum(SCALE_ORDERS).optional(),
  options: z.array(scaleOptionSchema).min(2, 'a scale needs at least 2 options').optional(),
  /** A standard scale this one copies; `labels` and `codes` then change its wording. */
  extends: key.optional(),
  labels: z.record(z.string(), text).optional(),
  codes: z.record(z.string(), text).optional(),
  /** A line of help under an option of the standard scale, keyed by its value. */
  hints: z.record(z.string(), text).optional(),
});

const choiceOption = z.strictObject({ value: optionValue, label: text, hint: text.optional() });

/**
 * A paragraph of a grade descriptor: text, or text shown only for some children (a care-leaver-
 * only sentence). Its condition reads the child's facts only, never answers: a descriptor is the
 * benchmark the grade is given against, so it must not move while the auditor answers.
 */
export const descriptorParagraphSchema = z.union([text, z.strictObject({ text, appliesWhen: expression })]);

/** Grade descriptors keyed by scale value: one paragraph, or a list of points. */
export const descriptorsSchema = z.record(z.string(), z.union([descriptorParagraphSchema, z.array(descriptorParagraphSchema).min(1)]));

const answerBase = {
  key,
  label: text,
  hint: text.optional(),
  required: z.boolean().default(false),
  appliesWhen: expression.optional(),
  completedBy: z.enum(COMPLETED_BY).optional(),
  prefill: z.enum(Object.keys(PREFILL_SOURCES) as [PrefillSource, ...PrefillSource[]]).optional(),
};

const evidenceSchema = z.strictObject({
  key,
  label: text,
  hint: text.optional(),
  required: z.boolean().default(false),
  rows: z.number().int().min(1).max(30).optional(),
});

const singleAnswer = z.strictObject({ ...answerBase, kind: z.literal('single'), options: z.array(choiceOption).min(2).optional(), scale: key.optional() });
const multipleAnswer = z.strictObject({ ...answerBase, kind: z.literal('multiple'), options: z.array(choiceOption).min(1).optional(), scale: key.optional() });
/**
 * What a moderator's Yes says of the overall grade they give on the moderation page: that they
 * kept the auditor's (Lambeth's "Do you agree with the grading") or changed it (Bolton's "Did you
 * change the audit grading"). The page refuses an answer the grade contradicts.
 */
export const YES_MEANS = ['overallGradeKept', 'overallGradeChanged'] as const;
export type YesMeans = (typeof YES_MEANS)[number];
const yesnoAnswer = z.strictObject({ ...answerBase, kind: z.literal('yesno'), yesMeans: z.enum(YES_MEANS).optional() });
const textAnswer = z.strictObject({ ...answerBase, kind: z.literal('text'), rows: z.number().int().min(1).max(30).optional(), maxLength: z.number().int().min(1).optional() });
const numberAnswer = z.strictObject({
  ...answerBase,
  kind: z.literal('number'),
  min: z.number().optional(),
  max: z.number().optional(),
  integer: z.boolean().optional(),
  unit: text.optional(),
});
const dateAnswer = z.strictObject({ ...answerBase, kind: z.literal('date'), allow: z.enum(['any', 'past', 'future']).optional() });
/**
 * A date and a time of day (Bolton's "Date / time of feedback meeting"): stored as UK wall-clock
 * time, 'YYYY-MM-DDTHH:MM'. `allow` reads the date part, as for a date.
 */
const datetimeAnswer = z.strictObject({ ...answerBase, kind: z.literal('datetime'), allow: z.enum(['any', 'past', 'future']).optional() });
const scalingAnswer = z.strictObject({
  ...answerBase,
  kind: z.literal('scaling'),
  min: z.number().int().default(0),
  max: z.number().int().default(10),
  minLabel: text.optional(),
  maxLabel: text.optional(),
});
const staffAnswer = z.strictObject({ ...answerBase, kind: z.literal('staff') });

const simpleAnswerOptions = [singleAnswer, multipleAnswer, yesnoAnswer, textAnswer, numberAnswer, dateAnswer, datetimeAnswer, scalingAnswer, staffAnswer] as const;
export const simpleAnswerSchema = z.discriminatedUnion('kind', [...simpleAnswerOptions]);

/**
 * The practice domains a judgement may speak to: one fixed vocabulary across every tool, so that
 * reports compare like with like across tools and editions (see tools/domains.ts). Drawn from the
 * five councils' forms; audit-tools/README.md says which of their sections each one covers.
 */
export const PRACTICE_DOMAINS = {
  lived_experience_and_voice: "Child's lived experience and voice",
  assessment: 'Assessment',
  planning_and_review: 'Planning and review',
  direct_work_and_intervention: 'Direct work and intervention',
  risk_and_safety: 'Risk and safety',
  management_oversight: 'Management oversight and supervision',
  recording: 'Recording',
  timeliness_and_compliance: 'Timeliness and compliance with statutory and local standards',
  multi_agency_working: 'Multi-agency working',
  family_engagement: 'Family engagement',
  identity_and_diversity: 'Identity and diversity',
  specific_circumstances: 'Specific circumstances (children in care, care leavers, high risk, special educational needs)',
  impact_and_progress: 'Impact and progress',
  overall: 'Overall',
} as const;
export type PracticeDomain = keyof typeof PRACTICE_DOMAINS;
const practiceDomain = z.enum(Object.keys(PRACTICE_DOMAINS) as [PracticeDomain, ...PracticeDomain[]]);

const judgementAnswer = z.strictObject({
  ...answerBase,
  kind: z.literal('judgement'),
  scale: key,
  /** The practice domain this judgement speaks to; without it, its section's. */
  domain: practiceDomain.optional(),
  evidence: z.array(evidenceSchema).optional(),
  descriptors: descriptorsSchema.optional(),
});
const repeatingAnswer = z.strictObject({
  ...answerBase,
  kind: z.literal('repeating'),
  columns: z.array(simpleAnswerSchema).min(1, 'a repeating answer needs at least one column'),
  minRows: z.number().int().min(0).optional(),
  maxRows: z.number().int().min(1).optional(),
  itemName: text.optional(),
});

export const answerSchema = z.discriminatedUnion('kind', [judgementAnswer, repeatingAnswer, ...simpleAnswerOptions]);

/** A criterion: a plain statement, a sub-heading, or a statement answered on a scale. */
export const criterionSchema = z.union([
  text,
  z.strictObject({ heading: text }),
  z.strictObject({
    key: key.optional(),
    text,
    hint: text.optional(),
    scale: key.optional(),
    required: z.boolean().optional(),
    appliesWhen: expression.optional(),
    comment: evidenceSchema.optional(),
  }),
]);

export const respondentSchema = z.strictObject({
  key,
  label: text,
  type: z.enum(RESPONDENT_TYPES),
  askResidence: z.boolean().optional(),
  minimumAge: z.number().int().min(0).max(25).optional(),
  ageRule: text.optional(),
  appliesWhen: expression.optional(),
  questions: z.array(simpleAnswerSchema).min(1).optional(),
});

export const feedbackSchema = z.strictObject({
  respondents: z.array(respondentSchema).min(1, 'name at least one respondent'),
  questions: z.array(simpleAnswerSchema).min(1, 'ask at least one question'),
  notObtained: z
    .strictObject({ label: text, options: z.array(choiceOption).min(1), allowOther: z.boolean().optional() })
    .optional(),
});

export const sectionSchema = z.strictObject({
  key,
  title: text,
  kind: z.enum(SECTION_KINDS).default('standard'),
  guidance: text.optional(),
  prompts: z.array(text).optional(),
  criteria: z.array(criterionSchema).optional(),
  criteriaScale: key.optional(),
  criteriaRequired: z.boolean().optional(),
  descriptors: descriptorsSchema.optional(),
  appliesWhen: expression.optional(),
  completedBy: z.enum(COMPLETED_BY).optional(),
  /** The practice domain of the section's judgements and graded criteria that name none of their own. */
  domain: practiceDomain.optional(),
  feedback: feedbackSchema.optional(),
  answers: z.array(answerSchema).default([]),
});

export const ruleSchema = z.strictObject({
  key,
  when: expression,
  limit: z.strictObject({ answer: z.string().min(1), atBest: optionValue }),
  message: text,
});

export const OVERALL_MODES = ['chosen', 'lowest-of-sections'] as const;

export const overallSchema = z.strictObject({
  answer: key,
  mode: z.enum(OVERALL_MODES),
  from: z.array(key).min(1).optional(),
});

/** Who a tool's grades may alert (see audits/escalation). */
export const ALERT_RECIPIENTS = ['service_manager', 'team_manager', 'head_of_service'] as const;
export type AlertRecipient = (typeof ALERT_RECIPIENTS)[number];

/** The grades that may set off an alert: the two below Good. */
export const ALERT_GRADES = ['requires_improvement', 'inadequate'] as const;
export type AlertGrade = (typeof ALERT_GRADES)[number];

export const escalationAlertSchema = z.strictObject({
  /** The overall grades, given at submission or moderation, that set the alert off. */
  grades: z.array(z.enum(ALERT_GRADES)).min(1),
  notify: z.array(z.enum(ALERT_RECIPIENTS)).min(1),
  /** What the form asks of the people alerted, in its words (shown in the alert). */
  instruction: text.optional(),
});

/**
 * What a tool's grades set off: alerts (to whom, at which grade), a re-audit of an audit
 * moderated Inadequate (and when), and the service manager's case direction. `default: bristol`
 * starts from Bristol's process (the service manager alerted on Inadequate, a re-audit at the
 * council's re-audit timescale, a case direction); the other fields then change it. Without this
 * block a version-2 tool sets off nothing (tools/escalation.ts).
 */
export const escalationSchema = z.strictObject({
  default: z.literal('bristol').optional(),
  alerts: z.array(escalationAlertSchema).optional(),
  reAudit: z.union([z.literal(false), z.strictObject({ afterWeeks: z.number().int().min(1).max(104).optional() })]).optional(),
  caseDirection: z.boolean().optional(),
  /** The first format's field: who is alerted when an audit is graded Inadequate. Prefer alerts. */
  inadequateAlerts: z.array(z.enum(ALERT_RECIPIENTS)).min(1).optional(),
});
export type Escalation = z.output<typeof escalationSchema>;

export const gradeGuideSchema = z.strictObject({
  scale: key,
  title: text.optional(),
  domains: z.array(z.strictObject({ key, title: text, descriptors: descriptorsSchema })).min(1),
});

/**
 * Which children a tool is for (a council's CIN/CP tool, its children in care and care leavers
 * tool). Allocation preselects a tool that applies to the child and asks the allocator to confirm
 * one that does not; it never forbids it.
 */
export const appliesToSchema = z.strictObject({
  legalStatuses: z.array(z.enum(LEGAL_STATUSES as [LegalStatus, ...LegalStatus[]])).min(1).optional(),
  minimumAge: z.number().int().min(0).max(25).optional(),
  maximumAge: z.number().int().min(0).max(25).optional(),
});

export const toolFileSchema = z.strictObject({
  schemaVersion: z.literal(SCHEMA_VERSIONS),
  key: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'use lower-case letters, digits, hyphens and underscores (for example bristol-child-case-audit)'),
  name: text,
  edition: z.union([z.string(), z.number()]).transform(String).pipe(text),
  source: text,
  description: text,
  guidance: text.optional(),
  appliesTo: appliesToSchema.optional(),
  scales: z.array(scaleSchema).default([]),
  header: z.array(answerSchema).default([]),
  sections: z.array(sectionSchema).min(1, 'a tool needs at least one section'),
  rules: z.array(ruleSchema).default([]),
  overall: overallSchema.optional(),
  gradeGuide: gradeGuideSchema.optional(),
  /** What the tool's grades set off: alerts, re-audit, case direction (see escalationSchema). */
  escalation: escalationSchema.optional(),
});

export type ToolFile = z.output<typeof toolFileSchema>;
export type Answer = z.output<typeof answerSchema>;
export type SimpleAnswer = z.output<typeof simpleAnswerSchema>;
export type Section = z.output<typeof sectionSchema>;
export type Rule = z.output<typeof ruleSchema>;
export type Criterion = z.output<typeof criterionSchema>;
export type Respondent = z.output<typeof respondentSchema>;
export type Descriptors = z.output<typeof descriptorsSchema>;
export type DescriptorParagraph = z.output<typeof descriptorParagraphSchema>;
export type AppliesTo = z.output<typeof appliesToSchema>;

/**
 * A parsed, checked tool edition. Its scales are resolved: every scale it uses (declared,
 * extended or standard) is here in full, so the definition stands alone once stored.
 */
export type AuditTool = Omit<ToolFile, 'scales'> & { scales: Scale[] };

export function defaultCompletedBy(kind: SectionKind): CompletedBy {
  if (kind === 'moderation') return 'moderator';
  if (kind === 'practitionerFeedback') return 'practitioner';
  return 'auditor';
}

/**
 * The JSON Schema of a tool file, for editors (yaml-language-server) and other tools. It checks
 * shape only; parseToolFile does the whole-tool checks. audit-tools/audit-tool.schema.json is
 * this, committed (a test keeps the two equal). Parts used more than once go in $defs.
 */
export function toolJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(toolFileSchema, { io: 'input', unrepresentable: 'any', reused: 'ref' }) as Record<string, unknown>;
  const { $schema, ...rest } = schema;
  return {
    $schema,
    title: 'Assure audit tool',
    description: `One edition of an audit tool (schemaVersion ${SCHEMA_VERSION}). Check a file with: npm run assure -- validate-tool FILE`,
    ...rest,
  };
}

import { Readable } from 'node:stream';
import { sql } from 'kysely';
import type { Db } from '../../db/index.ts';
import { jsonValue } from '../../db/values.ts';
import type { DataScope } from '../../platform/access.ts';
import type { IsoDate } from '../../platform/working-days.ts';
import { CSV_BOM, csvLine, ukDay, type CsvValue } from '../audits/export.ts';
import { feedbackRespondents, NO_REASON, OTHER_REASON, partShows, reasonOf, type FeedbackRespondent, type RespondentPart } from '../audits/feedback-answers.ts';
import { auditInScope, overdueOn } from '../audits/queries.ts';
import { judgementDomains, NOT_MAPPED } from '../tools/domains.ts';
import { editionDefinition } from '../tools/editions.ts';
import type { ReportPeriod } from './period.ts';

/**
 * The data feed for BI tools (Power BI, Qlik): five flat tables — audits, judgements,
 * practitioner feedback, family feedback and actions — as CSV, each row one thing, each column
 * documented below (the README's column dictionary and the OpenAPI document are written from the
 * same words). A feed holds the audits allocated in the period within the reader's report scope
 * (access.ts `reportScope`: the organisation, or their services and teams alone), and for the
 * other tables the rows of those audits. It is written in batches of audits as it is read, so a
 * year of a large council is never held in memory.
 */
export const FEED_DATASETS = ['audits', 'judgements', 'feedback', 'family_feedback', 'actions'] as const;
export type FeedDataset = (typeof FEED_DATASETS)[number];

type Column<Row> = { name: string; description: string; value: (row: Row) => CsvValue };

const BATCH = 500;

type AuditRow = {
  id: string;
  reference: number;
  child_external_id: string;
  tool_key: string;
  tool_name: string;
  tool_edition: string;
  tool_edition_id: string;
  service_id: string | null;
  service_name: string | null;
  team_id: string | null;
  team_name: string | null;
  auditor_id: string;
  auditor_name: string;
  moderator_id: string | null;
  moderator_name: string | null;
  status: string;
  allocated_on: string;
  stage_due_on: string | null;
  submitted_at: Date | string | null;
  moderated_at: Date | string | null;
  closed_at: Date | string | null;
  auditor_grade: string | null;
  final_grade: string | null;
  re_audit_of: string | null;
  overdue: boolean;
  practitioner_feedback: unknown;
  feedback_at: Date | string | null;
};

const day = (value: Date | string | null) => (value === null ? null : ukDay(value instanceof Date ? value.toISOString() : value));
const dateText = (value: Date | string | null) => (value === null ? null : value instanceof Date ? value.toISOString().slice(0, 10) : String(value).slice(0, 10));
const yesNo = (value: boolean) => (value ? 'yes' : 'no');

export const AUDIT_COLUMNS: Column<AuditRow>[] = [
  { name: 'audit_id', description: 'The audit (a stable identifier that joins the other tables)', value: (a) => a.id },
  { name: 'audit_reference', description: 'The audit number people use', value: (a) => a.reference },
  { name: 'child_id', description: "The child's ID in the case-management system", value: (a) => a.child_external_id },
  { name: 'tool_key', description: 'The audit tool, by its key', value: (a) => a.tool_key },
  { name: 'tool_name', description: 'The audit tool, by its name', value: (a) => a.tool_name },
  { name: 'tool_edition', description: 'The edition of the tool the audit was carried out on', value: (a) => a.tool_edition },
  { name: 'service_id', description: 'The service the audit counts for: the one recorded when it was allocated', value: (a) => a.service_id },
  { name: 'service', description: "That service's name", value: (a) => a.service_name },
  { name: 'team_id', description: 'The team the audit counts for: the one recorded when it was allocated', value: (a) => a.team_id },
  { name: 'team', description: "That team's name", value: (a) => a.team_name },
  { name: 'auditor_id', description: 'The auditor (staff identifier)', value: (a) => a.auditor_id },
  { name: 'auditor', description: "The auditor's name", value: (a) => a.auditor_name },
  { name: 'moderator_id', description: 'The moderator (staff identifier), once chosen', value: (a) => a.moderator_id },
  { name: 'moderator', description: "The moderator's name", value: (a) => a.moderator_name },
  { name: 'status', description: 'allocated, in_progress, in_moderation, returned, moderated, distributed, awaiting_feedback or closed', value: (a) => a.status },
  { name: 'allocated_on', description: 'Day allocated (YYYY-MM-DD)', value: (a) => dateText(a.allocated_on) },
  { name: 'stage_due_on', description: 'Deadline of the stage the audit is in; empty once closed', value: (a) => dateText(a.stage_due_on) },
  { name: 'overdue', description: 'yes when the current stage is past its deadline on the day of the download', value: (a) => yesNo(a.overdue) },
  { name: 'submitted_on', description: 'Day submitted for moderation (UK day)', value: (a) => day(a.submitted_at) },
  { name: 'moderated_on', description: 'Day moderated (UK day): the day a report counts its grade', value: (a) => day(a.moderated_at) },
  { name: 'closed_on', description: 'Day closed (UK day)', value: (a) => day(a.closed_at) },
  { name: 'auditor_grade', description: "The auditor's overall grade: outstanding, good, requires_improvement or inadequate", value: (a) => a.auditor_grade },
  { name: 'final_grade', description: 'The overall grade after moderation', value: (a) => a.final_grade },
  { name: 're_audit_of', description: 'For a re-audit, the audit_id of the audit it re-audits', value: (a) => a.re_audit_of },
];

type JudgementRow = { audit: AuditRow; answerKey: string; domain: string; domainLabel: string; auditor: string | null; moderator: string | null; reAudit: string | null; reason: string | null };

export const JUDGEMENT_COLUMNS: Column<JudgementRow>[] = [
  { name: 'audit_id', description: 'The audit the judgement belongs to', value: (j) => j.audit.id },
  { name: 'audit_reference', description: 'The audit number people use', value: (j) => j.audit.reference },
  { name: 'tool_key', description: 'The audit tool, by its key', value: (j) => j.audit.tool_key },
  { name: 'tool_edition', description: 'The edition of the tool', value: (j) => j.audit.tool_edition },
  { name: 'judgement_key', description: "The judgement, by its key in the tool's file", value: (j) => j.answerKey },
  { name: 'domain', description: `The practice domain the judgement speaks to, as the tool file declares it; ${NOT_MAPPED} when it declares none`, value: (j) => j.domain },
  { name: 'domain_label', description: 'The practice domain in words', value: (j) => j.domainLabel },
  { name: 'auditor_grade', description: "The auditor's grade, on the tool's own scale", value: (j) => j.auditor },
  { name: 'moderator_grade', description: "The moderator's grade, when the judgement was moderated", value: (j) => j.moderator },
  { name: 'final_grade', description: "The grade that stands: the moderator's, else the auditor's", value: (j) => j.moderator ?? j.auditor },
  { name: 'changed_by_moderation', description: 'yes when the moderator gave a different grade', value: (j) => yesNo(j.moderator !== null && j.auditor !== null && j.moderator !== j.auditor) },
  { name: 're_audit_grade', description: 'The grade at a re-audit, when there was one', value: (j) => j.reAudit },
];

type FeedbackRow = { audit: AuditRow; question: string; answer: string };

export const FEEDBACK_COLUMNS: Column<FeedbackRow>[] = [
  { name: 'audit_id', description: 'The audit the feedback is on', value: (f) => f.audit.id },
  { name: 'audit_reference', description: 'The audit number people use', value: (f) => f.audit.reference },
  { name: 'given_on', description: 'Day the case holder gave the feedback (UK day)', value: (f) => day(f.audit.feedback_at) },
  { name: 'question_key', description: "The question, by its key in the tool's file", value: (f) => f.question },
  { name: 'answer', description: 'The answer as given (a list is joined with "; ")', value: (f) => f.answer },
];

/** A family member asked for feedback on an audit, with one of their 0–10 scaling answers (or none). */
type FamilyFeedbackRow = { audit: AuditRow; respondent: FeedbackRespondent; part: RespondentPart; scalingKey: string | null; score: number | null };

/** The words of a reason feedback was not obtained: the tool's, or the report's for "other" and "none given". */
function reasonLabel(respondent: FeedbackRespondent, reason: string): string {
  if (reason === OTHER_REASON) return 'Another reason (written in)';
  if (reason === NO_REASON) return 'No reason given';
  return respondent.reasons.find((option) => option.value === reason)?.label ?? reason;
}

export const FAMILY_FEEDBACK_COLUMNS: Column<FamilyFeedbackRow>[] = [
  { name: 'audit_id', description: 'The audit the family member was asked on', value: (f) => f.audit.id },
  { name: 'audit_reference', description: 'The audit number people use', value: (f) => f.audit.reference },
  { name: 'submitted_on', description: 'Day the audit was submitted for moderation (UK day): the report counts family feedback in the period the audit was submitted', value: (f) => day(f.audit.submitted_at) },
  { name: 'tool_key', description: 'The audit tool, by its key', value: (f) => f.audit.tool_key },
  { name: 'section_key', description: "The tool's family (service user) feedback section, by its key", value: (f) => f.respondent.sectionKey },
  { name: 'respondent_key', description: "The respondent, by their key in the tool's file (for example parent_carer_1, young_person); with audit_id and section_key it names one respondent", value: (f) => f.respondent.respondentKey },
  { name: 'respondent_type', description: 'parent_carer, child, foster_carer or other', value: (f) => f.respondent.type },
  { name: 'feedback_obtained', description: 'yes when the family member gave feedback, no when they were asked and did not', value: (f) => (f.part.obtained === 'yes' ? 'yes' : 'no') },
  {
    name: 'not_obtained_reason',
    description: `When not obtained, why: the tool's reason by its value, ${OTHER_REASON} when only a reason of the auditor's own was written (its words are not in the feed), ${NO_REASON} when none was given`,
    value: (f) => (f.part.obtained === 'no' ? reasonOf(f.part) : null),
  },
  { name: 'not_obtained_reason_label', description: 'That reason in words', value: (f) => (f.part.obtained === 'no' ? reasonLabel(f.respondent, reasonOf(f.part)) : null) },
  { name: 'scaling_question_key', description: 'The 0–10 scaling question answered, by its key; empty when feedback was not obtained or the question not answered', value: (f) => f.scalingKey },
  { name: 'scaling_score', description: 'The answer, 0 to 10. A respondent whose tool asks more than one scaling question has one row per answer, so count respondents by audit_id, section_key and respondent_key', value: (f) => f.score },
];

type ActionRow = { audit: AuditRow; id: string; source: string; status: string; created_at: Date | string; due_on: string | null; done_at: Date | string | null; verified_at: Date | string | null; overdue: boolean };

export const ACTION_COLUMNS: Column<ActionRow>[] = [
  { name: 'action_id', description: 'The action', value: (a) => a.id },
  { name: 'audit_id', description: 'The audit whose plan agreed it', value: (a) => a.audit.id },
  { name: 'audit_reference', description: 'The audit number people use', value: (a) => a.audit.reference },
  { name: 'source', description: "action_plan (the audit's action plan) or case_direction (a direction on an Inadequate audit)", value: (a) => a.source },
  { name: 'status', description: 'open, done or verified', value: (a) => a.status },
  { name: 'agreed_on', description: 'Day agreed (UK day)', value: (a) => day(a.created_at) },
  { name: 'due_on', description: 'Day due', value: (a) => dateText(a.due_on) },
  { name: 'done_on', description: 'Day marked done (UK day)', value: (a) => day(a.done_at) },
  { name: 'verified_on', description: 'Day verified (UK day)', value: (a) => day(a.verified_at) },
  { name: 'overdue', description: 'yes when open and past its due day on the day of the download', value: (a) => yesNo(a.overdue) },
  {
    name: 'done_on_time',
    description: 'yes when done by its due day, no when done later or still open past it, empty when it has no due day or is open and not yet due',
    value: (a) => {
      const done = day(a.done_at);
      const due = dateText(a.due_on);
      if (!due) return null;
      if (done) return yesNo(done <= due);
      return a.overdue ? 'no' : null;
    },
  },
];

export const FEED_COLUMNS: Record<FeedDataset, { title: string; description: string; columns: { name: string; description: string }[] }> = {
  audits: { title: 'Audits', description: 'One row per audit allocated in the period', columns: AUDIT_COLUMNS },
  judgements: { title: 'Judgements', description: 'One row per judgement of those audits, with its tool, domain, and auditor’s and final grade', columns: JUDGEMENT_COLUMNS },
  feedback: { title: 'Practitioner feedback', description: "One row per answer of the case holder's practitioner feedback on those audits", columns: FEEDBACK_COLUMNS },
  family_feedback: {
    title: 'Family feedback',
    description:
      "One row per family member asked for feedback (obtained or not) in the family feedback sections of those audits once submitted for moderation (the auditor gathers it before submitting; a draft is not counted), with why it was not obtained and the 0–10 scaling answer. The family's own words are not in the feed",
    columns: FAMILY_FEEDBACK_COLUMNS,
  },
  actions: { title: 'Actions', description: "One row per action agreed on those audits' plans and case directions", columns: ACTION_COLUMNS },
};

/** The audits of the feed, a batch at a time, in a stable order (by id) so no batch repeats or skips one. */
async function* auditBatches(db: Db, scope: DataScope, period: ReportPeriod, today: IsoDate): AsyncGenerator<AuditRow[]> {
  let after: string | null = null;
  for (;;) {
    let query = db
      .selectFrom('audits')
      .innerJoin('children', 'children.id', 'audits.child_id')
      .innerJoin('audit_tool_editions as editions', 'editions.id', 'audits.tool_edition_id')
      .innerJoin('audit_tools as tools', 'tools.id', 'editions.tool_id')
      .innerJoin('staff as auditors', 'auditors.id', 'audits.auditor_id')
      .leftJoin('staff as moderators', 'moderators.id', 'audits.moderator_id')
      .leftJoin('teams', 'teams.id', 'audits.team_id')
      .leftJoin('services', 'services.id', 'audits.service_id')
      .where(auditInScope(scope))
      .where('audits.allocated_on', '>=', period.from)
      .where('audits.allocated_on', '<=', period.to)
      .select([
        'audits.id',
        'audits.reference',
        'children.external_id as child_external_id',
        'tools.key as tool_key',
        'tools.name as tool_name',
        'editions.edition as tool_edition',
        'audits.tool_edition_id',
        'audits.service_id',
        'services.name as service_name',
        'audits.team_id',
        'teams.name as team_name',
        'audits.auditor_id',
        'auditors.full_name as auditor_name',
        'audits.moderator_id',
        'moderators.full_name as moderator_name',
        'audits.status',
        'audits.allocated_on',
        'audits.stage_due_on',
        'audits.submitted_at',
        'audits.moderated_at',
        'audits.closed_at',
        'audits.auditor_grade',
        'audits.final_grade',
        'audits.re_audit_of',
        overdueOn(today).as('overdue'),
        'audits.practitioner_feedback',
        'audits.feedback_at',
      ])
      .orderBy('audits.id')
      .limit(BATCH);
    if (after) query = query.where('audits.id', '>', after);
    const rows = (await query.execute()) as AuditRow[];
    if (!rows.length) return;
    yield rows;
    if (rows.length < BATCH) return;
    after = rows[rows.length - 1]!.id;
  }
}

async function* judgementRows(db: Db, audits: AuditRow[], domainsOf: (editionId: string) => Promise<Map<string, { domain: string; domainLabel: string }>>): AsyncGenerator<JudgementRow> {
  const rows = await db
    .selectFrom('audit_judgements')
    .select(['audit_id', 'section_key', 'stage', 'grade', 'reason'])
    .where('audit_id', 'in', audits.map((audit) => audit.id))
    .orderBy('audit_id')
    .orderBy('section_key')
    .execute();
  const byAudit = new Map(audits.map((audit) => [audit.id, audit]));
  const grouped = new Map<string, JudgementRow>();
  for (const row of rows) {
    const key = `${row.audit_id}\u0000${row.section_key}`;
    let judgement = grouped.get(key);
    if (!judgement) {
      const audit = byAudit.get(row.audit_id)!;
      const domain = (await domainsOf(audit.tool_edition_id)).get(row.section_key) ?? { domain: NOT_MAPPED, domainLabel: 'Not mapped' };
      judgement = { audit, answerKey: row.section_key, ...domain, auditor: null, moderator: null, reAudit: null, reason: null };
      grouped.set(key, judgement);
    }
    if (row.stage === 'auditor') judgement.auditor = row.grade;
    else if (row.stage === 'moderator') {
      judgement.moderator = row.grade;
      judgement.reason = row.reason;
    } else judgement.reAudit = row.grade;
  }
  yield* grouped.values();
}

function* feedbackRows(audits: AuditRow[]): Generator<FeedbackRow> {
  for (const audit of audits) {
    const raw = jsonValue<unknown>(audit.practitioner_feedback);
    if (!raw || typeof raw !== 'object') continue;
    for (const [question, answer] of Object.entries(raw as Record<string, unknown>)) {
      if (answer === null || answer === undefined || answer === '') continue;
      yield { audit, question, answer: Array.isArray(answer) ? answer.map(String).join('; ') : typeof answer === 'object' ? JSON.stringify(answer) : String(answer) };
    }
  }
}

/**
 * The family members asked on a batch's submitted audits, as the report's Family feedback section
 * reads them (audits/feedback-answers.ts): each respondent part of each feedback section of the
 * audit's tool edition with feedback obtained or not, and each of its 0–10 scaling answers.
 */
async function* familyFeedbackRows(db: Db, audits: AuditRow[], respondentsOf: (editionId: string) => Promise<FeedbackRespondent[]>): AsyncGenerator<FamilyFeedbackRow> {
  const byEdition = new Map<string, FeedbackRespondent[]>();
  const submitted: AuditRow[] = [];
  for (const audit of audits) {
    if (audit.submitted_at === null) continue;
    if (!byEdition.has(audit.tool_edition_id)) byEdition.set(audit.tool_edition_id, await respondentsOf(audit.tool_edition_id));
    if (byEdition.get(audit.tool_edition_id)!.length) submitted.push(audit);
  }
  if (!submitted.length) return;
  const sectionKeys = [...new Set([...byEdition.values()].flat().map((respondent) => respondent.sectionKey))];
  // Only the feedback sections of each audit's answers: the rest of the form stays in the database.
  const rows = await db
    .selectFrom('audits')
    .select(['audits.id', sql<unknown>`(select jsonb_object_agg(e.key, e.value) from jsonb_each(audits.answers) as e(key, value) where e.key in (${sql.join(sectionKeys)}))`.as('sections')])
    .where('audits.id', 'in', submitted.map((audit) => audit.id))
    .execute();
  const sectionsOf = new Map(rows.map((row) => [row.id, jsonValue<Record<string, { respondents?: Record<string, RespondentPart> }> | null>(row.sections)]));
  for (const audit of submitted) {
    const sections = sectionsOf.get(audit.id);
    if (!sections) continue;
    for (const respondent of byEdition.get(audit.tool_edition_id)!) {
      const part = sections[respondent.sectionKey]?.respondents?.[respondent.respondentKey];
      if (!part || !partShows(part, { type: 'any', what: 'asked' }, respondent.scalingKeys)) continue;
      const scores = part.obtained === 'yes' ? respondent.scalingKeys.map((key) => ({ key, score: scoreOf(part.answers?.[key]) })).filter((answer) => answer.score !== null) : [];
      if (!scores.length) yield { audit, respondent, part, scalingKey: null, score: null };
      for (const answer of scores) yield { audit, respondent, part, scalingKey: answer.key, score: answer.score };
    }
  }
}

/** A 0–10 scaling answer as stored (a number; a digit string from an older form), else null. */
function scoreOf(value: unknown): number | null {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 10) return value;
  if (typeof value === 'string' && /^(10|\d)$/.test(value)) return Number(value);
  return null;
}

/** The family respondents of an edition's feedback sections, read once per edition for the whole feed. */
function editionRespondents(db: Db, organisationId: string) {
  const cache = new Map<string, FeedbackRespondent[]>();
  return async (editionId: string) => {
    const known = cache.get(editionId);
    if (known) return known;
    const respondents = feedbackRespondents(editionId, await editionDefinition(db, organisationId, editionId));
    cache.set(editionId, respondents);
    return respondents;
  };
}

async function actionRows(db: Db, audits: AuditRow[], today: IsoDate): Promise<ActionRow[]> {
  const byAudit = new Map(audits.map((audit) => [audit.id, audit]));
  const rows = await db
    .selectFrom('actions')
    .select(['id', 'audit_id', 'source', 'status', 'created_at', 'due_on', 'done_at', 'verified_at'])
    .where('audit_id', 'in', audits.map((audit) => audit.id))
    .orderBy('audit_id')
    .orderBy('row_index')
    .execute();
  return rows.map((row) => ({ ...row, audit: byAudit.get(row.audit_id)!, overdue: row.status === 'open' && row.due_on !== null && dateText(row.due_on)! < today }));
}

/** The domains of an edition's judgements, read once per edition for the whole feed. */
function editionDomains(db: Db, organisationId: string) {
  const cache = new Map<string, Map<string, { domain: string; domainLabel: string }>>();
  return async (editionId: string) => {
    const known = cache.get(editionId);
    if (known) return known;
    const definition = await editionDefinition(db, organisationId, editionId);
    let domains = new Map<string, { domain: string; domainLabel: string }>();
    try {
      domains = new Map(judgementDomains(definition).map((entry) => [entry.answerKey, { domain: entry.domain, domainLabel: entry.domainLabel }]));
    } catch {
      // An edition whose file predates domains reports its judgements as not mapped.
    }
    cache.set(editionId, domains);
    return domains;
  };
}

async function* lines(db: Db, scope: DataScope, dataset: FeedDataset, period: ReportPeriod, today: IsoDate): AsyncGenerator<string> {
  const row = <Row>(columns: Column<Row>[], value: Row) => csvLine(columns.map((column) => column.value(value)));
  yield CSV_BOM + csvLine(FEED_COLUMNS[dataset].columns.map((column) => column.name));
  // Edition definitions come from the kept editions (read once per process, never changing).
  const domainsOf = editionDomains(db, scope.organisationId);
  const respondentsOf = editionRespondents(db, scope.organisationId);
  for await (const audits of auditBatches(db, scope, period, today)) {
    let chunk = '';
    if (dataset === 'audits') for (const audit of audits) chunk += row(AUDIT_COLUMNS, audit);
    if (dataset === 'judgements') for await (const judgement of judgementRows(db, audits, domainsOf)) chunk += row(JUDGEMENT_COLUMNS, judgement);
    if (dataset === 'feedback') for (const feedback of feedbackRows(audits)) chunk += row(FEEDBACK_COLUMNS, feedback);
    if (dataset === 'family_feedback') for await (const family of familyFeedbackRows(db, audits, respondentsOf)) chunk += row(FAMILY_FEEDBACK_COLUMNS, family);
    if (dataset === 'actions') for (const action of await actionRows(db, audits, today)) chunk += row(ACTION_COLUMNS, action);
    if (chunk) yield chunk;
  }
}

/** The dataset as a CSV stream: read and written a batch of audits at a time. */
export function feedCsv(db: Db, scope: DataScope, dataset: FeedDataset, period: ReportPeriod, today: IsoDate): Readable {
  return Readable.from(lines(db, scope, dataset, period, today));
}

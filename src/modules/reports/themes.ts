import type { Db } from '../../db/index.ts';
import { jsonValue } from '../../db/values.ts';
import type { DataScope } from '../../platform/access.ts';
import type { IsoDate } from '../../platform/working-days.ts';
import { addDays } from '../../platform/working-days.ts';
import { sql } from 'kysely';
import { DEFAULT_FILTERS } from '../audits/tracker.ts';
import type { AuditTool } from '../tools/schema.ts';
import { narrowing, selectOver, trackerQuery } from './counting.ts';
import { gradedInPeriod, REPORT_FILTER_KEYS, type MeasureContext, type ReportFilters } from './measures.ts';
import { periodValue, quartersEnding, type ReportPeriod } from './period.ts';
import type { Report } from './report.ts';
import { listThemes, selectEditionDefinitions, type Theme } from './themes-queries.ts';
import { candidatePhrases, phraseLemmas, proposePhrases, readSentences, sentencesMarking, themeMatcher, type Proposal, type Sentence } from './themes-text.ts';

/**
 * Themes: what recurs in the strengths and areas for improvement of the audits a report
 * counts — those graded (moderated) in the period, within the reader's scope and the report's
 * filters, the same audits as the grades section. An audit counts once for a theme in a field
 * however many of its sentences mark it; each count links to the sentences themselves.
 */

export const THEME_FIELDS = ['strengths', 'areas'] as const;
export type ThemeField = (typeof THEME_FIELDS)[number];
export const THEME_FIELD_LABELS: Record<ThemeField, string> = { strengths: 'Strengths', areas: 'Areas for improvement' };

/** Boxes of a tool by what they ask: its strengths, and its areas for improvement. Mixed boxes ("what is working well and what needs to be improved") are neither. */
const BOX_LABELS: Record<ThemeField, RegExp> = {
  strengths: /^(strengths?\b|things that went well|what (is going|went) well)/i,
  areas: /^(areas? for (improvement|development)|things that could improve|improvement – what would it take)/i,
};

/** The keys of a tool's text boxes that hold strengths, and those that hold areas for improvement. */
export function themeBoxes(tool: AuditTool): Record<ThemeField, string[]> {
  const boxes: Record<ThemeField, string[]> = { strengths: [], areas: [] };
  const consider = (key: string, label: string) => {
    for (const field of THEME_FIELDS) if (BOX_LABELS[field].test(label.trim())) boxes[field].push(key);
  };
  for (const section of tool.sections) {
    for (const answer of section.answers) {
      if (answer.kind === 'text') consider(answer.key, answer.label);
      if (answer.kind === 'judgement') for (const box of answer.evidence ?? []) consider(box.key, box.label);
    }
  }
  return boxes;
}

/** One audit's strengths and areas for improvement, read into sentences. */
export type AuditText = { id: string; reference: number; childId: string; childExternalId: string; fields: Record<ThemeField, Sentence[]> };

/** Reading is the costly part: identical texts (common in a council's stock phrases) are read once. */
const READ_CACHE = new Map<string, Sentence[]>();
const READ_CACHE_SIZE = 20_000;
function readCached(text: string): Sentence[] {
  let sentences = READ_CACHE.get(text);
  if (!sentences) {
    sentences = readSentences(text);
    if (READ_CACHE.size >= READ_CACHE_SIZE) READ_CACHE.delete(READ_CACHE.keys().next().value!);
    READ_CACHE.set(text, sentences);
  }
  return sentences;
}

/** A tool edition's stored definition, as read from audit_tool_editions. */
export type EditionDefinition = { id: string; definition: unknown };

/** The texts of the audits graded in the period, within the scope and filters, by reference. */
export async function auditTexts(db: Db, scope: DataScope, filters: ReportFilters, period: ReportPeriod, today: IsoDate): Promise<AuditText[]> {
  return (await auditTextsOver(db, scope, filters, [period], today))[0]!;
}

type TextRow = { id: string; reference: number; answers: unknown; tool_edition_id: string; child_id: string; child_external_id: string } & Record<`in${number}`, boolean>;

/**
 * The texts of the audits graded in each of the periods (the tracker's audits for the scope,
 * filters and period), by reference: one statement for all the periods. `editions`: the tool
 * editions' definitions when the caller has them already; else those the texts need are read.
 */
export async function auditTextsOver(db: Db, scope: DataScope, filters: ReportFilters, periods: readonly ReportPeriod[], today: IsoDate, editions?: readonly EditionDefinition[]): Promise<AuditText[][]> {
  const criteria = (period?: ReportPeriod) => ({ ...DEFAULT_FILTERS, ...filters, ...(period ? gradedInPeriod(period) : {}) });
  const [base, ...graded] = await Promise.all([trackerQuery(scope, criteria(), today), ...periods.map((period) => trackerQuery(scope, criteria(period), today))]);
  const inPeriods = graded.map((query) => narrowing(base!, query));
  const rows = await selectOver<TextRow>(
    db,
    base!,
    [
      sql.ref('audits.id').as('id'),
      sql.ref('audits.reference').as('reference'),
      sql.ref('audits.answers').as('answers'),
      sql.ref('audits.tool_edition_id').as('tool_edition_id'),
      sql.ref('children.id').as('child_id'),
      sql.ref('children.external_id').as('child_external_id'),
      ...inPeriods.map((inPeriod, i) => sql<boolean>`${inPeriod}`.as(`in${i}`)),
    ],
    [],
    sql`(${sql.join(inPeriods, sql` or `)})`,
  );
  rows.sort((a, b) => a.reference - b.reference);
  const definitions = editions ?? (await selectEditionDefinitions(db, [...new Set(rows.map((row) => row.tool_edition_id))]));
  const boxes = new Map(
    definitions.map((row) => {
      const tool = jsonValue<AuditTool>(row.definition);
      return [row.id, themeBoxes(tool)];
    }),
  );
  const texts = rows.map((row) => {
    const answers = jsonValue<Record<string, unknown>>(row.answers);
    const found = boxes.get(row.tool_edition_id) ?? { strengths: [], areas: [] };
    const fields = Object.fromEntries(
      THEME_FIELDS.map((field) => [field, found[field].flatMap((key) => (typeof answers[key] === 'string' && answers[key].trim() ? readCached(answers[key]) : []))]),
    ) as Record<ThemeField, Sentence[]>;
    return { id: row.id, reference: row.reference, childId: row.child_id, childExternalId: row.child_external_id, fields };
  });
  return periods.map((_, i) => texts.filter((_, j) => rows[j]![`in${i}`]));
}

/** The audits (with the sentences) that mark a theme in a field. */
export function auditsMarking(texts: readonly AuditText[], theme: Pick<Theme, 'id' | 'name' | 'phrases'>, field: ThemeField) {
  const matcher = themeMatcher(theme);
  return texts.map((text) => ({ audit: text, sentences: sentencesMarking(text.fields[field], matcher) })).filter((found) => found.sentences.length > 0);
}

export type Direction = 'rising' | 'falling' | 'same' | 'new' | 'none';
export type ThemeCount = { n: number; share: number | null; previousN: number; previousShare: number | null; direction: Direction; href: string | null };
export type ThemeRow = { id: string; name: string; fields: Record<ThemeField, ThemeCount> };

const share = (n: number, of: number) => (of ? n / of : null);

/** Rising or falling by the share of audits marking the theme, so a busier quarter does not read as a rise. */
function direction(current: number | null, previous: number | null, n: number, previousN: number): Direction {
  if (!n && !previousN) return 'none';
  if (previous === null || !previousN) return current ? 'new' : 'none';
  if (current === null) return 'none';
  const difference = Math.round((current - previous) * 1000);
  return difference > 0 ? 'rising' : difference < 0 ? 'falling' : 'same';
}

/** The report's query for a period and filters, to build links that open the same audits. */
export function reportQuery(period: ReportPeriod, filters: ReportFilters): URLSearchParams {
  const query = new URLSearchParams({ period: periodValue(period) });
  if (period.kind === 'range') {
    query.set('from', isoToSlashes(period.from));
    query.set('to', isoToSlashes(period.to));
  }
  for (const key of REPORT_FILTER_KEYS) if (filters[key]) query.set(key, filters[key]!);
  return query;
}

const isoToSlashes = (day: IsoDate) => {
  const [y, m, d] = day.split('-').map(Number);
  return `${d}/${m}/${y}`;
};

export function evidenceHref(themeId: string, field: ThemeField, period: ReportPeriod, filters: ReportFilters): string {
  const query = reportQuery(period, filters);
  query.set('field', field);
  return `/reports/themes/${themeId}/evidence?${query.toString()}`;
}

/**
 * Each theme counted in each field this period and the period before, with its direction;
 * and phrases proposed as new themes: the most distinctive of this period against the four
 * quarters before it.
 */
export async function themesMeasure(context: MeasureContext, period: ReportPeriod, previous: ReportPeriod, canManage = false, editions?: readonly EditionDefinition[]) {
  const { db, scope, filters, today } = context;
  // Proposals weigh this period's phrases against the four quarters before it.
  const earlierQuarters = quartersEnding(addDays(period.from, -1), 4);
  const earlierPeriod: ReportPeriod = { kind: 'range', from: earlierQuarters[0]!.from, to: earlierQuarters.at(-1)!.to, label: '' };
  const [themes, [current, before, earlier]] = await Promise.all([listThemes(db, scope.organisationId), auditTextsOver(db, scope, filters, [period, previous, earlierPeriod], today, editions)]);
  const rows: ThemeRow[] = themes.map((theme) => {
    const fields = Object.fromEntries(
      THEME_FIELDS.map((field) => {
        const n = auditsMarking(current!, theme, field).length;
        const previousN = auditsMarking(before!, theme, field).length;
        const [now, then] = [share(n, current!.length), share(previousN, before!.length)];
        const count: ThemeCount = { n, share: now, previousN, previousShare: then, direction: direction(now, then, n, previousN), href: n ? evidenceHref(theme.id, field, period, filters) : null };
        return [field, count];
      }),
    ) as Record<ThemeField, ThemeCount>;
    return { id: theme.id, name: theme.name, fields };
  });
  const proposals = proposeThemes(current!, earlier!, themes);
  return { audits: current!.length, previousAudits: before!.length, period, previous, rows, proposals, canManage };
}

/** Phrases of this period's audits most distinctive against the four quarters before it, not already a theme's. */
function proposeThemes(current: readonly AuditText[], earlier: readonly AuditText[], themes: readonly Theme[]): Proposal[] {
  const phrasesOf = (text: AuditText) => candidatePhrases([...text.fields.strengths, ...text.fields.areas]);
  const known = themes.flatMap((theme) => theme.phrases.map(phraseLemmas));
  return proposePhrases(current.map(phrasesOf), earlier.map(phrasesOf), { known });
}

export type ThemesSection = Awaited<ReturnType<typeof themesMeasure>>;

const DIRECTION_LABELS: Record<Direction, string> = { rising: 'Rising', falling: 'Falling', same: 'Same', new: 'New this period', none: '—' };
export const directionLabel = (value: Direction) => DIRECTION_LABELS[value];
const percent = (value: number | null) => (value === null ? '—' : `${Math.round(value * 1000) / 10}%`);

/** The themes section as tables, for the exports: one per field, and the proposals. */
export function themeTables(report: Pick<Report, 'themes'>) {
  const section = 'Themes';
  const { themes } = report;
  const tables = THEME_FIELDS.map((field) => ({
    id: `themes-${field}`,
    section,
    title: `Themes in ${THEME_FIELD_LABELS[field].toLowerCase()}: audits graded in ${themes.period.label}`,
    columns: ['Theme', 'Audits', 'Share of audits', `Audits in ${themes.previous.label}`, 'Share then', 'Direction'],
    rows: themes.rows.map((row) => {
      const count = row.fields[field];
      return [
        { text: row.name },
        { text: String(count.n), href: count.href },
        { text: percent(count.share) },
        { text: String(count.previousN) },
        { text: percent(count.previousShare) },
        { text: directionLabel(count.direction) },
      ];
    }),
  }));
  tables.push({
    id: 'themes-proposed',
    section,
    title: `Phrases proposed as themes: the most distinctive of ${themes.period.label} against the four quarters before`,
    columns: ['Phrase', 'Audits this period', 'Audits in the four quarters before', 'Score (z)'],
    rows: themes.proposals.map((proposal) => [{ text: proposal.phrase }, { text: String(proposal.audits) }, { text: String(proposal.earlierAudits) }, { text: proposal.score.toFixed(2) }]),
  });
  return tables;
}

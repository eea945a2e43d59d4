import type { Db } from '../../db/index.ts';
import { dataScope, type DataScope, type Principal } from '../../platform/access.ts';
import type { FieldError } from '../../platform/errors.ts';
import type { IsoDate } from '../../platform/working-days.ts';
import { DEFAULT_FILTERS, type TrackerFilters } from '../audits/tracker.ts';
import { trackerHref } from '../reports/measures.ts';
import { parseReportPeriod, type ReportPeriod } from '../reports/period.ts';
import { selectCountedAudits, selectOpenCasesByService, selectProgrammeReference, type ProgrammeReference } from './compliance-queries.ts';
import { complianceLines, windowsOverlapping, type ComplianceLine, type LineKind, type Rag } from './compliance-rules.ts';

/**
 * Compliance with the schedule of expectations over a period, per service, team and auditor,
 * as the reader's scope allows (`programme.view`). The rules are in compliance-rules.ts; this
 * reads what they need and adds the tracker links.
 */

export const RAG_LABELS: Record<Rag, { word: string; tag: string; meaning: string }> = {
  red: { word: 'Behind', tag: 'govuk-tag--red', meaning: 'a period has ended with fewer audits completed than the schedule expects, or an audit is overdue' },
  amber: { word: 'At risk', tag: 'govuk-tag--yellow', meaning: 'audits are still to be completed before the period ends, or one was completed late' },
  green: { word: 'On track', tag: 'govuk-tag--green', meaning: 'every audit the schedule expects so far was completed on time' },
  none: { word: 'Nothing expected', tag: 'govuk-tag--grey', meaning: 'the schedule expects no case audits here in the period' },
};

/** "Red: Behind", "Nothing expected": the status in words, as the page's tag, the downloads and the reports write it. */
export function ragText(rag: Rag): string {
  return `${rag === 'none' ? '' : `${rag[0]!.toUpperCase()}${rag.slice(1)}: `}${RAG_LABELS[rag].word}`;
}

/** A number and the tracker filtered to the audits behind it; no link where the tracker cannot filter to them. */
export type Figure = { n: number; href: string | null };

export type ComplianceRow = ComplianceLine & {
  figures: { expected: Figure; allocated: Figure; completedOnTime: Figure; completedLate: Figure; overdue: Figure; notYetAllocated: Figure };
  serviceName: string | null;
  teamName: string | null;
};

export type Compliance = {
  period: ReportPeriod;
  errors: FieldError[];
  hasSchedule: boolean;
  services: ComplianceRow[];
  teams: ComplianceRow[];
  auditors: ComplianceRow[];
};

const FILTER_OF: Record<LineKind, 'service' | 'team' | 'auditor'> = { service: 'service', team: 'team', auditor: 'auditor' };

function figuresOf(line: ComplianceLine): ComplianceRow['figures'] {
  const base: TrackerFilters = { ...DEFAULT_FILTERS, allocatedFrom: line.countFrom, allocatedTo: line.countTo, [FILTER_OF[line.kind]]: line.id, ...(line.toolId ? { tool: line.toolId } : {}) };
  const linked = (n: number, filters: TrackerFilters): Figure => ({ n, href: n ? trackerHref(filters) : null });
  const plain = (n: number): Figure => ({ n, href: null });
  return {
    expected: plain(line.counts.expected),
    allocated: linked(line.counts.allocated, base),
    // The tracker has no "on time" filter: these two are numbers alone.
    completedOnTime: plain(line.counts.completedOnTime),
    completedLate: plain(line.counts.completedLate),
    overdue: linked(line.counts.overdue, { ...base, status: ['allocated', 'in_progress', 'returned'], overdue: true }),
    notYetAllocated: plain(line.counts.notYetAllocated),
  };
}

/** Whether a line is within the reader's scope: a service they hold, a team of theirs or of their services, an auditor in one. */
function inScope(scope: DataScope, line: ComplianceLine): boolean {
  if (scope.kind === 'organisation') return true;
  if (line.kind === 'auditor' && scope.staffId === line.id) return true;
  if (line.kind === 'service') return scope.serviceIds.includes(line.id);
  return (!!line.teamId && scope.teamIds.includes(line.teamId)) || (!!line.serviceId && scope.serviceIds.includes(line.serviceId));
}

/** Compliance over a period already parsed. */
export async function complianceFor(db: Db, principal: Principal, period: ReportPeriod, today: IsoDate, known?: ProgrammeReference): Promise<Omit<Compliance, 'errors'>> {
  const organisationId = principal.organisationId;
  const scope = dataScope(principal, 'programme.view');
  const { versions, services, teams, auditors } = known ?? (await selectProgrammeReference(db, organisationId));
  if (!versions.length) return { period, hasSchedule: false, services: [], teams: [], auditors: [] };

  // The days whose allocations may count: every window of every cadence the period touches.
  const cadences = new Set(versions.flatMap((version) => version.rows.map((row) => row.periodMonths)));
  const windows = [...cadences].flatMap((months) => windowsOverlapping(months, period.from, period.to));
  const from = windows.reduce((min, window) => (window.from < min ? window.from : min), period.from);
  const to = windows.reduce((max, window) => (window.to > max ? window.to : max), period.to);
  const audits = await selectCountedAudits(db, scope, from, to, today);

  // Open cases, for percentage rows, on each window's first day.
  const percentCadences = new Set(versions.flatMap((version) => version.rows.filter((row) => row.per === 'open_cases_percent').map((row) => row.periodMonths)));
  const openByDay = new Map<string, Map<string, number>>();
  for (const months of percentCadences) {
    for (const window of windowsOverlapping(months, period.from, period.to)) {
      if (!openByDay.has(window.from)) openByDay.set(window.from, await selectOpenCasesByService(db, organisationId, window.from));
    }
  }

  const lines = complianceLines(
    { versions, period: { from: period.from, to: period.to }, today, services, teams, auditors, audits, openCases: (serviceId, day) => openByDay.get(day)?.get(serviceId) ?? 0 },
    { services: new Map(services.map((s) => [s.id, s])), teams: new Map(teams.map((t) => [t.id, t])), auditors: new Map(auditors.map((a) => [a.staffId, a])) },
  );
  const serviceName = new Map(services.map((s) => [s.id, s.name]));
  const teamName = new Map(teams.map((t) => [t.id, t.name]));
  const rows: ComplianceRow[] = lines
    .filter((line) => inScope(scope, line))
    .map((line) => ({
      ...line,
      figures: figuresOf(line),
      serviceName: line.kind !== 'service' && line.serviceId ? (serviceName.get(line.serviceId) ?? null) : null,
      teamName: line.kind === 'auditor' && line.teamId ? (teamName.get(line.teamId) ?? null) : null,
    }));
  return {
    period,
    hasSchedule: true,
    services: rows.filter((row) => row.kind === 'service'),
    teams: rows.filter((row) => row.kind === 'team'),
    auditors: rows.filter((row) => row.kind === 'auditor'),
  };
}

/** Compliance for the period a query string asks for (the reports' periods: quarters of the financial year, months, years, ranges). */
export async function complianceReport(db: Db, principal: Principal, query: Record<string, unknown>, today: IsoDate): Promise<Compliance> {
  const { period, errors } = parseReportPeriod(query, today);
  return { ...(await complianceFor(db, principal, period, today)), errors };
}

/** Every line of a compliance report, services then teams then auditors: for the downloads and the API. */
export function allLines(compliance: Compliance): ComplianceRow[] {
  return [...compliance.services, ...compliance.teams, ...compliance.auditors];
}

/**
 * The programme reference read once, when first asked for: My work's compliance and its rounds
 * due both measure against it, and either may not be shown at all.
 */
export function programmeReferenceOnce(db: Db, organisationId: string): () => Promise<ProgrammeReference> {
  let reading: Promise<ProgrammeReference> | undefined;
  return () => (reading ??= selectProgrammeReference(db, organisationId));
}

/**
 * My work's compliance block: the quarter so far, per service the reader answers for — the QA
 * coordinator and QA lead every service, a service manager (moderator) their own. Null for
 * anyone else. (The sampling rounds due are My work's own block: calendar.ts `myWorkRounds`.)
 */
export async function myWorkCompliance(db: Db, principal: Principal, today: IsoDate, reference: () => Promise<ProgrammeReference>) {
  const holds = principal.grants.some((grant) => grant.role === 'qa_coordinator' || grant.role === 'qa_lead' || (grant.role === 'moderator' && grant.scope === 'service'));
  if (!holds) return null;
  const { period } = parseReportPeriod({}, today);
  const compliance = await complianceFor(db, principal, period, today, await reference());
  if (!compliance.hasSchedule) return null;
  return {
    period,
    rag: RAG_LABELS,
    services: compliance.services.map((line) => ({
      ...line,
      behind: compliance.auditors.filter((auditor) => auditor.serviceId === line.id && auditor.rag === 'red').length,
    })),
  };
}

/** How many lines are red, amber, green or expect nothing. */
export type RagCounts = Record<Rag, number>;

export type ComplianceSection = {
  hasSchedule: boolean;
  services: ComplianceRow[];
  teams: ComplianceRow[];
  auditors: ComplianceRow[];
  /** Red, amber and green lines at each level. */
  rags: { services: RagCounts; teams: RagCounts; auditors: RagCounts };
  /** The headline: the service lines added up, or the team lines when the report is for a team. */
  totals: ComplianceRow['counts'] & { level: 'services' | 'teams'; lines: number };
  rag: typeof RAG_LABELS;
};

const ragCounts = (rows: readonly ComplianceRow[]): RagCounts => ({
  red: rows.filter((row) => row.rag === 'red').length,
  amber: rows.filter((row) => row.rag === 'amber').length,
  green: rows.filter((row) => row.rag === 'green').length,
  none: rows.filter((row) => row.rag === 'none').length,
});

/**
 * Compliance as a section of the reports: the compliance page's own lines for the period and the
 * reader (`complianceFor`, so the figures are the page's), narrowed to the report's service or
 * team — a service keeps its line, its teams' and its auditors'; a team its line and its auditors'.
 */
export async function complianceSection(db: Db, principal: Principal, period: ReportPeriod, filters: { service?: string | undefined; team?: string | undefined }, today: IsoDate): Promise<ComplianceSection> {
  const found = await complianceFor(db, principal, period, today);
  const inService = (row: ComplianceRow) => !filters.service || row.serviceId === filters.service;
  const services = filters.team ? [] : found.services.filter((row) => !filters.service || row.id === filters.service);
  const teams = found.teams.filter((row) => inService(row) && (!filters.team || row.id === filters.team));
  const auditors = found.auditors.filter((row) => inService(row) && (!filters.team || row.teamId === filters.team));
  const headline = filters.team ? teams : services;
  const sum = (key: keyof ComplianceRow['counts']) => headline.reduce((total, row) => total + row.counts[key], 0);
  return {
    hasSchedule: found.hasSchedule,
    services,
    teams,
    auditors,
    rags: { services: ragCounts(services), teams: ragCounts(teams), auditors: ragCounts(auditors) },
    totals: {
      level: filters.team ? 'teams' : 'services',
      lines: headline.length,
      expected: sum('expected'),
      allocated: sum('allocated'),
      completedOnTime: sum('completedOnTime'),
      completedLate: sum('completedLate'),
      overdue: sum('overdue'),
      notYetAllocated: sum('notYetAllocated'),
    },
    rag: RAG_LABELS,
  };
}

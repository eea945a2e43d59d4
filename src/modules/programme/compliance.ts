import type { Db } from '../../db/index.ts';
import { dataScope, type DataScope, type Principal } from '../../platform/access.ts';
import type { FieldError } from '../../platform/errors.ts';
import type { IsoDate } from '../../platform/working-days.ts';
import { DEFAULT_FILTERS, type TrackerFilters } from '../audits/tracker.ts';
import { trackerHref } from '../reports/measures.ts';
import { parseReportPeriod, type ReportPeriod } from '../reports/period.ts';
import { selectCountedAudits, selectOpenCasesByService, selectProgrammeReference, type ProgrammeReference } from './compliance-queries.ts';
import { roundsDue } from './calendar.ts';
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
 * My work's compliance block: the quarter so far, per service the reader answers for — the QA
 * coordinator and QA lead every service, a service manager (moderator) their own — with the
 * sampling rounds due this month. Null for anyone else.
 */
export async function myWorkCompliance(db: Db, principal: Principal, today: IsoDate) {
  const holds = principal.grants.some((grant) => grant.role === 'qa_coordinator' || grant.role === 'qa_lead' || (grant.role === 'moderator' && grant.scope === 'service'));
  if (!holds) return null;
  const { period } = parseReportPeriod({}, today);
  // The schedule, services, teams and staff once for both (one statement), then the compliance and the rounds due asked at once.
  const reference = await selectProgrammeReference(db, principal.organisationId);
  if (!reference.versions.length) return null;
  const month = today.slice(0, 7);
  const [compliance, rounds] = await Promise.all([
    complianceFor(db, principal, period, today, reference),
    principal.grants.some((grant) => grant.role === 'qa_coordinator' || grant.role === 'qa_lead') ? roundsDue(db, principal.organisationId, `${month}-01` as IsoDate, today, reference) : [],
  ]);
  const roundsThisMonth = rounds.filter((round) => !round.done);
  return {
    period,
    rag: RAG_LABELS,
    services: compliance.services.map((line) => ({
      ...line,
      behind: compliance.auditors.filter((auditor) => auditor.serviceId === line.id && auditor.rag === 'red').length,
    })),
    roundsDue: roundsThisMonth,
  };
}

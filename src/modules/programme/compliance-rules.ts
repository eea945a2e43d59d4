import type { Role } from '../../db/types.ts';
import type { IsoDate } from '../../platform/working-days.ts';
import type { ScheduleRow, ScheduleVersion } from './schedule.ts';

/**
 * What the schedule expects, and how far it was met: the rules, without the database.
 *
 * - A schedule row's periods ("every 2 months") are **windows** aligned to the financial year:
 *   a bimonthly row's windows are April–May, June–July, …, February–March; a quarterly row's
 *   the financial quarters; a yearly row's the financial year.
 * - A report covers the windows that **overlap** its period, whole: the audits counted are those
 *   allocated from the first day of the first window to the last day of the last. So a quarter
 *   of a bimonthly schedule is judged over the two or three windows it touches, and a quarter of
 *   a yearly one over the year so far.
 * - Each window follows the schedule version **in force on its last day** (when its audits are
 *   due): a change applying from 1 June governs June–July onwards, not April–May.
 * - An audit counts for the window it was **allocated** in; it is complete once its auditor
 *   submitted it, **on time** when that was on or before its due date.
 */

export type Window = { from: IsoDate; to: IsoDate };

const iso = (year: number, month: number, day: number) => `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}` as IsoDate;
const lastDayOf = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();
/** Names in English order, by one collator: `localeCompare(…, 'en-GB')` sets one up at every comparison. */
const byName = new Intl.Collator('en-GB').compare;

/** Month index counted from April of year 0 (so windows align to the financial year). */
const monthIndex = (day: IsoDate) => {
  const [year, month] = day.split('-').map(Number) as [number, number];
  return year * 12 + (month - 1) - 3;
};
const windowOf = (startIndex: number, months: number): Window => {
  const startAbs = startIndex + 3;
  const endAbs = startAbs + months - 1;
  const [sy, sm] = [Math.floor(startAbs / 12), (startAbs % 12) + 1];
  const [ey, em] = [Math.floor(endAbs / 12), (endAbs % 12) + 1];
  return { from: iso(sy, sm, 1), to: iso(ey, em, lastDayOf(ey, em)) };
};

/** The windows of a cadence of `months` (1, 2, 3, 4, 6 or 12) that overlap from..to, in order. */
export function windowsOverlapping(months: number, from: IsoDate, to: IsoDate): Window[] {
  const first = Math.floor(monthIndex(from) / months) * months;
  const last = Math.floor(monthIndex(to) / months) * months;
  const windows: Window[] = [];
  for (let start = first; start <= last; start += months) windows.push(windowOf(start, months));
  return windows;
}

/** The version in force on a day: the latest applying from it or before; null before the first. */
export function versionInForce<V extends { appliesFrom: IsoDate }>(versions: readonly V[], day: IsoDate): V | null {
  let found: V | null = null;
  for (const version of versions) if (version.appliesFrom <= day && (!found || version.appliesFrom > found.appliesFrom)) found = version;
  return found;
}

// ——— the people, places and audits the rules read ———

export type ServiceRef = { id: string; name: string };
export type TeamRef = { id: string; name: string; serviceId: string };
export type AuditorRef = { staffId: string; name: string; teamId: string | null; serviceId: string | null; roles: Role[]; startDate: IsoDate | null; leavingDate: IsoDate | null };
export type CountedAudit = {
  id: string;
  auditorId: string;
  teamId: string | null;
  serviceId: string | null;
  toolId: string;
  allocatedOn: IsoDate;
  dueOn: IsoDate;
  /** The UK day the auditor submitted it; null while with the auditor. */
  submittedOn: IsoDate | null;
  /** Still with its auditor (allocated, in progress, returned) and past its due date. */
  overdue: boolean;
};

export type ComplianceInput = {
  versions: readonly ScheduleVersion[];
  period: Window;
  today: IsoDate;
  services: readonly ServiceRef[];
  teams: readonly TeamRef[];
  auditors: readonly AuditorRef[];
  audits: readonly CountedAudit[];
  /** Open cases of a service on a day (from the child register): for percentage rows. */
  openCases: (serviceId: string, day: IsoDate) => number;
};

export type LineKind = 'service' | 'team' | 'auditor';
export type Rag = 'red' | 'amber' | 'green' | 'none';

export type ComplianceCounts = {
  expected: number;
  allocated: number;
  completedOnTime: number;
  completedLate: number;
  overdue: number;
  notYetAllocated: number;
};

export type ComplianceLine = {
  kind: LineKind;
  id: string;
  name: string;
  serviceId: string | null;
  teamId: string | null;
  /** The days whose allocations count: the windows the period touches, whole. */
  countFrom: IsoDate;
  countTo: IsoDate;
  /** The tool the rows ask for, when they all ask for the same one; null: any case audit. */
  toolId: string | null;
  counts: ComplianceCounts;
  rag: Rag;
  /** Why the colour, in words (the colour is never the only cue). */
  reason: string;
  windows: { from: IsoDate; to: IsoDate; expected: number; allocated: number; completed: number }[];
};

type Cell = { window: Window; expected: number; toolId: string | null };

/** Whether a staff member worked here at some point in the window and holds one of the row's roles. */
function auditsFor(row: ScheduleRow, auditor: AuditorRef, window: Window): boolean {
  if (!auditor.roles.some((role) => row.auditorRoles.includes(role))) return false;
  if (auditor.startDate && auditor.startDate > window.to) return false;
  if (auditor.leavingDate && auditor.leavingDate < window.from) return false;
  return true;
}

/** The expectations of one window of one row, as cells on the lines they fall to. */
function expectationsOf(row: ScheduleRow, window: Window, input: ComplianceInput, add: (kind: LineKind, id: string, cell: Cell) => void) {
  const services = row.serviceId ? input.services.filter((service) => service.id === row.serviceId) : input.services;
  const toolId = row.toolId;
  for (const service of services) {
    if (row.per === 'auditor') {
      for (const auditor of input.auditors) {
        if (auditor.serviceId !== service.id || !auditsFor(row, auditor, window)) continue;
        add('auditor', auditor.staffId, { window, expected: row.quantity, toolId });
        if (auditor.teamId) add('team', auditor.teamId, { window, expected: row.quantity, toolId });
        add('service', service.id, { window, expected: row.quantity, toolId });
      }
    } else if (row.per === 'team') {
      for (const team of input.teams.filter((candidate) => candidate.serviceId === service.id)) {
        add('team', team.id, { window, expected: row.quantity, toolId });
        add('service', service.id, { window, expected: row.quantity, toolId });
      }
    } else if (row.per === 'service') {
      add('service', service.id, { window, expected: row.quantity, toolId });
    } else {
      // A percentage of the cases open on the window's first day, rounded up: 5% of 30 is 2.
      const open = input.openCases(service.id, window.from);
      add('service', service.id, { window, expected: Math.ceil((row.quantity * open) / 100), toolId });
    }
  }
}

/** The schedule's case-audit expectations over the period, per line, from every version that governs a window. */
function cellsByLine(input: ComplianceInput): Map<string, { kind: LineKind; id: string; cells: Cell[] }> {
  const lines = new Map<string, { kind: LineKind; id: string; cells: Cell[] }>();
  const add = (kind: LineKind, id: string, cell: Cell) => {
    const key = `${kind}:${id}`;
    const line = lines.get(key) ?? { kind, id, cells: [] };
    line.cells.push(cell);
    lines.set(key, line);
  };
  const cadences = new Set(input.versions.flatMap((version) => version.rows.map((row) => row.periodMonths)));
  for (const months of cadences) {
    for (const window of windowsOverlapping(months, input.period.from, input.period.to)) {
      const version = versionInForce(input.versions, window.to);
      if (!version) continue;
      for (const row of version.rows) {
        if (row.activity === 'case_audit' && row.periodMonths === months) expectationsOf(row, window, input, add);
      }
    }
  }
  return lines;
}

/**
 * The audits of each auditor, team and service, in their order: each line counts its own unit's
 * audits rather than reading every audit of the period (a year's register for every line).
 */
function auditsByUnit(audits: readonly CountedAudit[]): Record<LineKind, Map<string, CountedAudit[]>> {
  const byUnit: Record<LineKind, Map<string, CountedAudit[]>> = { auditor: new Map(), team: new Map(), service: new Map() };
  const add = (units: Map<string, CountedAudit[]>, id: string | null, audit: CountedAudit) => {
    if (id === null) return;
    const list = units.get(id);
    if (list) list.push(audit);
    else units.set(id, [audit]);
  };
  for (const audit of audits) {
    add(byUnit.auditor, audit.auditorId, audit);
    add(byUnit.team, audit.teamId, audit);
    add(byUnit.service, audit.serviceId, audit);
  }
  return byUnit;
}

/** Red, amber or green for a line, and why, in words. */
export function ragOf(windows: ComplianceLine['windows'], counts: ComplianceCounts, today: IsoDate): { rag: Rag; reason: string } {
  if (counts.expected === 0) return { rag: 'none', reason: 'Nothing expected' };
  const short = windows.filter((window) => window.completed < window.expected);
  const endedShort = short.filter((window) => window.to < today);
  if (endedShort.length || counts.overdue) {
    const parts = [
      ...(endedShort.length ? [`${endedShort.length} ${endedShort.length === 1 ? 'period' : 'periods'} ended with fewer audits completed than expected`] : []),
      ...(counts.overdue ? [`${counts.overdue} overdue`] : []),
    ];
    return { rag: 'red', reason: `Behind: ${parts.join('; ')}` };
  }
  if (short.length || counts.completedLate) {
    const parts = [...(short.length ? ['audits still to complete before the period ends'] : []), ...(counts.completedLate ? [`${counts.completedLate} completed late`] : [])];
    return { rag: 'amber', reason: `At risk: ${parts.join('; ')}` };
  }
  return { rag: 'green', reason: 'On track: every audit expected so far completed on time' };
}

/** Compliance with the schedule over the period: one line per service, team and auditor expected to audit. */
export function complianceLines(input: ComplianceInput, names: { services: Map<string, ServiceRef>; teams: Map<string, TeamRef>; auditors: Map<string, AuditorRef> }): ComplianceLine[] {
  const result: ComplianceLine[] = [];
  const auditsOf = auditsByUnit(input.audits);
  for (const { kind, id, cells } of cellsByLine(input).values()) {
    const countFrom = cells.reduce((min, cell) => (cell.window.from < min ? cell.window.from : min), cells[0]!.window.from);
    const countTo = cells.reduce((max, cell) => (cell.window.to > max ? cell.window.to : max), cells[0]!.window.to);
    const tools = new Set(cells.map((cell) => cell.toolId));
    const toolId = tools.size === 1 ? [...tools][0]! : null;
    const counted = (auditsOf[kind].get(id) ?? []).filter((audit) => audit.allocatedOn >= countFrom && audit.allocatedOn <= countTo && (!toolId || audit.toolId === toolId));
    // Windows of the same dates (two rows of one cadence) are judged together.
    const byWindow = new Map<string, ComplianceLine['windows'][number]>();
    for (const cell of cells) {
      const key = `${cell.window.from}/${cell.window.to}`;
      const found = byWindow.get(key) ?? { ...cell.window, expected: 0, allocated: 0, completed: 0 };
      found.expected += cell.expected;
      byWindow.set(key, found);
    }
    const windows = [...byWindow.values()].sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
    for (const window of windows) {
      const inWindow = counted.filter((audit) => audit.allocatedOn >= window.from && audit.allocatedOn <= window.to);
      window.allocated = inWindow.length;
      window.completed = inWindow.filter((audit) => audit.submittedOn).length;
    }
    const counts: ComplianceCounts = {
      expected: windows.reduce((total, window) => total + window.expected, 0),
      allocated: counted.length,
      completedOnTime: counted.filter((audit) => audit.submittedOn && audit.submittedOn <= audit.dueOn).length,
      completedLate: counted.filter((audit) => audit.submittedOn && audit.submittedOn > audit.dueOn).length,
      overdue: counted.filter((audit) => audit.overdue).length,
      notYetAllocated: windows.reduce((total, window) => total + Math.max(0, window.expected - window.allocated), 0),
    };
    const { rag, reason } = ragOf(windows, counts, input.today);
    const team = kind === 'team' ? names.teams.get(id) : kind === 'auditor' ? (names.auditors.get(id)?.teamId ? names.teams.get(names.auditors.get(id)!.teamId!) : undefined) : undefined;
    const name = kind === 'service' ? (names.services.get(id)?.name ?? 'Unknown service') : kind === 'team' ? (team?.name ?? 'Unknown team') : (names.auditors.get(id)?.name ?? 'Unknown auditor');
    result.push({
      kind,
      id,
      name,
      serviceId: kind === 'service' ? id : (team?.serviceId ?? null),
      teamId: team?.id ?? null,
      countFrom,
      countTo,
      toolId,
      counts,
      rag,
      reason,
      windows,
    });
  }
  return result.sort((a, b) => byName(a.name, b.name));
}

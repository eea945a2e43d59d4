import { describe, expect, it } from 'vitest';
import type { IsoDate } from '../../platform/working-days.ts';
import { complianceLines, windowsOverlapping, type AuditorRef, type ComplianceInput, type CountedAudit } from './compliance-rules.ts';
import { DEFAULT_SAMPLING_RULES, type ScheduleRow, type ScheduleVersion } from './schedule.ts';

const d = (text: string) => text as IsoDate;

function row(overrides: Partial<ScheduleRow>): ScheduleRow {
  return {
    id: 'row',
    position: 0,
    serviceId: null,
    activity: 'case_audit',
    activityLabel: 'Case file',
    toolId: null,
    formLabel: 'Case file audit',
    quantity: 1,
    per: 'auditor',
    periodMonths: 2,
    auditorRoles: ['auditor'],
    auditorLabel: 'Manager',
    moderatorRole: 'moderator',
    moderationLabel: 'Service Manager',
    selectedBy: 'random',
    selectionLabel: 'QA SW',
    sampling: DEFAULT_SAMPLING_RULES,
    ...overrides,
  };
}
const version = (appliesFrom: string, rows: ScheduleRow[]): ScheduleVersion => ({ id: appliesFrom, appliesFrom: d(appliesFrom), note: '', version: 1, rows });

const services = [{ id: 'area', name: 'Area Unit' }];
const teams = [
  { id: 'north', name: 'North Unit', serviceId: 'area' },
  { id: 'south', name: 'South Unit', serviceId: 'area' },
];
const manager = (staffId: string, teamId: string, extra: Partial<AuditorRef> = {}): AuditorRef => ({ staffId, name: staffId, teamId, serviceId: 'area', roles: ['auditor'], startDate: null, leavingDate: null, ...extra });
const audit = (overrides: Partial<CountedAudit> & { auditorId: string; allocatedOn: string; dueOn: string }): CountedAudit => ({
  id: `${overrides.auditorId}-${overrides.allocatedOn}`,
  teamId: 'north',
  serviceId: 'area',
  toolId: 'tool',
  submittedOn: null,
  overdue: false,
  ...overrides,
  allocatedOn: d(overrides.allocatedOn),
  dueOn: d(overrides.dueOn),
});

function compute(input: Partial<ComplianceInput> & Pick<ComplianceInput, 'versions' | 'period' | 'today'>) {
  const full: ComplianceInput = { services, teams, auditors: [], audits: [], openCases: () => 0, ...input };
  const lines = complianceLines(full, {
    services: new Map(full.services.map((s) => [s.id, s])),
    teams: new Map(full.teams.map((t) => [t.id, t])),
    auditors: new Map(full.auditors.map((a) => [a.staffId, a])),
  });
  return (kind: string, id: string) => lines.find((line) => line.kind === kind && line.id === id);
}

const Q1 = { from: d('2026-04-01'), to: d('2026-06-30') };

describe('the windows of a schedule row', () => {
  it('aligns bimonthly windows to the financial year and takes whole windows the period touches', () => {
    expect(windowsOverlapping(2, Q1.from, Q1.to)).toEqual([
      { from: '2026-04-01', to: '2026-05-31' },
      { from: '2026-06-01', to: '2026-07-31' },
    ]);
    expect(windowsOverlapping(2, d('2026-12-15'), d('2026-12-20'))).toEqual([{ from: '2026-12-01', to: '2027-01-31' }]);
    expect(windowsOverlapping(2, d('2027-03-01'), d('2027-03-31'))).toEqual([{ from: '2027-02-01', to: '2027-03-31' }]);
  });

  it('makes a yearly window the financial year, and quarterly windows the financial quarters', () => {
    expect(windowsOverlapping(12, Q1.from, Q1.to)).toEqual([{ from: '2026-04-01', to: '2027-03-31' }]);
    expect(windowsOverlapping(3, d('2026-05-10'), d('2026-08-01'))).toEqual([
      { from: '2026-04-01', to: '2026-06-30' },
      { from: '2026-07-01', to: '2026-09-30' },
    ]);
  });
});

describe('expected audits per auditor, bimonthly (Bristol)', () => {
  const versions = [version('2025-04-01', [row({ serviceId: 'area' })])];
  const auditors = [manager('tina', 'north'), manager('ola', 'south')];

  it('expects one audit per manager per window the quarter touches, and a manager who audited nothing in an ended window is red', () => {
    const line = compute({
      versions,
      period: Q1,
      today: d('2026-07-15'),
      auditors,
      audits: [audit({ auditorId: 'tina', allocatedOn: '2026-04-10', dueOn: '2026-04-24', submittedOn: d('2026-04-20') }), audit({ auditorId: 'tina', allocatedOn: '2026-06-05', dueOn: '2026-07-31', submittedOn: d('2026-07-01') })],
    });
    expect(line('auditor', 'ola')!.counts).toEqual({ expected: 2, allocated: 0, completedOnTime: 0, completedLate: 0, overdue: 0, notYetAllocated: 2 });
    expect(line('auditor', 'ola')!.rag).toBe('red');
    expect(line('auditor', 'ola')!.reason).toMatch(/1 period ended with fewer audits completed than expected/);
    expect(line('auditor', 'tina')!.counts).toMatchObject({ expected: 2, allocated: 2, completedOnTime: 2, notYetAllocated: 0 });
    expect(line('auditor', 'tina')!.rag).toBe('green');
    // The team and the service add up their managers.
    expect(line('team', 'north')!.counts.expected).toBe(2);
    expect(line('service', 'area')!.counts).toMatchObject({ expected: 4, allocated: 2, notYetAllocated: 2 });
    expect(line('service', 'area')!.countFrom).toBe('2026-04-01');
    expect(line('service', 'area')!.countTo).toBe('2026-07-31');
  });

  it('is amber while a window still runs and red once an audit is overdue; late completions are amber', () => {
    const running = compute({
      versions,
      period: Q1,
      today: d('2026-06-10'),
      auditors: [manager('tina', 'north')],
      audits: [audit({ auditorId: 'tina', allocatedOn: '2026-04-10', dueOn: '2026-04-24', submittedOn: d('2026-04-28') }), audit({ auditorId: 'tina', allocatedOn: '2026-06-05', dueOn: '2026-06-19' })],
    });
    expect(running('auditor', 'tina')!.counts).toMatchObject({ completedOnTime: 0, completedLate: 1, overdue: 0 });
    expect(running('auditor', 'tina')!.rag).toBe('amber');
    const overdue = compute({
      versions,
      period: Q1,
      today: d('2026-06-25'),
      auditors: [manager('tina', 'north')],
      audits: [audit({ auditorId: 'tina', allocatedOn: '2026-04-10', dueOn: '2026-04-24', submittedOn: d('2026-04-20') }), audit({ auditorId: 'tina', allocatedOn: '2026-06-05', dueOn: '2026-06-19', overdue: true })],
    });
    expect(overdue('auditor', 'tina')!.rag).toBe('red');
    expect(overdue('auditor', 'tina')!.reason).toMatch(/1 overdue/);
  });

  it('leaves out a manager who left before the window or started after it', () => {
    const line = compute({ versions, period: Q1, today: d('2026-07-15'), auditors: [manager('gone', 'north', { leavingDate: d('2026-03-31') }), manager('new', 'north', { startDate: d('2026-06-15') })] });
    expect(line('auditor', 'gone')).toBeUndefined();
    expect(line('auditor', 'new')!.counts.expected).toBe(1);
  });

  it('applies a new version from the first window that ends after it: 1 in April–May, then 2 from June', () => {
    const line = compute({
      versions: [version('2025-04-01', [row({ serviceId: 'area', quantity: 1 })]), version('2026-06-01', [row({ serviceId: 'area', quantity: 2 })])],
      period: Q1,
      today: d('2026-08-15'),
      auditors: [manager('tina', 'north')],
    });
    expect(line('auditor', 'tina')!.windows.map((window) => [window.from, window.expected])).toEqual([
      ['2026-04-01', 1],
      ['2026-06-01', 2],
    ]);
    expect(line('auditor', 'tina')!.counts.expected).toBe(3);
  });
});

describe('expected audits per team, per service and as a share of open cases', () => {
  it('expects a count per team in each window, and the service the sum of its teams', () => {
    const line = compute({ versions: [version('2026-04-01', [row({ per: 'team', quantity: 2, periodMonths: 3 })])], period: Q1, today: d('2026-05-01') });
    expect(line('team', 'north')!.counts.expected).toBe(2);
    expect(line('team', 'south')!.counts.expected).toBe(2);
    expect(line('service', 'area')!.counts.expected).toBe(4);
    expect(line('auditor', 'tina')).toBeUndefined();
  });

  it('judges "25 per service per year" over the whole financial year the quarter is in (Lambeth)', () => {
    const line = compute({
      versions: [version('2026-04-01', [row({ per: 'service', quantity: 25, periodMonths: 12 })])],
      period: Q1,
      today: d('2026-06-01'),
      audits: [audit({ auditorId: 'x', allocatedOn: '2026-05-01', dueOn: '2026-05-15', submittedOn: d('2026-05-10') }), audit({ auditorId: 'x', allocatedOn: '2026-09-01', dueOn: '2026-09-15' })],
    });
    expect(line('service', 'area')!.counts).toMatchObject({ expected: 25, allocated: 2, completedOnTime: 1, notYetAllocated: 23 });
    expect(line('service', 'area')!.countTo).toBe('2027-03-31');
    expect(line('service', 'area')!.rag).toBe('amber');
    expect(line('team', 'north')).toBeUndefined();
  });

  it('expects a percentage of the cases open on the first day of each quarter, rounded up (Durham: 5%)', () => {
    const asked: string[] = [];
    const line = compute({
      versions: [version('2026-04-01', [row({ per: 'open_cases_percent', quantity: 5, periodMonths: 3 })])],
      period: { from: d('2026-04-01'), to: d('2026-09-30') },
      today: d('2026-10-15'),
      openCases: (serviceId, day) => {
        asked.push(`${serviceId} ${day}`);
        return day === '2026-04-01' ? 30 : 40;
      },
    });
    expect(asked).toEqual(['area 2026-04-01', 'area 2026-07-01']);
    expect(line('service', 'area')!.windows.map((window) => window.expected)).toEqual([2, 2]);
    expect(line('service', 'area')!.counts.expected).toBe(4);
  });

  it('expects nothing of activities not yet in Assure', () => {
    const line = compute({ versions: [version('2026-04-01', [row({ activity: 'observation', serviceId: 'area' })])], period: Q1, today: d('2026-05-01'), auditors: [manager('tina', 'north')] });
    expect(line('auditor', 'tina')).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { financialQuarter, financialQuarterOf, parseReportPeriod, previousPeriod, quartersEnding, samePeriodLastYear } from './period.ts';

describe('report periods: the UK financial year', () => {
  it('puts April to June in Q1 and January to March in Q4 of the year before', () => {
    expect(financialQuarterOf('2026-04-01')).toEqual({ year: 2026, quarter: 1 });
    expect(financialQuarterOf('2026-06-30')).toEqual({ year: 2026, quarter: 1 });
    expect(financialQuarterOf('2026-12-31')).toEqual({ year: 2026, quarter: 3 });
    expect(financialQuarterOf('2027-03-31')).toEqual({ year: 2026, quarter: 4 });
    expect(financialQuarter(2026, 4)).toMatchObject({ from: '2027-01-01', to: '2027-03-31', label: 'Q4 2026–27 (January to March 2027)' });
    expect(financialQuarter(2026, 2)).toMatchObject({ from: '2026-07-01', to: '2026-09-30' });
  });

  it('compares with the previous period and the same period last year', () => {
    const q1 = financialQuarter(2026, 1);
    expect(previousPeriod(q1)).toMatchObject({ from: '2026-01-01', to: '2026-03-31' });
    expect(samePeriodLastYear(q1)).toMatchObject({ from: '2025-04-01', to: '2025-06-30' });
    const february = parseReportPeriod({ period: 'm:2028-02' }, '2028-05-01').period;
    expect(february).toMatchObject({ from: '2028-02-01', to: '2028-02-29' });
    expect(previousPeriod(february)).toMatchObject({ from: '2028-01-01', to: '2028-01-31' });
    // A range of 10 days: the 10 days before it.
    const range = parseReportPeriod({ period: 'range', from: '11/3/2026', to: '2026-03-20' }, '2026-05-01').period;
    expect(previousPeriod(range)).toMatchObject({ from: '2026-03-01', to: '2026-03-10' });
  });

  it('lists eight quarters ending with the one a day is in, oldest first', () => {
    const quarters = quartersEnding('2026-11-15', 8);
    expect(quarters.map((quarter) => quarter.from)).toEqual(['2025-01-01', '2025-04-01', '2025-07-01', '2025-10-01', '2026-01-01', '2026-04-01', '2026-07-01', '2026-10-01']);
  });

  it('defaults to the quarter today is in and refuses what is not a period', () => {
    expect(parseReportPeriod({}, '2026-11-15')).toMatchObject({ period: { from: '2026-10-01', to: '2026-12-31' }, errors: [] });
    expect(parseReportPeriod({ period: 'q:2026-5' }, '2026-11-15').errors).toEqual([{ field: 'period', message: 'Choose a period from the list' }]);
    expect(parseReportPeriod({ period: 'range', from: '31/2/2026', to: '2026-03-01' }, '2026-11-15').errors[0]).toEqual({ field: 'from', message: 'From must be a real date, like 1/4/2026' });
    expect(parseReportPeriod({ period: 'range', from: '2015-01-01', to: '2026-01-01' }, '2026-11-15').errors[0]?.message).toBe('A report can cover at most 10 years');
  });
});

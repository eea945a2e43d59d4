import { ragText, type ComplianceRow } from '../programme/compliance.ts';
import type { Report } from './report.ts';
import { fig, text, type ReportCell, type ReportTable } from './tables.ts';

/**
 * The tables of the report's section on compliance with the schedule: red, amber and green at a
 * glance, then one line per service, team and auditor with the compliance page's figures. The
 * status is written as words ("Red: Behind"), so no output relies on colour; allocated and
 * overdue keep their links to the tracker, as on the compliance page.
 */
export const COMPLIANCE_SECTION = 'Compliance with the schedule';

const RAGS = ['red', 'amber', 'green', 'none'] as const;

const FIGURE_COLUMNS = ['Expected', 'Allocated', 'Completed on time', 'Completed late', 'Overdue', 'Not yet allocated'];

function lineCells(row: ComplianceRow): ReportCell[] {
  const f = row.figures;
  return [
    text(ragText(row.rag)),
    ...[f.expected, f.allocated, f.completedOnTime, f.completedLate, f.overdue, f.notYetAllocated].map(fig),
    text(row.countFrom),
    text(row.countTo),
    text(row.reason),
  ];
}

export function complianceTables(report: Report): ReportTable[] {
  const found = report.compliance;
  if (!found?.hasSchedule) return [];
  const tail = ['Status', ...FIGURE_COLUMNS, 'Counted from', 'Counted to', 'Why'];
  return [
    {
      id: 'compliance-summary',
      section: COMPLIANCE_SECTION,
      title: 'Compliance with the schedule at a glance',
      columns: ['Level', ...RAGS.map(ragText)],
      rows: (
        [
          ['Services', found.rags.services],
          ['Teams', found.rags.teams],
          ['Auditors', found.rags.auditors],
        ] as const
      ).map(([level, counts]) => [text(level), ...RAGS.map((rag) => text(String(counts[rag])))]),
    },
    {
      id: 'compliance-by-service',
      section: COMPLIANCE_SECTION,
      title: 'Compliance by service',
      columns: ['Service', ...tail],
      rows: found.services.map((row) => [text(row.name), ...lineCells(row)]),
    },
    {
      id: 'compliance-by-team',
      section: COMPLIANCE_SECTION,
      title: 'Compliance by team',
      columns: ['Team', 'Service', ...tail],
      rows: found.teams.map((row) => [text(row.name), text(row.serviceName ?? ''), ...lineCells(row)]),
    },
    {
      id: 'compliance-by-auditor',
      section: COMPLIANCE_SECTION,
      title: 'Compliance by auditor',
      columns: ['Auditor', 'Team', 'Service', ...tail],
      rows: found.auditors.map((row) => [text(row.name), text(row.teamName ?? ''), text(row.serviceName ?? ''), ...lineCells(row)]),
    },
  ];
}

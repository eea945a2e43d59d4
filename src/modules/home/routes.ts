import type { FastifyInstance } from 'fastify';
import type { AppDependencies } from '../../platform/http/types.ts';
import { can, dataScope, roles, type Principal } from '../../platform/access.ts';
import { logActivity } from '../../platform/activity.ts';
import { AUDIT_STATUS_LABELS } from '../audits/tracker.ts';
import { bankHolidayCoverageFor, holidayCalendarFor } from '../org/calendar.ts';
import { myWorkRounds } from '../programme/calendar.ts';
import { myWorkCompliance, programmeReferenceOnce } from '../programme/compliance.ts';
import { coordinates, DUE_SOON_WORKING_DAYS, groupBySection, selectPipeline, selectWork, workDates, type PipelineRow, type SectionKey, type WorkItem } from './my-work.ts';

/** The home page is "My work": what waits on this person, for QA the whole pipeline, and where they can go. */
export async function homeRoutes(app: FastifyInstance, deps: AppDependencies) {
  app.get('/', { config: { access: 'account' } }, async (request, reply) => {
    const principal = request.principal!;
    const dates = workDates(request.today, await holidayCalendarFor(deps.db, principal.organisationId));
    const coordinators = principal.staffId && coordinates(principal) ? [{ staffId: principal.staffId, scope: dataScope(principal, 'audits.view') }] : [];
    const seesPipeline = roles(principal).some((role) => role === 'qa_coordinator' || role === 'qa_lead');
    // Two questions on two connections at once: the page waits for the slower, not for both.
    const [items, pipelineRows] = await Promise.all([
      principal.staffId ? selectWork(deps.db, { organisationId: principal.organisationId, staffId: principal.staffId, coordinators }, dates) : [],
      seesPipeline ? selectPipeline(deps.db, dataScope(principal, 'audits.view'), dates) : null,
    ]);
    const pipeline = pipelineRows?.map(pipelineLinks) ?? null;
    // The page names children (initials and case numbers): looking at it is logged like the tracker.
    await logActivity(deps.db, { principal, ipAddress: request.ip, at: request.at }, {
      action: 'view',
      recordType: 'my_work',
      summary: `${items.length} items waiting${pipeline ? '; audit pipeline' : ''}`,
    });
    // Compliance and the rounds due measure against the same schedule, services and staff: read once.
    const reference = programmeReferenceOnce(deps.db, principal.organisationId);
    const [programmeCompliance, programmeRounds] = await Promise.all([myWorkCompliance(deps.db, principal, request.today, reference), myWorkRounds(deps.db, principal, request.today, reference)]);
    const sections = groupBySection(items);
    return reply.page('home/views/home.njk', {
      hasStaffRecord: principal.staffId !== null,
      // Sections with something in them come first; the empty ones are folded into one line.
      sections: sections.filter((section) => section.items.length),
      emptySections: sections.filter((section) => !section.items.length && sectionApplies(section.key, principal)),
      mainActions: mainActionsFor(principal),
      // An administrator links accounts to staff records themselves: they are told where, not to ask one.
      ownUserHref: can(principal, 'org.manage') ? `/organisation/users/${principal.userId}` : null,
      counts: countsOf(items),
      pipeline,
      dueSoonBy: dates.dueSoonBy,
      dueSoonDays: DUE_SOON_WORKING_DAYS,
      links: linksFor(principal),
      bankHolidays: can(principal, 'org.manage') ? await bankHolidayCoverageFor(deps.db, principal.organisationId, request.today) : null,
      programmeCompliance,
      programmeRounds,
    });
  });
}

/** The work that can come to this person at all: no "nothing to distribute" for an auditor. */
function sectionApplies(key: SectionKey, principal: Principal): boolean {
  if (key === 'distribute' || key === 'close') return coordinates(principal);
  return true;
}

/** What the person starts, rather than answers: shown as buttons at the top of the page. */
function mainActionsFor(principal: Principal) {
  return [{ href: '/audits/allocate', text: 'Allocate an audit', show: can(principal, 'audits.allocate') }].filter((action) => action.show);
}

function countsOf(items: WorkItem[]) {
  return {
    total: items.length,
    overdue: items.filter((item) => item.urgency === 'overdue').length,
    dueSoon: items.filter((item) => item.urgency === 'due_soon').length,
  };
}

/** The tracker filtered to each status, and to its overdue audits for the red count. */
function pipelineLinks(row: PipelineRow) {
  const byStatus = `/audits?status=${row.status}`;
  return { ...row, label: AUDIT_STATUS_LABELS[row.status], href: byStatus, redHref: `${byStatus}&overdue=yes` };
}

/** The places this person may go, so that someone with nothing assigned still has a way in. */
function linksFor(principal: Principal) {
  return [
    { href: '/audits', text: 'Audit tracker', description: 'Every audit you may see, with filters and exports.', show: can(principal, 'audits.view') },
    { href: '/my-audits', text: 'My audits', description: 'The audits you carry out.', show: can(principal, 'audits.view') && principal.staffId !== null },
    { href: '/my-actions', text: 'My actions', description: 'The actions agreed for you, open ones first.', show: can(principal, 'audits.view') && principal.staffId !== null },
    { href: '/actions', text: 'Actions', description: 'Every action in the audits you may see.', show: can(principal, 'audits.view') },
    { href: '/audits/allocate', text: 'Allocate an audit', description: 'Choose a child, the audit tool and the auditor.', show: can(principal, 'audits.allocate') },
    { href: '/children', text: 'Children', description: 'The child register loaded from the case-management system.', show: can(principal, 'children.view') },
    { href: '/children/imports/new', text: 'Import children', description: 'Load a case-management extract (CSV or XLSX).', show: can(principal, 'children.import') },
    { href: '/programme', text: 'Audit programme', description: 'The schedule of expectations, compliance with it and the year’s calendar.', show: can(principal, 'programme.view') },
    { href: '/organisation', text: 'Organisation', description: 'Services, localities, teams, staff and users.', show: can(principal, 'org.view') },
    { href: '/activity', text: 'Activity log', description: 'Who viewed or changed which record, and when.', show: can(principal, 'activity.view') },
  ].filter((link) => link.show);
}

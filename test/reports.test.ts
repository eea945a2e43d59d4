import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditStatus, Grade } from '../src/db/types.ts';
import { fixedClock } from '../src/platform/clock.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createAudit, createAuditTool, createChild } from './support/audits.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';

/**
 * The report against a hand count. Today is 15 November 2026, in Q3 2026–27 (October to
 * December). Each planned audit says when it was moderated and its grades; the expected
 * figures below were counted by hand from this list, not computed.
 */
type TeamKey = 'unit1' | 'unit2' | 'careTeam';
type Planned = { team: TeamKey; allocatedOn: string; moderatedAt: string | null; auditor: Grade | null; final: Grade | null; status: AuditStatus };

const PLAN: Planned[] = [
  /* 1 */ { team: 'unit1', allocatedOn: '2026-09-01', moderatedAt: '2026-10-05T10:00:00Z', auditor: 'good', final: 'good', status: 'closed' },
  /* 2 */ { team: 'unit1', allocatedOn: '2026-09-10', moderatedAt: '2026-10-20T10:00:00Z', auditor: 'good', final: 'requires_improvement', status: 'moderated' },
  /* 3 */ { team: 'unit2', allocatedOn: '2026-10-02', moderatedAt: '2026-11-01T10:00:00Z', auditor: 'outstanding', final: 'good', status: 'moderated' },
  /* 4 */ { team: 'careTeam', allocatedOn: '2026-10-03', moderatedAt: '2026-11-10T10:00:00Z', auditor: 'inadequate', final: 'inadequate', status: 'moderated' },
  // 23:30 UTC on 31 December is still 31 December in London (GMT): in the quarter.
  /* 5 */ { team: 'unit1', allocatedOn: '2026-11-20', moderatedAt: '2026-12-31T23:30:00Z', auditor: 'requires_improvement', final: 'requires_improvement', status: 'moderated' },
  // 00:30 on 1 January in London: the next quarter.
  /* 6 */ { team: 'unit1', allocatedOn: '2026-12-01', moderatedAt: '2027-01-01T00:30:00Z', auditor: 'good', final: 'good', status: 'moderated' },
  // 23:30 UTC on 30 September is 00:30 on 1 October in London (BST): in the quarter.
  /* 7 */ { team: 'unit2', allocatedOn: '2026-09-01', moderatedAt: '2026-09-30T23:30:00Z', auditor: 'good', final: 'good', status: 'moderated' },
  // The previous quarter (July to September).
  /* 8 */ { team: 'unit1', allocatedOn: '2026-07-01', moderatedAt: '2026-08-15T10:00:00Z', auditor: 'good', final: 'good', status: 'closed' },
  /* 9 */ { team: 'unit2', allocatedOn: '2026-07-02', moderatedAt: '2026-09-01T10:00:00Z', auditor: 'requires_improvement', final: 'inadequate', status: 'closed' },
  // The same quarter last year.
  /* 10 */ { team: 'careTeam', allocatedOn: '2025-10-01', moderatedAt: '2025-11-11T10:00:00Z', auditor: 'outstanding', final: 'outstanding', status: 'closed' },
  // Not moderated yet: allocated in the quarter.
  /* 11 */ { team: 'unit1', allocatedOn: '2026-10-10', moderatedAt: null, auditor: null, final: null, status: 'in_progress' },
];

const TODAY = new Date('2026-11-15T12:00:00Z');

/** Actions on audits 1 and 2, counted by hand below. */
const ACTIONS: { audit: number; createdAt: string; dueOn: string; status: 'open' | 'done' | 'verified'; doneAt?: string; verifiedAt?: string }[] = [
  /* a1 */ { audit: 0, createdAt: '2026-10-05T10:00:00Z', dueOn: '2026-11-01', status: 'done', doneAt: '2026-10-30T10:00:00Z' },
  /* a2 */ { audit: 0, createdAt: '2026-10-06T10:00:00Z', dueOn: '2026-11-10', status: 'open' },
  /* a3 */ { audit: 1, createdAt: '2026-10-20T10:00:00Z', dueOn: '2026-12-20', status: 'verified', doneAt: '2026-11-02T10:00:00Z', verifiedAt: '2026-11-12T10:00:00Z' },
  /* a4 */ { audit: 1, createdAt: '2026-08-01T10:00:00Z', dueOn: '2026-10-15', status: 'done', doneAt: '2026-10-20T10:00:00Z' },
  /* a5 */ { audit: 1, createdAt: '2026-09-01T10:00:00Z', dueOn: '2026-11-05', status: 'open' },
];

/** The number shown in the cell after a row header, by the row's header text and the column's position. */
function cell(html: string, caption: string, rowHeader: string, column: number): string {
  const table = new RegExp(`<caption[^>]*>\\s*${caption}[\\s\\S]*?</table>`).exec(html)?.[0] ?? '';
  const row = [...table.matchAll(/<tr class="govuk-table__row">([\s\S]*?)<\/tr>/g)].map((match) => match[1]!).find((body) => pageText(/<th[^>]*>([\s\S]*?)<\/th>/.exec(body)?.[1] ?? '').startsWith(rowHeader));
  const cells = [...(row ?? '').matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((match) => pageText(match[1]!).replace(/ .*$/, ''));
  return cells[column] ?? 'missing';
}

describe.each(testDrivers())('reports on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  const clients = {} as Record<'lead' | 'moderator' | 'auditor' | 'practitioner', TestClient>;

  beforeAll(async () => {
    t = await createTestApp(driver, {}, fixedClock(TODAY));
    council = await createSmallCouncil(t.db);
    const org = council.organisation.id;
    const tool = await createAuditTool(t.db, org);
    const audits: { id: string; childId: string }[] = [];
    for (const [i, row] of PLAN.entries()) {
      const team = council.teams[row.team];
      const child = await createChild(t.db, org, { externalId: `REP-${i + 1}`, initials: 'AB', teamId: team.id });
      const audit = await createAudit(t.db, {
        organisationId: org,
        childId: child.id,
        toolEditionId: tool.editionId,
        auditorId: row.team === 'unit1' ? council.staff.manager1.id : council.staff.qaOfficer.id,
        moderatorId: row.moderatedAt ? council.staff.serviceManager.id : null,
        teamId: team.id,
        serviceId: team.service_id,
        status: row.status,
        allocatedOn: row.allocatedOn,
        due: '2027-06-30',
        submittedAt: row.moderatedAt,
        moderatedAt: row.moderatedAt,
        auditorGrade: row.auditor,
        finalGrade: row.final,
      });
      audits.push({ id: audit.id, childId: child.id });
    }
    for (const [row, action] of ACTIONS.entries()) {
      const on = audits[action.audit]!;
      await t.db
        .insertInto('actions')
        .values({
          organisation_id: org,
          audit_id: on.id,
          child_id: on.childId,
          answer_key: 'actions',
          row_index: row,
          text: `Action ${row + 1}`,
          owner_id: council.staff.worker1.id,
          due_on: action.dueOn,
          status: action.status,
          created_at: action.createdAt,
          done_at: action.doneAt ?? null,
          evidence: action.doneAt ? 'Done' : null,
          verified_at: action.verifiedAt ?? null,
          verification_note: action.verifiedAt ? 'Checked' : null,
        })
        .execute();
    }
    const users = { lead: 'qa_lead', moderator: 'moderator', auditor: 'auditor', practitioner: 'practitioner' } as const;
    for (const [key, role] of Object.entries(users) as [keyof typeof users, (typeof users)[keyof typeof users]][]) {
      clients[key] = new TestClient(t.app);
      await clients[key].signIn(council.users[role].email, PASSWORD);
    }
  }, 120_000);
  afterAll(async () => t?.close());

  it('shows the quarter the clock is in, with grades, comparisons and calibration as counted by hand', async () => {
    const response = await clients.lead.get('/reports');
    expect(response.statusCode).toBe(200);
    const html = response.body;
    expect(pageText(html)).toContain('Q3 2026–27 (October to December 2026)');
    // Columns: Outstanding, Good, Requires improvement, Inadequate, All graded, Good or better.
    expect([0, 1, 2, 3, 4, 5].map((column) => cell(html, 'Final grades of audits graded in each period', 'This period', column))).toEqual(['0', '3', '2', '1', '6', '50%']);
    expect([0, 1, 2, 3, 4, 5].map((column) => cell(html, 'Final grades of audits graded in each period', 'Previous period', column))).toEqual(['0', '1', '0', '1', '2', '50%']);
    expect([0, 1, 2, 3, 4, 5].map((column) => cell(html, 'Final grades of audits graded in each period', 'Same period last year', column))).toEqual(['1', '0', '0', '0', '1', '100%']);
    // By team: North Unit 1 has audits 1, 2 and 5 in the quarter.
    expect([1, 2, 4].map((column) => cell(html, 'Final grades by team', 'North Unit 1', column))).toEqual(['1', '2', '3']);
    // The auditor × final matrix: Good→Good twice (1, 7), Good→RI once (2), Outstanding→Good once (3).
    expect(cell(html, 'Auditor’s grade', 'Good', 1)).toBe('2');
    expect(cell(html, 'Auditor’s grade', 'Good', 2)).toBe('1');
    expect(cell(html, 'Auditor’s grade', 'Outstanding', 1)).toBe('1');
    expect(pageText(html)).toContain('kept the auditor’s grade on 4 (66.7%), raised it on 0 and lowered it on 2');
    // Activity: allocated in the quarter are audits 3, 4, 5, 6 and 11.
    expect(cell(html, 'Audits allocated, submitted, moderated and closed in the period', 'All', 0)).toBe('5');
  });

  it('counts actions as counted by hand: agreed, done, verified, open, overdue and done by their due date', async () => {
    // What the eye reads: without the words added for screen readers inside each link.
    const html = (await clients.lead.get('/reports')).body.replace(/<span class="govuk-visually-hidden">[\s\S]*?<\/span>/g, '');
    const text = pageText(html).replace(/\s+/g, ' ').replace(/ ([,;)])/g, '$1').replace(/\( /g, '(');
    expect(text).toContain('Agreed in the period 3');
    expect(text).toContain('Marked done in the period 3');
    expect(text).toContain('Verified in the period 1');
    expect(text).toContain('Due in the period 5, of which 2 done by their due date (40%)');
    expect(text).toContain('Open today 2');
    expect(text).toContain('Overdue today 2; the oldest was due 5 November 2026');
  });

  it('drills down: every figure links to the tracker, which lists exactly that many audits', async () => {
    const html = (await clients.lead.get('/reports')).body;
    const links = [...html.matchAll(/<a class="govuk-link" href="(\/(?:audits|actions)\?[^"]+)">([\d,]+)</g)].map((match) => ({ href: match[1]!.replaceAll('&amp;', '&'), n: Number(match[2]!.replace(',', '')) }));
    expect(links.length).toBeGreaterThan(20);
    for (const link of links) {
      const tracker = (await clients.lead.get(link.href)).body;
      const shown = /Showing [\d,]+ to [\d,]+ of ([\d,]+)/.exec(pageText(tracker))?.[1] ?? (/No actions|no actions/.test(tracker) ? '0' : undefined);
      expect({ href: link.href, n: Number(shown?.replace(',', '')) }).toEqual(link);
    }
  });

  it('compares any quarter, and refuses a backwards or over-long range with a message by the field', async () => {
    const previous = await clients.lead.get('/reports?period=q:2026-2');
    expect(cell(previous.body, 'Final grades of audits graded in each period', 'This period', 4)).toBe('2');
    const backwards = await clients.lead.get('/reports?period=range&from=2026-12-01&to=2026-11-01');
    expect(backwards.statusCode).toBe(400);
    expect(pageText(backwards.body)).toContain('To must be the same as or after from');
    const tooLong = await clients.lead.get('/reports?period=range&from=2010-01-01&to=2026-11-01');
    expect(pageText(tooLong.body)).toContain('A report can cover at most 10 years');
    const unknown = await clients.lead.get(`/reports?service=${'00000000-0000-4000-8000-000000000000'}`);
    expect(unknown.statusCode).toBe(400);
    expect(pageText(unknown.body)).toContain('Choose a service from the list');
  });

  it('shows an empty period as zeros and says so', async () => {
    const response = await clients.lead.get('/reports?period=q:2020-1');
    expect(response.statusCode).toBe(200);
    expect(pageText(response.body)).toContain('No audits were graded (moderated) in this period');
    expect(cell(response.body, 'Final grades of audits graded in each period', 'This period', 5)).toBe('—');
  });

  it('keeps each reader to their scope: a team manager sees their team, a practitioner no reports', async () => {
    const html = (await clients.auditor.get('/reports')).body;
    // Tina Manager's team is North Unit 1: audits 1, 2 and 5 in the quarter, and no other team.
    expect(cell(html, 'Final grades of audits graded in each period', 'This period', 4)).toBe('3');
    expect(pageText(html)).not.toContain('Through Care Team');
    expect((await clients.practitioner.get('/reports')).statusCode).toBe(403);
  });

  it('keeps a service manager to their service alone: an audit they moderated in another service does not count, and every link lists what is counted', async () => {
    const html = (await clients.moderator.get('/reports')).body;
    // Sam Service (Area Social Work) moderated audit 4, of the Through Care Team in Through Care: not in their report.
    // The quarter's graded audits in Area Social Work: 1, 2, 3, 5 and 7 — Good 3, Requires improvement 2, Inadequate 0.
    expect([0, 1, 2, 3, 4].map((column) => cell(html, 'Final grades of audits graded in each period', 'This period', column))).toEqual(['0', '3', '2', '0', '5']);
    expect(pageText(html)).not.toContain('Through Care Team');
    expect(pageText(html)).toContain('This report counts the audits of Area Social Work alone');
    // The tracker reaches audit 4 too (Sam moderated it); the report's links say "your services and teams only".
    const reached = pageText((await clients.moderator.get('/audits?moderatedFrom=2026-10-01&moderatedTo=2026-12-31')).body);
    expect(/Showing 1 to (\d+) of/.exec(reached)?.[1]).toBe('6');
    const links = [...html.matchAll(/<a class="govuk-link" href="(\/(?:audits|actions)\?[^"]+)">([\d,]+)</g)].map((match) => ({ href: match[1]!.replaceAll('&amp;', '&'), n: Number(match[2]!.replace(',', '')) }));
    expect(links.length).toBeGreaterThan(20);
    for (const link of links) {
      expect(link.href).toContain('ownUnits=yes');
      const tracker = (await clients.moderator.get(link.href)).body;
      const shown = /Showing [\d,]+ to [\d,]+ of ([\d,]+)/.exec(pageText(tracker))?.[1] ?? (/No actions|no actions/.test(tracker) ? '0' : undefined);
      expect({ href: link.href, n: Number(shown?.replace(',', '')) }).toEqual(link);
    }
    // Organisation scope is unchanged: the QA lead's links carry no such filter.
    expect((await clients.lead.get('/reports')).body).not.toContain('ownUnits=yes');
  }, 120_000);
});

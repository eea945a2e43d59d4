import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Grade } from '../src/db/types.ts';
import { createApiToken } from '../src/modules/account/service.ts';
import { fixedClock } from '../src/platform/clock.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createAudit, createAuditTool, createChild } from './support/audits.ts';
import { pageText, TestClient } from './support/client.ts';
import { testDrivers } from './support/database.ts';
import { docxPageMarks, docxText, pdfPages } from './support/documents.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';

/**
 * The report's outputs: each table as CSV and XLSX, the quarterly QA report written, issued,
 * frozen and downloaded as DOCX and PDF, and the BI data feed. Today is 15 November 2026, in
 * Q3 2026–27 (October to December). The figures expected below were counted by hand from PLAN.
 */
type TeamKey = 'unit1' | 'unit2' | 'careTeam';
const PLAN: { team: TeamKey; allocatedOn: string; moderatedAt: string | null; auditor: Grade | null; final: Grade | null }[] = [
  /* 1 */ { team: 'unit1', allocatedOn: '2026-10-01', moderatedAt: '2026-10-05T10:00:00Z', auditor: 'good', final: 'good' },
  /* 2 */ { team: 'unit1', allocatedOn: '2026-10-02', moderatedAt: '2026-10-20T10:00:00Z', auditor: 'good', final: 'requires_improvement' },
  /* 3 */ { team: 'careTeam', allocatedOn: '2026-10-03', moderatedAt: '2026-11-10T10:00:00Z', auditor: 'inadequate', final: 'inadequate' },
  /* 4: the previous quarter */ { team: 'unit2', allocatedOn: '2026-07-01', moderatedAt: '2026-08-15T10:00:00Z', auditor: 'good', final: 'good' },
  /* 5: allocated in the quarter, not moderated yet */ { team: 'unit2', allocatedOn: '2026-11-01', moderatedAt: null, auditor: null, final: null },
];
const TODAY = new Date('2026-11-15T12:00:00Z');
const Q3 = 'period=q:2026-3';

/** The lines of a CSV download, without its byte-order mark. */
const csvLines = (body: string) => body.replace(/^\uFEFF/, '').trim().split('\r\n');

describe.each(testDrivers())('the report’s outputs on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let audits: { id: string; reference: number; childId: string }[];
  let toolEditionId: string;
  const clients = {} as Record<'lead' | 'coordinator' | 'auditor' | 'moderator', TestClient>;

  beforeAll(async () => {
    t = await createTestApp(driver, {}, fixedClock(TODAY));
    council = await createSmallCouncil(t.db);
    const org = council.organisation.id;
    const tool = await createAuditTool(t.db, org);
    toolEditionId = tool.editionId;
    audits = [];
    for (const [i, row] of PLAN.entries()) {
      const team = council.teams[row.team];
      const child = await createChild(t.db, org, { externalId: `OUT-${i + 1}`, initials: 'AB', teamId: team.id });
      const audit = await createAudit(t.db, {
        organisationId: org,
        childId: child.id,
        toolEditionId: tool.editionId,
        auditorId: row.team === 'unit1' ? council.staff.manager1.id : council.staff.qaOfficer.id,
        moderatorId: row.moderatedAt ? council.staff.serviceManager.id : null,
        teamId: team.id,
        serviceId: team.service_id,
        status: row.moderatedAt ? 'moderated' : 'in_progress',
        allocatedOn: row.allocatedOn,
        due: '2027-06-30',
        submittedAt: row.moderatedAt,
        moderatedAt: row.moderatedAt,
        auditorGrade: row.auditor,
        finalGrade: row.final,
      });
      audits.push({ id: audit.id, reference: audit.reference, childId: child.id });
    }
    // Audit 2's judgements: the moderator lowered one of two; audit 1 has practitioner feedback and an action.
    await t.db
      .insertInto('audit_judgements')
      .values([
        { audit_id: audits[1]!.id, organisation_id: org, section_key: 'plan', stage: 'auditor', grade: 'good', reason: null },
        { audit_id: audits[1]!.id, organisation_id: org, section_key: 'plan', stage: 'moderator', grade: 'requires_improvement', reason: 'Plan not SMART' },
        { audit_id: audits[1]!.id, organisation_id: org, section_key: 'voice', stage: 'auditor', grade: 'good', reason: null },
      ])
      .execute();
    await t.db.updateTable('audits').set({ practitioner_feedback: JSON.stringify({ useful: 'Yes', learning: '=HYPERLINK("x")' }), feedback_at: '2026-10-10T10:00:00Z' }).where('id', '=', audits[0]!.id).execute();
    await t.db
      .insertInto('actions')
      .values({ organisation_id: org, audit_id: audits[0]!.id, child_id: audits[0]!.childId, answer_key: 'actions', row_index: 0, text: 'Update the plan', owner_id: council.staff.worker1.id, due_on: '2026-11-01', status: 'open', created_at: '2026-10-05T10:00:00Z' })
      .execute();
    const users = { lead: 'qa_lead', coordinator: 'qa_coordinator', auditor: 'auditor', moderator: 'moderator' } as const;
    for (const [key, role] of Object.entries(users) as [keyof typeof users, (typeof users)[keyof typeof users]][]) {
      clients[key] = new TestClient(t.app);
      await clients[key].signIn(council.users[role].email, PASSWORD);
    }
  }, 120_000);
  afterAll(async () => t?.close());

  async function exports(summaryLike: string) {
    return t.db.selectFrom('activity_log').select(['summary', 'actor']).where('action', '=', 'export').where('summary', 'like', summaryLike).execute();
  }

  describe('each table as CSV and XLSX', () => {
    it('links every table to its downloads for the same period and filters', async () => {
      const html = (await clients.lead.get(`/reports?${Q3}&service=${council.services.area.id}`)).body;
      expect(html).toContain(`/reports/export.csv?period=q%3A2026-3&amp;service=${council.services.area.id}&amp;table=grades-by-team`);
      expect(html).toContain('/reports/export.xlsx?period=q%3A2026-3&amp;service=');
      expect(html).toContain('/reports/quarterly?period=q%3A2026-3');
      expect((await clients.auditor.get(`/reports?${Q3}`)).body).not.toContain('/reports/quarterly?');
    });

    it('gives a table as CSV, counted as by hand, with a formula-like name neutralised', async () => {
      await t.db.updateTable('teams').set({ name: '=Through Care Team' }).where('id', '=', council.teams.careTeam.id).execute();
      try {
        const response = await clients.lead.get(`/reports/export.csv?${Q3}&table=grades-by-team`);
        expect(response.statusCode).toBe(200);
        expect(response.headers['content-type']).toContain('text/csv');
        expect(response.headers['content-disposition']).toBe('attachment; filename="grades-by-team-q3-2026-27.csv"');
        const lines = csvLines(response.body);
        expect(lines[0]).toBe('Team,Outstanding,Good,Requires improvement,Inadequate,All graded,Good or better');
        expect(lines.slice(1).sort()).toEqual(["'=Through Care Team,0,0,0,1,1,0%", 'North Unit 1,0,1,1,0,2,50%']);
      } finally {
        await t.db.updateTable('teams').set({ name: 'Through Care Team' }).where('id', '=', council.teams.careTeam.id).execute();
      }
      expect(await exports('CSV: Final grades by team; Q3 2026–27%')).toHaveLength(1);
    });

    it('gives a table as XLSX that reads back with numbers as numbers', async () => {
      const response = await clients.lead.get(`/reports/export.xlsx?${Q3}&table=grades-comparison`);
      expect(response.statusCode).toBe(200);
      const workbook = new ExcelJS.Workbook();
      await workbook.xlsx.load(response.rawPayload as unknown as ArrayBuffer);
      const sheet = workbook.worksheets[0]!;
      expect(sheet.getRow(1).values).toEqual([undefined, 'Period', 'Dates', 'Outstanding', 'Good', 'Requires improvement', 'Inadequate', 'All graded', 'Good or better']);
      // This period: audits 1, 2 and 3; previous: audit 4.
      expect((sheet.getRow(2).values as unknown[]).slice(1)).toEqual(['This period', 'Q3 2026–27 (October to December 2026)', 0, 1, 1, 1, 3, 0.333]);
      expect((sheet.getRow(3).values as unknown[]).slice(1, 9)).toEqual(['Previous period', 'Q2 2026–27 (July to September 2026)', 0, 1, 0, 0, 1, 1]);
      expect(await exports('XLSX: Final grades of audits graded in each period%')).toHaveLength(1);
    });

    it('keeps every filter of the page in its downloads: one auditor’s audits alone', async () => {
      const auditor = council.staff.manager1.id;
      const html = (await clients.lead.get(`/reports?${Q3}&legalStatus=cin&auditor=${auditor}`)).body;
      expect(html).toContain(`/reports/export.csv?period=q%3A2026-3&amp;legalStatus=cin&amp;auditor=${auditor}&amp;table=grades-by-team`);
      const lines = csvLines((await clients.lead.get(`/reports/export.csv?${Q3}&legalStatus=cin&auditor=${auditor}&table=grades-by-team`)).body);
      // Only North Unit 1's audits are Tina Manager's; Through Care's is the QA officer's.
      expect(lines.slice(1)).toEqual(['North Unit 1,0,1,1,0,2,50%']);
      expect(await exports(`CSV: Final grades by team; Q3 2026–27%; legal status cin, auditor ${auditor}`)).toHaveLength(1);
    });

    it('counts within the reader’s scope, and refuses an unknown table or a bad period', async () => {
      const lines = csvLines((await clients.auditor.get(`/reports/export.csv?${Q3}&table=grades-by-team`)).body);
      expect(lines.slice(1)).toEqual(['North Unit 1,0,1,1,0,2,50%']);
      expect((await clients.lead.get(`/reports/export.csv?${Q3}&table=nothing`)).statusCode).toBe(404);
      const backwards = await clients.lead.get('/reports/export.csv?period=range&from=2026-12-01&to=2026-11-01&table=activity');
      expect(backwards.statusCode).toBe(400);
      expect(pageText(backwards.body)).toContain('To must be the same as or after from');
    });
  });

  describe('the quarterly QA report', () => {
    let versionOnPage: string;

    it('shows a commentary box per section, to the QA lead only', async () => {
      const page = await clients.lead.get(`/reports/quarterly?${Q3}`);
      expect(page.statusCode).toBe(200);
      const text = pageText(page.body);
      for (const section of ['1. Activity', '2. Grades', '3. Moderation and calibration', '4. Inadequate audits and re-audits', '5. Family feedback', '6. Actions', '7. Themes']) expect(text).toContain(section);
      expect(text).toContain('Not issued yet');
      versionOnPage = /name="_version" value="(\d+)"/.exec(page.body)![1]!;
      expect(versionOnPage).toBe('0');
      expect((await clients.coordinator.get(`/reports/quarterly?${Q3}`)).statusCode).toBe(403);
    });

    it('saves a draft, and refuses a stale save with the writer’s text kept and the other text shown', async () => {
      await clients.lead.get(`/reports/quarterly?${Q3}`);
      const first = await clients.lead.post('/reports/quarterly', { period: 'q:2026-3', _version: '0', action: 'save', 'commentary-grades': 'Half of audits were Good or better.' });
      expect(first.statusCode).toBe(303);
      const stale = await clients.lead.post('/reports/quarterly', { period: 'q:2026-3', _version: '0', action: 'save', 'commentary-grades': 'My own words on grades.' });
      expect(stale.statusCode).toBe(409);
      expect(pageText(stale.body)).toContain('Someone else saved commentary on this report since you opened it');
      expect(stale.body).toContain('My own words on grades.');
      expect(stale.body).toContain('Half of audits were Good or better.');
      const stored = await t.db.selectFrom('report_commentaries').select(['commentary', 'version']).executeTakeFirstOrThrow();
      expect(stored).toEqual({
        commentary: {
          'commentary-activity': '',
          'commentary-grades': 'Half of audits were Good or better.',
          'commentary-moderation-and-calibration': '',
          'commentary-inadequate-audits-and-re-audits': '',
          'commentary-family-feedback': '',
          'commentary-actions': '',
          'commentary-themes': '',
        },
        version: 1,
      });
    });

    let editionOne: string;

    it('issues the report and downloads it as DOCX and PDF: cover, contents, charts, tables, comparison and commentary', async () => {
      await clients.lead.get(`/reports/quarterly?${Q3}`);
      const issued = await clients.lead.post('/reports/quarterly', {
        period: 'q:2026-3',
        _version: '1',
        action: 'issue',
        'commentary-grades': 'One audit in three was Good.',
        'commentary-actions': '=SUM(A1) is not a formula here',
      });
      expect(issued.statusCode).toBe(303);
      editionOne = /issued=([0-9a-f-]{36})/.exec(String(issued.headers.location))![1]!;
      const page = await clients.lead.get(String(issued.headers.location));
      expect(pageText(page.body)).toContain('Edition 1 of the report for Q3 2026–27 (October to December 2026) is issued');

      const docx = await clients.lead.get(`/reports/issued/${editionOne}/report.docx`);
      expect(docx.statusCode).toBe(200);
      expect(docx.headers['content-disposition']).toBe('attachment; filename="quarterly-qa-report-q3-2026-27-edition-1.docx"');
      const text = await docxText(docx.rawPayload);
      expect(text).toContain('Quarterly quality assurance report');
      expect(text).toContain(council.organisation.name);
      expect(text).toContain('Edition 1, issued by Lee Lead on 15 November 2026');
      expect(text).toContain('Contents');
      expect(text).toContain('One audit in three was Good.');
      expect(text).toContain("'=SUM(A1) is not a formula here");
      expect(text).toContain('Compared with the previous period (Q2 2026–27 (July to September 2026)) and the same period last year (Q3 2025–26 (October to December 2025))');
      expect(text).toContain('Final grades by team');
      expect(text).toContain('No commentary was written for this section.');
      const marks = await docxPageMarks(docx.rawPayload);
      expect(marks.headers.join(' ')).toContain('OFFICIAL-SENSITIVE');
      // The charts are pictures in the document, with their descriptions as alternative text: the
      // final grades, their trend, each stage's timeliness and the grades by practice domain.
      const JSZip = (await import('jszip')).default;
      const zip = await JSZip.loadAsync(docx.rawPayload);
      expect(Object.keys(zip.files).filter((name) => name.startsWith('word/media/'))).toHaveLength(4);
      expect(await zip.file('word/document.xml')!.async('string')).toContain('descr="This period (Q3 2026–27 (October to December 2026)): Outstanding 0, Good 1');

      const pdf = await clients.lead.get(`/reports/issued/${editionOne}/report.pdf`);
      expect(pdf.statusCode).toBe(200);
      const pages = await pdfPages(pdf.rawPayload);
      const all = pages.join('\n');
      expect(pages[0]).toContain('Quarterly quality assurance report');
      expect(pages[0]).toContain('OFFICIAL-SENSITIVE');
      expect(pages[1]).toContain('Contents');
      expect(all).toContain('One audit in three was Good.');
      expect(all).toContain('Moderation compared');
      expect(all).toMatch(/Page 1 of \d+/);
      expect(await exports('DOCX: Q3 2026–27%')).toHaveLength(1);
      expect(await exports('PDF: Q3 2026–27%')).toHaveLength(1);
    }, 90_000);

    it('keeps an issued edition as it was when the data changes; issuing again makes edition 2', async () => {
      const before = await docxText((await clients.lead.get(`/reports/issued/${editionOne}/report.docx`)).rawPayload);
      // Audit 3 regraded Good: the quarter now has two Good.
      await t.db.updateTable('audits').set({ final_grade: 'good' }).where('id', '=', audits[2]!.id).execute();
      try {
        const after = await docxText((await clients.lead.get(`/reports/issued/${editionOne}/report.docx`)).rawPayload);
        expect(after).toBe(before);
        await clients.lead.get(`/reports/quarterly?${Q3}`);
        const again = await clients.lead.post('/reports/quarterly', { period: 'q:2026-3', _version: '2', action: 'issue', 'commentary-grades': 'Two audits in three were Good.' });
        expect(again.statusCode).toBe(303);
        const editionTwo = /issued=([0-9a-f-]{36})/.exec(String(again.headers.location))![1]!;
        const second = await docxText((await clients.lead.get(`/reports/issued/${editionTwo}/report.docx`)).rawPayload);
        expect(second).toContain('Edition 2, issued by Lee Lead');
        expect(second).toContain('Outstanding 0, Good 2');
        expect(before).toContain('Outstanding 0, Good 1');
        const list = pageText((await clients.lead.get('/reports/issued')).body);
        expect(list).toMatch(/Q3 2026–27 \(October to December 2026\) 2 [\s\S]*Q3 2026–27 \(October to December 2026\) 1 /);
      } finally {
        await t.db.updateTable('audits').set({ final_grade: 'inadequate' }).where('id', '=', audits[2]!.id).execute();
      }
    }, 90_000);

    it('lets organisation-scope readers read an organisation-wide issue, and a team manager only an issue for their team', async () => {
      expect((await clients.coordinator.get(`/reports/issued/${editionOne}/report.pdf`)).statusCode).toBe(200);
      expect((await clients.auditor.get(`/reports/issued/${editionOne}/report.pdf`)).statusCode).toBe(404);
      expect(pageText((await clients.auditor.get('/reports/issued')).body)).toContain('No quarterly report you can read has been issued yet');
      const unit1 = council.teams.unit1.id;
      await clients.lead.get(`/reports/quarterly?${Q3}&team=${unit1}`);
      const issued = await clients.lead.post('/reports/quarterly', { period: 'q:2026-3', team: unit1, _version: '0', action: 'issue' });
      expect(issued.statusCode).toBe(303);
      const teamIssue = /issued=([0-9a-f-]{36})/.exec(String(issued.headers.location))![1]!;
      expect((await clients.auditor.get(`/reports/issued/${teamIssue}/report.docx`)).statusCode).toBe(200);
      // The service's moderator reaches the team through its service.
      expect((await clients.moderator.get(`/reports/issued/${teamIssue}/report.docx`)).statusCode).toBe(200);
      expect((await clients.moderator.get(`/reports/issued/${editionOne}/report.docx`)).statusCode).toBe(404);
    }, 90_000);
  });

  describe('the data feed for BI tools', () => {
    it('gives the audits allocated in the period, as counted by hand, within the reader’s scope', async () => {
      const response = await clients.lead.get(`/reports/feed/audits.csv?${Q3}`);
      expect(response.statusCode).toBe(200);
      const lines = csvLines(response.body);
      expect(lines[0]).toMatch(/^audit_id,audit_reference,child_id,tool_key,/);
      // Audits 1, 2, 3 and 5 were allocated in the quarter; 4 in the one before.
      expect(lines.slice(1).map((line) => line.split(',')[2]).sort()).toEqual(['OUT-1', 'OUT-2', 'OUT-3', 'OUT-5']);
      const header = lines[0]!.split(',');
      const audit2 = lines.find((line) => line.includes('OUT-2'))!.split(',');
      expect(audit2[header.indexOf('auditor_grade')]).toBe('good');
      expect(audit2[header.indexOf('final_grade')]).toBe('requires_improvement');
      expect(audit2[header.indexOf('moderated_on')]).toBe('2026-10-20');
      expect(audit2[header.indexOf('team')]).toBe('North Unit 1');
      // The team manager's feed: their team's audits 1 and 2.
      const theirs = csvLines((await clients.auditor.get(`/reports/feed/audits.csv?${Q3}`)).body);
      expect(theirs.slice(1).map((line) => line.split(',')[2]).sort()).toEqual(['OUT-1', 'OUT-2']);
      expect(await exports('CSV: audits; Q3 2026–27%')).toHaveLength(2);
    });

    it('gives one row per judgement with auditor’s and final grade, feedback answers neutralised, and actions', async () => {
      const judgements = csvLines((await clients.lead.get(`/reports/feed/judgements.csv?${Q3}`)).body);
      expect(judgements).toHaveLength(3);
      const header = judgements[0]!.split(',');
      const plan = judgements.find((line) => line.includes(',plan,'))!.split(',');
      expect([plan[header.indexOf('domain')], plan[header.indexOf('auditor_grade')], plan[header.indexOf('moderator_grade')], plan[header.indexOf('final_grade')], plan[header.indexOf('changed_by_moderation')]]).toEqual([
        'not_mapped',
        'good',
        'requires_improvement',
        'requires_improvement',
        'yes',
      ]);
      const voice = judgements.find((line) => line.includes(',voice,'))!.split(',');
      expect([voice[header.indexOf('final_grade')], voice[header.indexOf('changed_by_moderation')]]).toEqual(['good', 'no']);

      const feedback = csvLines((await clients.lead.get(`/reports/feed/feedback.csv?${Q3}`)).body);
      expect(feedback.slice(1).sort()).toEqual([`${audits[0]!.id},${audits[0]!.reference},2026-10-10,learning,"'=HYPERLINK(""x"")"`, `${audits[0]!.id},${audits[0]!.reference},2026-10-10,useful,Yes`]);

      const actions = csvLines((await clients.lead.get(`/reports/feed/actions.csv?${Q3}`)).body);
      expect(actions).toHaveLength(2);
      const actionHeader = actions[0]!.split(',');
      const action = actions[1]!.split(',');
      expect([action[actionHeader.indexOf('status')], action[actionHeader.indexOf('due_on')], action[actionHeader.indexOf('overdue')], action[actionHeader.indexOf('done_on_time')]]).toEqual(['open', '2026-11-01', 'yes', 'no']);
    });

    it('answers on the API with a bearer token, in the same scope, and refuses a bad period by name', async () => {
      const token = await createApiToken(t.db, { userId: council.users.auditor.id, organisationId: council.organisation.id, name: 'BI' });
      const response = await t.app.inject({ method: 'GET', url: `/api/v1/feed/audits?${Q3}`, headers: { authorization: `Bearer ${token}` } });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toContain('text/csv');
      expect(csvLines(response.body).slice(1).map((line) => line.split(',')[2]).sort()).toEqual(['OUT-1', 'OUT-2']);
      expect((await t.app.inject({ method: 'GET', url: `/api/v1/feed/audits?${Q3}` })).statusCode).toBe(401);
      const bad = await t.app.inject({ method: 'GET', url: '/api/v1/feed/audits?period=range&from=2010-01-01&to=2026-11-01', headers: { authorization: `Bearer ${token}` } });
      expect(bad.statusCode).toBe(422);
      expect(bad.json()).toMatchObject({ errors: [{ field: 'to', message: 'A report can cover at most 10 years' }] });
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/feed/children', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(404);
      expect(await exports('API: audits; Q3 2026–27%')).toHaveLength(1);
      // The OpenAPI document carries the column dictionary of every table.
      const description = (await t.app.inject({ url: '/api/v1/openapi.json' })).json().paths['/feed/{dataset}'].get.description as string;
      for (const column of ['`audit_id`', '`final_grade`', '`changed_by_moderation`', '`question_key`', '`done_on_time`']) expect(description).toContain(column);
    });

    it('reads a feed larger than one batch without losing or repeating a row', async () => {
      const org = council.organisation.id;
      const child = await createChild(t.db, org, { externalId: 'MANY', initials: 'MN', teamId: council.teams.unit2.id });
      const many = Array.from({ length: 1203 }, () => ({
        organisation_id: org,
        child_id: child.id,
        tool_edition_id: toolEditionId,
        auditor_id: council.staff.qaOfficer.id,
        team_id: council.teams.unit2.id,
        service_id: council.teams.unit2.service_id,
        status: 'allocated' as const,
        allocated_on: '2025-05-05',
        due_on: '2025-06-30',
        answers: JSON.stringify({}),
      }));
      await t.db.insertInto('audits').values(many).execute();
      const lines = csvLines((await clients.lead.get('/reports/feed/audits.csv?period=m:2025-05')).body);
      expect(lines).toHaveLength(1204);
      expect(new Set(lines.slice(1).map((line) => line.split(',')[0])).size).toBe(1203);
    });
  });
});

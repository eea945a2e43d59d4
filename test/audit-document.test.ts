import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../src/modules/account/service.ts';
import { pdfText } from '../src/modules/audits/document/pdf.ts';
import { typedForExport } from '../src/modules/audits/document/export-text.ts';
import { loadBuiltInTools } from '../src/modules/tools/library.ts';
import { createTestApp, testConfig, type TestApp } from './support/app.ts';
import { createAudit, createChild } from './support/audits.ts';
import { pageText, TestClient } from './support/client.ts';
import { testDrivers } from './support/database.ts';
import { docxPageMarks, docxText, pdfPages } from './support/documents.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';

const BRISTOL = 'bristol-child-case-audit';

describe('the protective marking', () => {
  it('is OFFICIAL-SENSITIVE unless PROTECTIVE_MARKING says otherwise', () => {
    expect(testConfig().protectiveMarking).toBe('OFFICIAL-SENSITIVE');
    expect(testConfig({ PROTECTIVE_MARKING: 'OFFICIAL' }).protectiveMarking).toBe('OFFICIAL');
    expect(() => testConfig({ PROTECTIVE_MARKING: ' ' })).toThrow(/PROTECTIVE_MARKING/);
  });
});

describe('text in exports', () => {
  it('neutralises formula starts and drops control characters', () => {
    expect(typedForExport('=SUM(A1:A9)')).toBe("'=SUM(A1:A9)");
    expect(typedForExport('\u0001+44 1234')).toBe("'+44 1234");
    expect(typedForExport('Line one\r\nLine two')).toBe('Line one\nLine two');
    expect(typedForExport('Plain')).toBe('Plain');
  });

  it('keeps what Helvetica can draw and maps the rest', () => {
    expect(pdfText('“Quoted” – dash — ‘single’ … £5 €5 café')).toBe('“Quoted” – dash — ‘single’ … £5 €5 café');
    expect(pdfText('Łódź Dvořák')).toBe('Lódz Dvorák');
    expect(pdfText('日本 😀 a→b')).toBe('?? ? a->b');
    expect(pdfText('tab\there\u200b')).toBe('tab    here');
  });
});

describe.each(testDrivers())('reading and exporting one audit on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let editions: Map<string, { toolId: string; editionId: string }>;
  let auditId: string;
  let reference: number;
  let childId: string;
  let elsewhereId: string;
  let moderatedId: string;
  let olderModeratedId: string;
  const clients: Record<'coordinator' | 'auditor', TestClient> = {} as never;

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    const org = council.organisation.id;
    const loaded = await loadBuiltInTools(t.db, org);
    editions = new Map(loaded.map((result) => ('tool' in result ? [result.tool.key, { toolId: result.toolId, editionId: result.editionId }] : ['?', { toolId: '', editionId: '' }])));
    const child = await createChild(t.db, org, { externalId: 'BR-001', initials: 'JB', teamId: council.teams.unit1.id, workerId: council.staff.worker1.id });
    childId = child.id;
    const audit = await createAudit(t.db, {
      organisationId: org,
      childId: child.id,
      toolEditionId: editions.get(BRISTOL)!.editionId,
      auditorId: council.staff.manager1.id,
      caseHolderId: council.staff.worker1.id,
      teamId: council.teams.unit1.id,
      serviceId: council.teams.unit1.service_id,
      status: 'in_progress',
      allocatedOn: '2026-03-02',
      due: '2026-03-16',
    });
    auditId = audit.id;
    reference = audit.reference;
    const worker = council.staff.worker1.id;
    const answers = {
      status: 'cin',
      type_of_audit: 'deep_dive',
      child_id: 'BR-001',
      child_initials: 'JB',
      caseholder: worker,
      auditor: council.staff.manager1.id,
      date_of_audit: '2026-03-05',
      main_referral_factors: ['neglect', 'other'],
      other_referral_factors: 'Honour based violence',
      re_referral_within_12_months: 'no',
      re_referral_issue: 'similar',
      demographics: 'requires_update',
      demographics_comments: 'Ethnicity missing – “needs” an update',
      genogram: 'good',
      file_recording_judgement: 'good',
      service_user_feedback: {
        respondents: {
          parent_carer_1: { obtained: 'yes', resident: 'yes', answers: { going_well: 'Regular visits from the worker', scaling: 7 } },
          parent_carer_2: { obtained: 'no', notObtainedOther: 'Could not be reached' },
        },
      },
      assessment_judgement: 'requires_improvement',
      assessment_strengths: '=SUM(A1:A9)',
      assessment_areas_for_improvement: '<b>Bold claims</b> & <script>alert(1)</script>',
      overall_grade: 'good',
      actions: [
        { action_required: 'Update the chronology', to_be_completed_by: worker, by_when: '2026-04-30' },
        { action_required: '+44 call the family', to_be_completed_by: council.staff.manager1.id, by_when: '2026-05-01' },
      ],
    };
    await t.db.updateTable('audits').set({ answers: JSON.stringify(answers) }).where('id', '=', audit.id).execute();

    // An audit in the Through Care Team: beyond the reach of an auditor in North Unit 1.
    const other = await createChild(t.db, org, { externalId: 'TC-009', initials: 'ZZ', teamId: council.teams.careTeam.id });
    const elsewhere = await createAudit(t.db, {
      organisationId: org,
      childId: other.id,
      toolEditionId: editions.get(BRISTOL)!.editionId,
      auditorId: council.staff.qaOfficer.id,
      caseHolderId: council.staff.careWorker.id,
      teamId: council.teams.careTeam.id,
      serviceId: council.teams.careTeam.service_id,
    });
    elsewhereId = elsewhere.id;

    // Graded Good by its auditor; the moderator regraded Assessment to Inadequate and the audit to
    // Requires improvement, and agreed File recording.
    const moderatedChild = await createChild(t.db, org, { externalId: 'BR-002', initials: 'KM', teamId: council.teams.unit1.id, workerId: council.staff.worker1.id });
    const moderated = await createAudit(t.db, {
      organisationId: org,
      childId: moderatedChild.id,
      toolEditionId: editions.get(BRISTOL)!.editionId,
      auditorId: council.staff.manager1.id,
      caseHolderId: council.staff.worker1.id,
      moderatorId: council.staff.serviceManager.id,
      teamId: council.teams.unit1.id,
      serviceId: council.teams.unit1.service_id,
      status: 'moderated',
      allocatedOn: '2026-03-02',
      due: '2026-03-16',
      submittedAt: '2026-03-10T10:00:00Z',
      moderatedAt: '2026-03-20T10:00:00Z',
      auditorGrade: 'good',
      finalGrade: 'requires_improvement',
    });
    moderatedId = moderated.id;
    await t.db.updateTable('audits').set({ answers: JSON.stringify({ ...answers, child_id: 'BR-002', child_initials: 'KM' }) }).where('id', '=', moderated.id).execute();
    const ruling = (section_key: string, stage: 'auditor' | 'moderator', grade: string, reason: string | null = null) => ({ audit_id: moderated.id, organisation_id: org, section_key, stage, grade, reason });
    await t.db
      .insertInto('audit_judgements')
      .values([
        ruling('file_recording', 'auditor', 'good'),
        ruling('assessment', 'auditor', 'requires_improvement'),
        ruling('overall', 'auditor', 'good'),
        ruling('file_recording', 'moderator', 'good'),
        ruling('assessment', 'moderator', 'inadequate', 'No analysis of the risks at home'),
        ruling('overall', 'moderator', 'requires_improvement', 'The assessment did not analyse risk'),
      ])
      .execute();

    // Moderated before the moderator's grades were kept one by one: only the final grade tells.
    const olderChild = await createChild(t.db, org, { externalId: 'BR-003', initials: 'OL', teamId: council.teams.unit1.id });
    const older = await createAudit(t.db, {
      organisationId: org,
      childId: olderChild.id,
      toolEditionId: editions.get(BRISTOL)!.editionId,
      auditorId: council.staff.manager1.id,
      moderatorId: council.staff.serviceManager.id,
      teamId: council.teams.unit1.id,
      status: 'moderated',
      moderatedAt: '2026-03-20T10:00:00Z',
      auditorGrade: 'good',
      finalGrade: 'inadequate',
    });
    olderModeratedId = older.id;
    await t.db.updateTable('audits').set({ answers: JSON.stringify(answers) }).where('id', '=', older.id).execute();

    for (const [key, email] of [
      ['coordinator', council.users.qa_coordinator.email],
      ['auditor', council.users.auditor.email],
    ] as const) {
      const client = new TestClient(t.app);
      await client.signIn(email, PASSWORD);
      clients[key] = client;
    }
  }, 120_000);
  afterAll(async () => t?.close());

  it('links to the read view and the downloads from the audit page', async () => {
    const page = await clients.coordinator.get(`/audits/${auditId}`);
    expect(page.body).toContain(`href="/audits/${auditId}/read"`);
    expect(page.body).toContain(`href="/audits/${auditId}/export.docx"`);
    expect(page.body).toContain(`href="/audits/${auditId}/export.pdf"`);
  });

  it('reads the audit in words: option labels, staff names, UK dates, feedback, action plan and grades', async () => {
    const response = await clients.coordinator.get(`/audits/${auditId}/read`);
    expect(response.statusCode).toBe(200);
    const text = pageText(response.body);
    expect(text).toContain('Status CIN');
    expect(text).toContain('Type of audit Deep Dive');
    expect(text).not.toContain('deep_dive');
    expect(text).toContain('Currently allocated caseholder Wes Worker');
    expect(text).toContain('Date of audit 5 March 2026');
    expect(text).toMatch(/Main referral factors \(tick\) Neglect Other \(FGM, Trafficking, Honour based violence, UASC\)/);
    // A follow-up whose condition does not hold is left out.
    expect(text).not.toContain('similar or different issue');
    expect(text).toContain('Demographics (up to date');
    expect(text).toContain('Requires update Ethnicity missing – “needs” an update');
    expect(text).toContain('Parent/carer 1 Feedback obtained Yes Lives with the child Yes What is going/went well? Regular visits from the worker');
    expect(text).toContain('7 on a scale of 0 to 10');
    expect(text).toContain('Parent/carer 2 Feedback obtained No Lives with the child Not answered Other reason Could not be reached');
    expect(text).toContain('Judgement Requires improvement Strengths =SUM(A1:A9)');
    expect(text).toContain('Update the chronology Wes Worker 30 April 2026');
    expect(text).toContain('+44 call the family Tina Manager 1 May 2026');
    // Not yet moderated: the headline says plainly that the grade is the auditor's.
    expect(text).toContain('Auditor’s grade (not yet moderated) Good This is the auditor’s grade. It has not yet been moderated.');
    expect(text.indexOf('Auditor’s grade (not yet moderated)')).toBeLessThan(text.indexOf('The audit Audit reference'));
    // The re-audit applies only to an Inadequate audit; the foster carer only to a child in care.
    expect(text).not.toContain('Re-audit, if Inadequate');
    expect(text).not.toContain('Foster carer');
    // What looks like HTML is shown as text.
    expect(response.body).toContain('&lt;b&gt;Bold claims&lt;/b&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(response.body).not.toContain('<script>alert(1)');
  });

  it('downloads a DOCX laid out like the form, with formula text neutralised', async () => {
    const response = await clients.coordinator.get(`/audits/${auditId}/export.docx`);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.wordprocessingml.document');
    expect(response.headers['content-disposition']).toBe(`attachment; filename="audit-${reference}-BR-001.docx"`);
    expect(response.headers['cache-control']).toBe('no-store');
    const text = await docxText(response.rawPayload);
    for (const title of ['File recording – to be reviewed alongside the Qlik Child Case Audit App', 'Service user feedback', 'Action Plan for Improvement', 'Overall judgement']) {
      expect(text).toContain(title);
    }
    expect(text).toContain('Deep Dive');
    expect(text).toContain('Wes Worker');
    expect(text).toContain('30 April 2026');
    expect(text).toContain('Requires improvement');
    expect(text).toContain("'=SUM(A1:A9)");
    expect(text).toContain("'+44 call the family");
    expect(text).not.toMatch(/(^|\n)=SUM/);
  });

  it('downloads a PDF of the same', async () => {
    const response = await clients.coordinator.get(`/audits/${auditId}/export.pdf`);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/pdf');
    expect(response.headers['content-disposition']).toBe(`attachment; filename="audit-${reference}-BR-001.pdf"`);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.rawPayload.subarray(0, 5).toString()).toBe('%PDF-');
    expect(response.rawPayload.toString('latin1').match(/\/Type \/Page\b/g)!.length).toBeGreaterThan(2);
  });

  describe('once moderated', () => {
    const HEADLINE = 'Final grade Requires improvement Moderated by Sam Service on 20 March 2026: the auditor graded Good; the moderator regraded it Requires improvement.';
    const REGRADED = 'Judgement Inadequate (moderated: regraded from the auditor’s Requires improvement) Auditor’s grade Requires improvement Moderator’s grade Inadequate Reason for the change No analysis of the risks at home';

    it('reads the final grade first, says it was moderated, and shows both grades where a section was regraded', async () => {
      const response = await clients.coordinator.get(`/audits/${moderatedId}/read`);
      expect(response.statusCode).toBe(200);
      const text = pageText(response.body);
      expect(text).toContain(`${HEADLINE} Reason: The assessment did not analyse risk`);
      // Nothing about the audit comes before its final grade.
      expect(text.indexOf('Final grade Requires improvement')).toBeLessThan(text.indexOf('The audit Audit reference'));
      expect(text.slice(0, text.indexOf('The audit Audit reference'))).not.toMatch(/Overall grade/);
      expect(text).toContain(REGRADED);
      expect(text).toContain('File recording – to be reviewed alongside the Qlik Child Case Audit App');
      expect(text).toContain('Judgement Good (agreed at moderation)');
      // The overall judgement's own section: the moderator's grade, the auditor's beneath it.
      expect(text).toContain('Requires improvement (moderated: regraded from the auditor’s Good) Auditor’s grade Good Moderator’s grade Requires improvement');
    });

    it('puts the same first in the DOCX, with the marking, the council, the case ID and page numbers on every page', async () => {
      const response = await clients.coordinator.get(`/audits/${moderatedId}/export.docx`);
      expect(response.statusCode).toBe(200);
      const text = (await docxText(response.rawPayload)).replace(/\s+/g, ' ');
      expect(text).toContain(HEADLINE);
      expect(text.indexOf('Final grade')).toBeLessThan(text.indexOf('The audit'));
      expect(text.slice(0, text.indexOf('The audit'))).not.toMatch(/Overall grade|Judgement: Good/);
      expect(text).toContain(REGRADED);
      const { headers, footers } = await docxPageMarks(response.rawPayload);
      expect(headers.length).toBeGreaterThan(0);
      expect(footers.length).toBeGreaterThan(0);
      for (const header of headers) for (const expected of ['OFFICIAL-SENSITIVE', 'testshire Council', 'Case ID BR-002']) expect(header).toContain(expected);
      for (const footer of footers) for (const expected of ['OFFICIAL-SENSITIVE', 'Case ID BR-002', 'Page {PAGE} of {NUMPAGES}']) expect(footer).toContain(expected);
    });

    it('puts the same first in the PDF, and marks every page', async () => {
      const response = await clients.coordinator.get(`/audits/${moderatedId}/export.pdf`);
      expect(response.statusCode).toBe(200);
      const pages = await pdfPages(response.rawPayload);
      expect(pages.length).toBeGreaterThan(2);
      pages.forEach((page, index) => {
        for (const expected of ['OFFICIAL-SENSITIVE', 'testshire Council', 'Case ID BR-002', `Page ${index + 1} of ${pages.length}`]) expect(page, `page ${index + 1}`).toContain(expected);
      });
      const first = pages[0]!.replace(/\s+/g, ' ');
      expect(first).toContain(HEADLINE);
      expect(first.indexOf('Final grade')).toBeLessThan(first.indexOf('The audit'));
      // The text without the page furniture reads on across a page break.
      const furniture = /OFFICIAL-SENSITIVE|testshire Council · Case ID BR-002|Case ID BR-002 · Page \d+ of \d+/g;
      expect(pages.map((page) => page.replace(furniture, ' ')).join(' ').replace(/\s+/g, ' ')).toContain(REGRADED);
    });

    it('reads an audit moderated before the moderator\'s grades were kept one by one from its final grade', async () => {
      const text = pageText((await clients.coordinator.get(`/audits/${olderModeratedId}/read`)).body);
      expect(text).toContain('Final grade Inadequate Moderated by Sam Service on 20 March 2026: the auditor graded Good; the moderator regraded it Inadequate.');
    });
  });

  it('marks the DOCX and PDF of an audit not yet moderated as the auditor\'s grade', async () => {
    const docx = (await docxText((await clients.coordinator.get(`/audits/${auditId}/export.docx`)).rawPayload)).replace(/\s+/g, ' ');
    expect(docx).toContain('Auditor’s grade (not yet moderated) Good This is the auditor’s grade. It has not yet been moderated.');
    const pages = await pdfPages((await clients.coordinator.get(`/audits/${auditId}/export.pdf`)).rawPayload);
    expect(pages[0]!.replace(/\s+/g, ' ')).toContain('Auditor’s grade (not yet moderated) Good This is the auditor’s grade. It has not yet been moderated.');
    for (const page of pages) expect(page).toContain('Case ID BR-001');
  });

  it('prints the marking the council sets (PROTECTIVE_MARKING) instead of the default', async () => {
    const configured = t.config.protectiveMarking;
    t.config.protectiveMarking = 'OFFICIAL';
    try {
      const pages = await pdfPages((await clients.coordinator.get(`/audits/${auditId}/export.pdf`)).rawPayload);
      for (const page of pages) {
        expect(page).toContain('OFFICIAL');
        expect(page).not.toContain('OFFICIAL-SENSITIVE');
      }
      const { headers } = await docxPageMarks((await clients.coordinator.get(`/audits/${auditId}/export.docx`)).rawPayload);
      for (const header of headers) expect(header).toMatch(/^OFFICIAL\n/);
    } finally {
      t.config.protectiveMarking = configured;
    }
  });

  it('renders every built-in tool, answered or not, without failing', async () => {
    for (const [key, { editionId }] of editions) {
      const child = await createChild(t.db, council.organisation.id, { externalId: `ALL-${key}`.slice(0, 40), initials: 'AT', teamId: council.teams.unit1.id });
      const audit = await createAudit(t.db, { organisationId: council.organisation.id, childId: child.id, toolEditionId: editionId, auditorId: council.staff.manager1.id, teamId: council.teams.unit1.id });
      // Odd text everywhere a text answer could be: every key of the tool gets it, whatever its kind.
      const edition = await t.db.selectFrom('audit_tool_editions').select('definition').where('id', '=', editionId).executeTakeFirstOrThrow();
      const keys = JSON.stringify(edition.definition).match(/"key":"([a-z0-9_]+)"/g)!.map((match) => match.slice(7, -1));
      const odd = Object.fromEntries(keys.map((k) => [k, '=1+1 “Łódź” 日本 😀\u0001 <i>x</i>']));
      for (const answers of [{}, odd]) {
        await t.db.updateTable('audits').set({ answers: JSON.stringify(answers) }).where('id', '=', audit.id).execute();
        for (const path of ['read', 'export.docx', 'export.pdf']) {
          const response = await clients.coordinator.get(`/audits/${audit.id}/${path}`);
          expect(response.statusCode, `${key} ${path}`).toBe(200);
          expect(response.rawPayload.length).toBeGreaterThan(1000);
        }
      }
    }
  }, 120_000);

  it('gives every built-in tool edition as a blank form, marked with the edition on every page', async () => {
    for (const [key, { toolId, editionId }] of editions) {
      const edition = await t.db.selectFrom('audit_tool_editions').select('edition').where('id', '=', editionId).executeTakeFirstOrThrow();
      const docx = await clients.coordinator.get(`/tools/${toolId}/editions/${editionId}/form.docx`);
      expect(docx.statusCode, `${key} docx`).toBe(200);
      expect((await docxText(docx.rawPayload))).not.toContain('Not answered');
      const pages = await pdfPages((await clients.coordinator.get(`/tools/${toolId}/editions/${editionId}/form.pdf`)).rawPayload);
      pages.forEach((page, index) => {
        expect(page, `${key} page ${index + 1}`).toContain(`edition ${edition.edition} · Page ${index + 1} of ${pages.length}`);
        expect(page).toContain('OFFICIAL-SENSITIVE');
      });
    }
  }, 120_000);

  it('records every read and download in the activity log against the child', async () => {
    await clients.auditor.get(`/audits/${auditId}/read`);
    await clients.auditor.get(`/audits/${auditId}/export.docx`);
    await clients.auditor.get(`/audits/${auditId}/export.pdf`);
    const entries = await t.db
      .selectFrom('activity_log')
      .select(['action', 'record_type', 'record_id', 'child_id', 'summary', 'user_id'])
      .where('record_id', '=', auditId)
      .where('user_id', '=', council.users.auditor.id)
      .orderBy('id')
      .execute();
    expect(entries.map((entry) => [entry.action, entry.summary])).toEqual([
      ['view', 'Read view'],
      ['export', 'DOCX'],
      ['export', 'PDF'],
    ]);
    for (const entry of entries) expect(entry).toMatchObject({ record_type: 'audit', child_id: childId });
  });

  it('answers "not found" outside the person\'s reach, and logs nothing', async () => {
    const before = await t.db.selectFrom('activity_log').select('id').where('record_id', '=', elsewhereId).execute();
    for (const path of ['read', 'export.docx', 'export.pdf']) {
      expect((await clients.auditor.get(`/audits/${elsewhereId}/${path}`)).statusCode).toBe(404);
      expect((await clients.coordinator.get(`/audits/00000000-0000-4000-8000-000000000000/${path}`)).statusCode).toBe(404);
      expect((await clients.coordinator.get(`/audits/not-an-id/${path}`)).statusCode).toBe(404);
    }
    expect((await clients.coordinator.get(`/audits/${elsewhereId}/read`)).statusCode).toBe(200);
    const after = await t.db.selectFrom('activity_log').select('id').where('record_id', '=', elsewhereId).execute();
    expect(after.length).toBe(before.length + 1);
  });

  it('lists tools and editions in the API, and gives an edition its definition', async () => {
    const org = council.organisation.id;
    const coordinator = { authorization: `Bearer ${await createApiToken(t.db, { userId: council.users.qa_coordinator.id, organisationId: org, name: 'tools' })}` };
    const list = await t.app.inject({ url: '/api/v1/tools', headers: coordinator });
    expect(list.statusCode).toBe(200);
    expect(list.headers['cache-control']).toBe('no-store');
    const tools = list.json().tools as { id: string; key: string; name: string; editions: { id: string; edition: string; status: string; publishedAt: string }[] }[];
    expect(tools.map((tool) => tool.key).sort()).toEqual([...editions.keys()].sort());
    const bristol = tools.find((tool) => tool.key === BRISTOL)!;
    // The corrected edition first, then the first edition, kept for the audits started on it.
    expect(bristol).toMatchObject({ name: 'Bristol Child Case Audit Form', editions: [{ edition: '2019.1', status: 'published' }, { edition: '2019', status: 'published' }] });
    expect(new Date(bristol.editions[0]!.publishedAt).toISOString()).toBe(bristol.editions[0]!.publishedAt);

    const edition = await t.app.inject({ url: `/api/v1/tools/${bristol.id}/editions/${bristol.editions[0]!.id}`, headers: coordinator });
    expect(edition.statusCode).toBe(200);
    expect(edition.json()).toMatchObject({ id: bristol.editions[0]!.id, toolId: bristol.id, key: BRISTOL, edition: '2019.1', status: 'published' });
    expect(edition.json().definition.sections[0].key).toBe('file_recording');

    const other = tools.find((tool) => tool.key !== BRISTOL)!;
    expect((await t.app.inject({ url: `/api/v1/tools/${other.id}/editions/${bristol.editions[0]!.id}`, headers: coordinator })).statusCode).toBe(404);
    expect((await t.app.inject({ url: `/api/v1/tools/${bristol.id}/editions/nope`, headers: coordinator })).statusCode).toBe(404);
    const practitioner = { authorization: `Bearer ${await createApiToken(t.db, { userId: council.users.practitioner.id, organisationId: org, name: 'x' })}` };
    expect((await t.app.inject({ url: '/api/v1/tools', headers: practitioner })).statusCode).toBe(403);
    expect((await t.app.inject({ url: '/api/v1/tools' })).statusCode).toBe(401);
  });
});

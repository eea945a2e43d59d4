import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoCouncil } from '../src/demo/seed.ts';
import { builtInToolFiles, listTools, loadBuiltInTools } from '../src/modules/tools/library.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createAudit, createChild } from './support/audits.ts';
import { openTestDatabase, testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';
import { docxPageMarks, docxText, pdfPages } from './support/documents.ts';

const EXAMPLE = fs.readFileSync(path.resolve(import.meta.dirname, '../audit-tools/examples/minimal.yaml'), 'utf8');
/** The same form with Windows line endings and a byte-order mark: it must come back byte for byte. */
const EXAMPLE_CRLF = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(EXAMPLE.replace(/\n/g, '\r\n').replace('key: example-case-audit', 'key: example-crlf'))]);
const BROKEN = EXAMPLE.replace('scale: ofsted\n        required: true\n        evidence', 'scale: ofstead\n        required: true\n        evidence').replace(
  'key: decisions_recorded',
  'key: supervision_in_last_3_months',
);
const CHANGED = EXAMPLE.replace('Is there evidence of supervision supporting reflection and analysis?', 'Is supervision reflective?');
const NEXT_EDITION = CHANGED.replace('edition: "2026"', 'edition: "2026.1"');

describe.each(testDrivers())('audit-tool library on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let admin: TestClient;

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    admin = new TestClient(t.app);
    await admin.signIn(council.users.administrator.email, PASSWORD);
  }, 60_000);
  afterAll(async () => t?.close());

  const count = async (table: 'audit_tools' | 'audit_tool_editions') =>
    (await t.db.selectFrom(table).select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n;
  const importsLogged = async () =>
    (await t.db.selectFrom('activity_log').select(sql<number>`count(*)::int`.as('n')).where('record_type', '=', 'audit_tool_edition').executeTakeFirstOrThrow()).n;

  async function upload(client: TestClient, filename: string, content: string | Buffer) {
    await client.get('/tools/upload');
    return client.upload('/tools/upload', { field: 'file', filename, content, contentType: 'application/yaml' });
  }

  let editionUrl = '';

  it('lists no tools at first, and offers the upload to those who manage tools', async () => {
    const page = await admin.get('/tools');
    expect(page.statusCode).toBe(200);
    expect(pageText(page.body)).toContain('There are no audit tools yet');
    expect(page.body).toContain('href="/tools/upload"');
    const home = await admin.get('/');
    expect(home.body).toMatch(/<a class="govuk-service-navigation__link" href="\/tools"[^>]*>\s*Audit tools\s*<\/a>/);
  });

  it('refuses a file with problems, lists every one by its path and line, and writes nothing', async () => {
    const response = await upload(admin, 'broken.yaml', BROKEN);
    expect(response.statusCode).toBe(400);
    const text = pageText(response.body);
    expect(response.body).toContain('govuk-error-summary');
    expect(text).toContain('broken.yaml has 2 problems. Nothing has been loaded.');
    expect(text).toMatch(/sections\[0\]\.answers\[0\]\.scale \(line \d+\): unknown scale "ofstead"/);
    expect(text).toMatch(/sections\[0\]\.criteria\[1\]\.key \(line \d+\): duplicate key "supervision_in_last_3_months"/);
    expect(await count('audit_tools')).toBe(0);
    expect(await count('audit_tool_editions')).toBe(0);
    expect(await importsLogged()).toBe(0);
  });

  it('refuses a missing file, a file that is not YAML and a file that is not text', async () => {
    await admin.get('/tools/upload');
    const none = await admin.upload('/tools/upload', { field: 'file', filename: '', content: '' });
    expect(none.statusCode).toBe(400);
    expect(pageText(none.body)).toContain('Select a tool file');
    const notYaml = await upload(admin, 'tool.txt', EXAMPLE);
    expect(pageText(notYaml.body)).toContain('The selected file must be a YAML file (.yaml or .yml)');
    const binary = await upload(admin, 'tool.yaml', Buffer.from([0xff, 0xfe, 0x00, 0x41]));
    expect(binary.statusCode).toBe(400);
    expect(pageText(binary.body)).toContain('not UTF-8 text');
    expect(await count('audit_tool_editions')).toBe(0);
  });

  it('loads a valid file as a published edition and records it in the activity log', async () => {
    const response = await upload(admin, 'minimal.yaml', EXAMPLE);
    expect(response.statusCode).toBe(303);
    editionUrl = String(response.headers.location).split('?')[0]!;
    expect(editionUrl).toMatch(/^\/tools\/[0-9a-f-]{36}\/editions\/[0-9a-f-]{36}$/);
    const page = await admin.get(String(response.headers.location));
    expect(pageText(page.body)).toContain('Example Child Case Audit edition 2026 has been added to the library');
    expect(await count('audit_tool_editions')).toBe(1);
    const logged = await t.db.selectFrom('activity_log').selectAll().where('record_type', '=', 'audit_tool_edition').execute();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ action: 'import', actor: council.users.administrator.email, organisation_id: council.organisation.id });
    expect(logged[0]!.summary).toContain('Example Child Case Audit edition 2026 loaded from minimal.yaml');
  });

  it('shows the whole form read only: header, sections, prompts, criteria, scales, descriptors and the recurring blocks', async () => {
    const page = await admin.get(editionUrl);
    expect(page.statusCode).toBe(200);
    const text = pageText(page.body);
    for (const expected of [
      'Example Child Case Audit',
      'Case details',
      "Child's ID",
      'Filled in from the child\'s case ID',
      'Management oversight',
      'Supervision, management decisions and their rationale.',
      'Is there evidence of supervision supporting reflection and analysis?',
      'There is at least 1 supervision discussion recorded within the last 3 months.',
      'Outstanding (O)',
      'Does not yet meet good (RI)',
      'Grade descriptors for Judgement for management oversight',
      'Supervision is regular, reflective and based on the risk analysis.',
      'No management overview for over 2 months.',
      'Strengths',
      'This section is completed only when',
      'Service user feedback',
      'Parent or carer 1',
      'Where would you score your experience?',
      'Attempt made but unable to reach',
      'Action plan for improvement',
      'A date, today or later',
      'Moderation',
      "Moderator's findings",
      'Limiting judgements',
      'Management grip cannot be better than Requires improvement',
    ]) {
      expect(text).toContain(expected);
    }
    expect(page.body).toMatch(/<ol class="govuk-list govuk-list--number">\s*<li>Is there evidence of supervision/);
    // Read only: every control is disabled, and nothing on the page submits the form.
    const controls = mainOf(page.body).match(/<(input|textarea)\b[^>]*class="govuk-(radios__input|checkboxes__input|textarea|input)[^"]*"[^>]*>/g) ?? [];
    expect(controls.length).toBeGreaterThan(20);
    for (const control of controls) expect(control).toMatch(/\sdisabled/);
    expect(page.body).not.toMatch(/<form[^>]*method="post"[^>]*action="\/tools/);
    // Every id is unique: labels point at their own controls.
    const ids = [...page.body.matchAll(/\sid="([^"]+)"/g)].map((match) => match[1]);
    expect(ids.length).toBe(new Set(ids).size);
  });

  it('gives the long edition page a contents list that leads to every section and back', async () => {
    const page = await admin.get(editionUrl);
    const start = page.body.indexOf('id="contents"');
    const contents = page.body.slice(start, page.body.indexOf('</nav>', start));
    for (const key of ['management_oversight', 'children_in_care', 'feedback', 'overall', 'action_plan', 'moderation']) {
      expect(contents).toContain(`href="#section-${key}"`);
      expect(page.body).toContain(`id="section-${key}"`);
    }
    expect(contents).toContain('href="#case-details"');
    expect(contents).toContain('href="#grading"');
    expect(page.body.match(/href="#contents">Back to contents</g)!.length).toBeGreaterThan(3);
  });

  describe('as a blank form', () => {
    const FORM_TEXT = [
      'Example Child Case Audit',
      'Blank form, edition 2026.',
      'Case details',
      "Child's ID",
      'Date of audit',
      '☐ Manager or senior',
      '☐ Thematic',
      'Management oversight',
      'Supervision, management decisions and their rationale.',
      'Is there evidence of supervision supporting reflection and analysis?',
      'There is at least 1 supervision discussion recorded within the last 3 months.',
      '☐ Yes',
      'Judgement for management oversight',
      '☐ Outstanding',
      '☐ Does not yet meet good',
      'Supervision is regular, reflective and based on the risk analysis.',
      'No management overview for over 2 months.',
      'Strengths',
      'Service user feedback',
      'Parent or carer 1',
      'Where would you score your experience?',
      'Attempt made but unable to reach',
      'Action plan for improvement',
      'Moderation',
      'Completed by the moderator.',
      'How the judgements are graded',
      'Management grip cannot be better than Requires improvement',
    ];

    it('is linked from the edition page', async () => {
      const page = await admin.get(editionUrl);
      expect(page.body).toContain(`href="${editionUrl}/form.docx"`);
      expect(page.body).toContain(`href="${editionUrl}/form.pdf"`);
      expect(pageText(page.body)).toContain('Download the blank form as DOCX');
    });

    it('downloads as a DOCX with every section, its prompts, criteria and descriptors, spaces to answer and grades to tick', async () => {
      const response = await admin.get(`${editionUrl}/form.docx`);
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.wordprocessingml.document');
      expect(response.headers['content-disposition']).toBe('attachment; filename="example-case-audit-2026-blank-form.docx"');
      expect(response.headers['cache-control']).toBe('no-store');
      const text = await docxText(response.rawPayload);
      for (const expected of FORM_TEXT) expect(text).toContain(expected);
      // Blank: nothing answered, nothing graded.
      expect(text).not.toContain('Not answered');
      expect(text).not.toContain('Not graded');
      const { headers, footers } = await docxPageMarks(response.rawPayload);
      expect(headers.length).toBeGreaterThan(0);
      for (const header of headers) for (const expected of ['OFFICIAL-SENSITIVE', 'testshire Council', 'Example Child Case Audit, edition 2026']) expect(header).toContain(expected);
      for (const footer of footers) for (const expected of ['OFFICIAL-SENSITIVE', 'Example Child Case Audit, edition 2026', 'Page {PAGE} of {NUMPAGES}']) expect(footer).toContain(expected);
    });

    it('downloads as a PDF of the same, every page marked and numbered', async () => {
      const response = await admin.get(`${editionUrl}/form.pdf`);
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('application/pdf');
      expect(response.headers['content-disposition']).toBe('attachment; filename="example-case-audit-2026-blank-form.pdf"');
      const pages = await pdfPages(response.rawPayload);
      expect(pages.length).toBeGreaterThan(1);
      pages.forEach((page, index) => {
        for (const expected of ['OFFICIAL-SENSITIVE', 'testshire Council', 'Example Child Case Audit, edition 2026', `Page ${index + 1} of ${pages.length}`]) expect(page, `page ${index + 1}`).toContain(expected);
      });
      // The PDF's standard font has no ballot box: options have a box drawn beside them, criteria a [ ] in the table.
      const text = pages.join('\n').replace(/\[ \]/g, '☐').replace(/\s+/g, ' ');
      for (const expected of FORM_TEXT.filter((line) => !line.startsWith('☐'))) expect(text).toContain(expected);
      expect(text).toContain('☐ Yes');
      expect(text).not.toContain('Not answered');
    });

    it('records each download in the activity log', async () => {
      const before = await t.db.selectFrom('activity_log').select(['action', 'summary']).where('record_type', '=', 'audit_tool_edition').where('action', '=', 'export').execute();
      await admin.get(`${editionUrl}/form.docx`);
      await admin.get(`${editionUrl}/form.pdf`);
      const after = await t.db
        .selectFrom('activity_log')
        .select(['action', 'summary', 'record_id', 'user_id'])
        .where('record_type', '=', 'audit_tool_edition')
        .where('action', '=', 'export')
        .orderBy('id')
        .execute();
      expect(after.slice(before.length)).toEqual([
        { action: 'export', summary: 'Blank form DOCX: Example Child Case Audit edition 2026', record_id: editionUrl.split('/').pop(), user_id: council.users.administrator.id },
        { action: 'export', summary: 'Blank form PDF: Example Child Case Audit edition 2026', record_id: editionUrl.split('/').pop(), user_id: council.users.administrator.id },
      ]);
    });
  });

  it('lists the tool with its edition', async () => {
    const text = pageText((await admin.get('/tools')).body);
    expect(text).toContain('Example Child Case Audit');
    expect(text).toContain('Edition 2026');
    expect(text).toContain('Published');
  });

  it('downloads an edition back as its exact file', async () => {
    const download = await admin.get(`${editionUrl}/file`);
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-type']).toBe('application/yaml; charset=utf-8');
    expect(download.headers['content-disposition']).toBe('attachment; filename="minimal.yaml"');
    expect(download.body).toBe(EXAMPLE);

    const crlf = await upload(admin, 'crlf tool.yml', EXAMPLE_CRLF);
    expect(crlf.statusCode).toBe(303);
    const back = await admin.get(`${String(crlf.headers.location).split('?')[0]}/file`);
    expect(back.rawPayload.equals(EXAMPLE_CRLF)).toBe(true);
    expect(back.headers['content-disposition']).toBe('attachment; filename="crlf_tool.yml"');
  });

  it('does nothing, and says so, when the same file is loaded again', async () => {
    const before = { tools: await count('audit_tools'), editions: await count('audit_tool_editions'), logged: await importsLogged() };
    const response = await upload(admin, 'copy-of-minimal.yaml', EXAMPLE);
    expect(response.statusCode).toBe(303);
    expect(String(response.headers.location)).toBe(`${editionUrl}?done=unchanged`);
    const page = await admin.get(String(response.headers.location));
    expect(pageText(page.body)).toContain('is already in the library, exactly as in this file: nothing has changed');
    expect({ tools: await count('audit_tools'), editions: await count('audit_tool_editions'), logged: await importsLogged() }).toEqual(before);
  });

  it('refuses changed content under a published edition, and keeps the published one', async () => {
    const response = await upload(admin, 'minimal.yaml', CHANGED);
    expect(response.statusCode).toBe(409);
    const text = pageText(response.body);
    expect(text).toContain('Example Child Case Audit edition 2026 is already published with different content');
    expect(text).toContain('A published edition never changes');
    const layoutOnly = await upload(admin, 'minimal.yaml', `${EXAMPLE}# a comment\n`);
    expect(layoutOnly.statusCode).toBe(409);
    expect(pageText(layoutOnly.body)).toContain('the form is the same, but its layout or comments differ');
    expect((await admin.get(`${editionUrl}/file`)).body).toBe(EXAMPLE);
  });

  it('keeps an audit on the edition it was started on when a new edition is loaded', async () => {
    const [, toolId, editionId] = /^\/tools\/([^/]+)\/editions\/([^/]+)$/.exec(editionUrl)!;
    const child = await createChild(t.db, council.organisation.id, { externalId: 'C-1', initials: 'AB' });
    const audit = await createAudit(t.db, { organisationId: council.organisation.id, childId: child.id, toolEditionId: editionId!, auditorId: council.staff.manager1.id });
    const response = await upload(admin, 'minimal-2026.1.yaml', NEXT_EDITION);
    expect(response.statusCode).toBe(303);
    expect(String(response.headers.location)).toMatch(new RegExp(`^/tools/${toolId}/editions/`));
    expect(String(response.headers.location)).not.toContain(editionId!);
    const pinned = await t.db.selectFrom('audits').select('tool_edition_id').where('id', '=', audit.id).executeTakeFirstOrThrow();
    expect(pinned.tool_edition_id).toBe(editionId);
    const list = pageText((await admin.get('/tools')).body);
    expect(list).toMatch(/Edition 2026\.1 .*Published .* 0 .*Edition 2026 .*Published .* 1 /);
    expect(pageText((await admin.get(editionUrl)).body)).toContain('Is there evidence of supervision supporting reflection and analysis?');
  });

  it('refuses, in the database, any change to a published edition', async () => {
    const editionId = editionUrl.split('/').at(-1)!;
    await expect(t.db.updateTable('audit_tool_editions').set({ source_file: Buffer.from('changed') }).where('id', '=', editionId).execute()).rejects.toThrow(/never changes/);
    await expect(t.db.updateTable('audit_tool_editions').set({ definition: JSON.stringify({}) }).where('id', '=', editionId).execute()).rejects.toThrow(/never changes/);
    await t.db.updateTable('audit_tool_editions').set({ status: 'archived' }).where('id', '=', editionId).execute();
    await t.db.updateTable('audit_tool_editions').set({ status: 'published' }).where('id', '=', editionId).execute();
  });

  it('lets everyone who audits or manages see the library, and only administrators and QA leads upload', async () => {
    for (const role of ['auditor', 'moderator', 'qa_coordinator', 'senior_leader'] as const) {
      const client = new TestClient(t.app);
      await client.signIn(council.users[role].email, PASSWORD);
      expect((await client.get('/tools')).statusCode).toBe(200);
      expect((await client.get(editionUrl)).statusCode).toBe(200);
      expect((await client.get(`${editionUrl}/file`)).statusCode).toBe(200);
      expect((await client.get(`${editionUrl}/form.pdf`)).statusCode).toBe(200);
      expect((await client.get('/tools/upload')).statusCode).toBe(403);
      expect((await client.get('/tools')).body).not.toContain('href="/tools/upload"');
    }
    const practitioner = new TestClient(t.app);
    await practitioner.signIn(council.users.practitioner.email, PASSWORD);
    expect((await practitioner.get('/tools')).statusCode).toBe(403);
    expect((await practitioner.get(`${editionUrl}/form.docx`)).statusCode).toBe(403);
    expect((await practitioner.get('/')).body).not.toContain('href="/tools"');
    const lead = new TestClient(t.app);
    await lead.signIn(council.users.qa_lead.email, PASSWORD);
    const response = await upload(lead, 'lead.yaml', EXAMPLE.replace('key: example-case-audit', 'key: lead-audit'));
    expect(response.statusCode).toBe(303);
    const signedOut = new TestClient(t.app);
    expect((await signedOut.get(`${editionUrl}/file`)).statusCode).toBe(303);
  });

  it("never shows another organisation's tools", async () => {
    const other = await createSmallCouncil(t.db, 'otherford');
    const results = await loadBuiltInTools(t.db, other.organisation.id, undefined, path.resolve(import.meta.dirname, '../audit-tools/examples'));
    expect(results.map((result) => result.status)).toEqual(['imported']);
    const theirs = results[0]!;
    if (theirs.status !== 'imported') throw new Error('expected an import');
    expect((await admin.get(`/tools/${theirs.toolId}/editions/${theirs.editionId}`)).statusCode).toBe(404);
    expect((await admin.get(`/tools/${theirs.toolId}/editions/${theirs.editionId}/file`)).statusCode).toBe(404);
    expect((await admin.get(`/tools/${theirs.toolId}/editions/${theirs.editionId}/form.docx`)).statusCode).toBe(404);
    expect((await admin.get(`/tools/${theirs.toolId}/editions/${theirs.editionId}/form.pdf`)).statusCode).toBe(404);
    // The same key in this organisation is a different tool.
    const [, ourToolId] = /^\/tools\/([^/]+)\//.exec(editionUrl)!;
    expect(theirs.toolId).not.toBe(ourToolId);
  });

  it('loads the built-in tools, shows each whole form, and loading them again changes nothing', async () => {
    const files = builtInToolFiles();
    const first = await loadBuiltInTools(t.db, council.organisation.id);
    expect(first).toHaveLength(files.length);
    expect(first.every((result) => result.status === 'imported')).toBe(true);
    for (const result of first) {
      if (result.status !== 'imported') continue;
      const page = await admin.get(`/tools/${result.toolId}/editions/${result.editionId}`);
      expect(page.statusCode).toBe(200);
      const text = pageText(page.body);
      for (const section of result.tool.sections) expect(text).toContain(pageText(section.title));
      const ids = [...page.body.matchAll(/\sid="([^"]+)"/g)].map((match) => match[1]);
      expect(ids.length - new Set(ids).size, `duplicate ids on ${result.tool.key}`).toBe(0);
      const controls = mainOf(page.body).match(/<(input|textarea)\b[^>]*class="govuk-(radios__input|checkboxes__input|textarea|input)[^"]*"[^>]*>/g) ?? [];
      for (const control of controls) expect(control).toMatch(/\sdisabled/);
    }
    const again = await loadBuiltInTools(t.db, council.organisation.id);
    expect(again.every((result) => result.status === 'unchanged')).toBe(true);
  }, 60_000);

  it('refuses to load built-in tools when one file is not valid, naming it, and loads none', async () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'assure-builtin-'));
    try {
      fs.writeFileSync(path.join(directory, 'a-good.yaml'), EXAMPLE.replace('key: example-case-audit', 'key: good-one'));
      fs.writeFileSync(path.join(directory, 'b-bad.yaml'), BROKEN);
      const before = await count('audit_tool_editions');
      await expect(loadBuiltInTools(t.db, council.organisation.id, undefined, directory)).rejects.toThrow(/b-bad\.yaml is not valid: sections\[0\]\.criteria\[1\]\.key/);
      expect(await count('audit_tool_editions')).toBe(before);
    } finally {
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe.each(testDrivers())('the demo council on %s', (driver) => {
  it('is given every built-in tool, each downloadable as its file', async () => {
    const handle = await openTestDatabase(driver);
    try {
      const loaded = await seedDemoCouncil(handle.db, { now: new Date(), children: 5 });
      const files = builtInToolFiles();
      expect(loaded.tools).toBe(files.length);
      const tools = await listTools(handle.db, loaded.organisation.id);
      expect(tools.flatMap((tool) => tool.editions.map((edition) => edition.fileName)).sort()).toEqual(files.map((file) => path.basename(file)).sort());
      const stored = await handle.db.selectFrom('audit_tool_editions').select(['file_name', 'source_file']).execute();
      for (const row of stored) expect(Buffer.from(row.source_file!).equals(fs.readFileSync(files.find((file) => path.basename(file) === row.file_name)!))).toBe(true);
    } finally {
      await handle.close();
    }
  }, 120_000);
});

/** The page's main content: the form shown, without the header's search box. */
function mainOf(html: string): string {
  return html.slice(html.indexOf('<main'), html.indexOf('</main>'));
}

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument, stringify } from 'yaml';
import { importToolEdition } from '../src/modules/tools/library.ts';
import { linkedTextHtml, linkedTextPlain } from '../src/platform/linked-text.ts';
import { descriptorAsWritten, descriptorForChild } from '../src/modules/tools/judgements.ts';
import { ukDateAt } from '../src/platform/clock.ts';
import { createApiToken } from '../src/modules/account/service.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createChild, setServiceDefaultTool } from './support/audits.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';

/**
 * A council's toolkit split by child, written in the tool format (appliesTo, a hint on one grade
 * of the Ofsted scale, a care-leaver-only descriptor point, links in guidance) and used: allocated
 * with the right tool preselected and a warning to confirm for the wrong one, then filled in.
 */

const minimal = readFileSync(new URL('../audit-tools/examples/minimal.yaml', import.meta.url), 'utf8');

/** The worked example as another tool of the council, for other children. */
function councilTool(key: string, name: string, appliesTo: Record<string, unknown>, change: (data: Record<string, any>) => void = () => {}): string {
  const data = parseDocument(minimal).toJS() as Record<string, any>;
  Object.assign(data, { key, name, appliesTo });
  change(data);
  return stringify(data);
}

const versionOf = (html: string) => /name="_version" value="(\d+)"/.exec(html)?.[1] ?? 'missing';

describe.each(testDrivers())('tools for some children, in allocation and the form, on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let org: string;
  let inCare: { toolId: string; editionId: string };
  let cinCp: { toolId: string; editionId: string };
  let coordinator: TestClient;
  let auditor: TestClient;
  let token: Record<string, string>;
  let childNumber = 0;
  const year = Number(ukDateAt(new Date()).slice(0, 4));

  /** A child of Area Social Work with this legal status, aged `age` today (born on 1 January). */
  async function child(legalStatus: 'cin' | 'care_leaver' | 'child_in_care', age: number) {
    childNumber += 1;
    const created = await createChild(t.db, org, { externalId: `FMT-${childNumber}`, initials: 'QR', teamId: council.teams.unit1.id, workerId: council.staff.worker1.id });
    await t.db.updateTable('children').set({ legal_status: legalStatus, date_of_birth: `${year - age}-01-01` }).where('id', '=', created.id).execute();
    return created;
  }

  const allocations = async () => Number((await t.db.selectFrom('audits').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    org = council.organisation.id;
    const actor = { principal: null, ipAddress: null, at: new Date(), label: 'test' };
    const imported = async (yamlText: string, file: string) => {
      const result = await importToolEdition(t.db, org, yamlText, file, actor);
      if (result.status !== 'imported') throw new Error(JSON.stringify(result));
      return result;
    };
    inCare = await imported(councilTool('in-care-audit', 'Children in care and care leavers audit', { legalStatuses: ['child_in_care', 'care_leaver'] }), 'in-care.yaml');
    cinCp = await imported(
      councilTool('cin-cp-audit', 'Child in need and protection audit', { legalStatuses: ['cin', 'cp'], maximumAge: 17 }, (data) => {
        // Tool guidance as a council writes it: a link, and text that only looks like HTML.
        data.guidance = 'Grade against [the guide](https://www.example.org/guide?part=1&grade=good) <b>and the procedures</b>. Questions to [the QA team](mailto:qa@example.org).';
      }),
      'cin-cp.yaml',
    );
    // Area Social Work audits with the CIN/CP tool by default.
    await setServiceDefaultTool(t.db, org, council.services.area.id, cinCp.toolId);
    coordinator = new TestClient(t.app);
    await coordinator.signIn(council.users.qa_coordinator.email, PASSWORD);
    auditor = new TestClient(t.app);
    await auditor.signIn(council.users.auditor.email, PASSWORD);
    token = { authorization: `Bearer ${await createApiToken(t.db, { userId: council.users.qa_coordinator.id, organisationId: org, name: 'format test' })}` };
  }, 120_000);
  afterAll(async () => t?.close());

  const selected = (html: string) => /<option value="([0-9a-f-]{36})" selected>/.exec(html)?.[1];

  it('preselects the tool that is for the child: the service default for a child in need, the in-care tool for a care leaver', async () => {
    const inNeed = await child('cin', 9);
    const form = await coordinator.get(`/audits/allocate?childId=${inNeed.id}`);
    expect(form.statusCode).toBe(200);
    expect(selected(form.body)).toBe(cinCp.toolId);
    expect(pageText(form.body)).toContain('The default tool for Area Social Work is chosen.');
    expect(form.body).not.toContain('name="confirmNotForChild"');

    const leaver = await child('care_leaver', 19);
    const leaverForm = await coordinator.get(`/audits/allocate?childId=${leaver.id}`);
    expect(selected(leaverForm.body)).toBe(inCare.toolId);
    expect(pageText(leaverForm.body)).toContain('Children in care and care leavers audit is chosen: it is for Child in Care and Care Leaver.');
    expect(leaverForm.body).not.toContain('name="confirmNotForChild"');

    // Allocated as preselected: no question asked.
    const posted = await coordinator.post('/audits/allocate', { childId: leaver.id, toolId: inCare.toolId, auditorId: council.staff.manager1.id });
    expect(posted.statusCode, pageText(posted.body).slice(0, 400)).toBe(303);
  });

  it('warns before a tool that is not for the child, and allocates it only when the allocator confirms it for that tool', async () => {
    const leaver = await child('care_leaver', 19);
    const before = await allocations();
    const refused = await coordinator.post('/audits/allocate', { childId: leaver.id, toolId: cinCp.toolId, auditorId: council.staff.manager1.id });
    expect(refused.statusCode).toBe(400);
    const message = `Child in need and protection audit is for Child in Need and Child Protection, aged 17 or under, and QR (${`FMT-${childNumber}`}) is Care Leaver, aged 19: confirm that you want to use Child in need and protection audit, or choose another tool`;
    expect(refused.body).toContain('govuk-error-summary');
    expect(refused.body).toContain('href="#confirmNotForChild"');
    expect(pageText(refused.body)).toContain(message);
    // The choice is kept, with the box to confirm it for this tool.
    expect(selected(refused.body)).toBe(cinCp.toolId);
    expect(refused.body).toMatch(new RegExp(`name="confirmNotForChild" type="checkbox" value="${cinCp.toolId}"`));
    expect(await allocations()).toBe(before);

    // A confirmation given for another tool does not carry over.
    const otherTool = await coordinator.post('/audits/allocate', { childId: leaver.id, toolId: cinCp.toolId, confirmNotForChild: inCare.toolId, auditorId: council.staff.manager1.id });
    expect(otherTool.statusCode).toBe(400);
    expect(await allocations()).toBe(before);

    const confirmed = await coordinator.post('/audits/allocate', { childId: leaver.id, toolId: cinCp.toolId, confirmNotForChild: cinCp.toolId, auditorId: council.staff.manager1.id });
    expect(confirmed.statusCode, pageText(confirmed.body).slice(0, 400)).toBe(303);
    const auditId = /^\/audits\/([^?]+)\?allocated=1$/.exec(String(confirmed.headers.location))![1]!;
    const logged = await t.db.selectFrom('activity_log').select('summary').where('record_id', '=', auditId).where('action', '=', 'create').executeTakeFirstOrThrow();
    expect(logged.summary).toContain('confirmed: the tool is not for this child');
  });

  it('shows the warning with the page when the preselected default is not for the child (an 18-year-old child in need)', async () => {
    const older = await child('cin', 18);
    const form = await coordinator.get(`/audits/allocate?childId=${older.id}`);
    expect(selected(form.body)).toBe(cinCp.toolId);
    expect(form.body).toContain('govuk-warning-text');
    expect(pageText(form.body)).toContain(`Child in need and protection audit is for Child in Need and Child Protection, aged 17 or under, and QR (FMT-${childNumber}) is Child in Need, aged 18.`);
    expect(form.body).toContain('name="confirmNotForChild"');
  });

  it('asks an API caller to confirm a tool that is not for the child', async () => {
    const leaver = await child('care_leaver', 20);
    const payload = { childId: leaver.id, toolId: cinCp.toolId, auditorId: council.staff.manager1.id };
    const refused = await t.app.inject({ method: 'POST', url: '/api/v1/audits', headers: token, payload });
    expect(refused.statusCode).toBe(422);
    expect(refused.json().errors).toEqual([expect.objectContaining({ field: 'confirmNotForChild' })]);
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/audits', headers: token, payload: { ...payload, confirmNotForChild: true } });
    expect(created.statusCode, created.body).toBe(201);
    // Without a tool, the one for the child is used.
    const other = await child('child_in_care', 12);
    const defaulted = await t.app.inject({ method: 'POST', url: '/api/v1/audits', headers: token, payload: { childId: other.id, auditorId: council.staff.manager1.id } });
    expect(defaulted.statusCode, defaulted.body).toBe(201);
    expect(defaulted.json().tool.id).toBe(inCare.toolId);
  });

  /** An audit of a new child allocated to the auditor with the tool (confirmed where it is not for them). */
  async function auditOf(legalStatus: 'cin' | 'care_leaver', toolId: string) {
    const subject = await child(legalStatus, legalStatus === 'cin' ? 10 : 19);
    const posted = await coordinator.post('/audits/allocate', { childId: subject.id, toolId, confirmNotForChild: toolId, auditorId: council.staff.manager1.id });
    expect(posted.statusCode, pageText(posted.body).slice(0, 400)).toBe(303);
    return /^\/audits\/([^?]+)\?allocated=1$/.exec(String(posted.headers.location))![1]!;
  }

  it('shows the hint on Good of the standard scale, and the care-leaver-only descriptor point to a care leaver\'s auditor only', async () => {
    const leaverAudit = await auditOf('care_leaver', inCare.toolId);
    const page = await auditor.get(`/audits/${leaverAudit}/form/sections/management_oversight`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(/value="good"[^>]*>\s*<label[^>]*>\s*Good \(G\)\s*<\/label>\s*<div[^>]*class="govuk-hint govuk-radios__hint"[^>]*>\s*Use the detailed audit guide as the benchmark for Good/);
    const careLeaverPoint = "Supervision considers the pathway plan and the young person&#39;s move to independence.";
    expect(page.body).toContain(careLeaverPoint);
    expect(page.body).toContain('Supervision is regular, reflective and based on the risk analysis.');

    const inNeedAudit = await auditOf('cin', inCare.toolId);
    const inNeedPage = await auditor.get(`/audits/${inNeedAudit}/form/sections/management_oversight`);
    expect(inNeedPage.body).toContain('Supervision is regular, reflective and based on the risk analysis.');
    expect(inNeedPage.body).not.toContain(careLeaverPoint);
    expect(inNeedPage.body).toContain('Use the detailed audit guide as the benchmark for Good');

    // The read view shows what the grade given means for this child, the same way.
    for (const [id, shown] of [[leaverAudit, true], [inNeedAudit, false]] as const) {
      const form = await auditor.get(`/audits/${id}/form/sections/management_oversight`);
      const saved = await auditor.post(`/audits/${id}/form/sections/management_oversight`, { _version: versionOf(form.body), _action: 'later', management_grip: 'good' });
      expect(saved.statusCode, pageText(saved.body).slice(0, 400)).toBe(303);
      const read = await auditor.get(`/audits/${id}/read`);
      expect(read.statusCode).toBe(200);
      expect(read.body.includes(careLeaverPoint)).toBe(shown);
    }
  });

  it('shows in the tool library whom a tool is for, and which descriptor points are for some children only', async () => {
    const page = await coordinator.get(`/tools/${inCare.toolId}/editions/${inCare.editionId}`);
    expect(page.statusCode).toBe(200);
    const text = pageText(page.body);
    expect(text).toContain('For Child in care and care leaver');
    expect(text).toContain("Supervision considers the pathway plan and the young person's move to independence. (only when child.legalStatus == 'care_leaver')");
    expect(text).toContain('Use the detailed audit guide as the benchmark for Good');
  });

  it('makes links in guidance safe links, and leaves everything else as text', async () => {
    const id = await auditOf('cin', cinCp.toolId);
    const tasks = await auditor.get(`/audits/${id}/form`);
    expect(tasks.statusCode).toBe(200);
    expect(tasks.body).toContain(
      '<a class="govuk-link" href="https://www.example.org/guide?part=1&amp;grade=good" rel="noopener noreferrer" target="_blank">the guide (opens in new tab)</a>',
    );
    expect(tasks.body).toContain('&lt;b&gt;and the procedures&lt;/b&gt;');
    expect(tasks.body).toContain('<a class="govuk-link" href="mailto:qa@example.org" rel="noopener noreferrer">the QA team</a>');

  });
});

describe('links in guidance text', () => {
  it('never makes a link of an address that is not http(s) or mailto, however it reached the page (a hand-edited stored edition)', () => {
    expect(linkedTextHtml('See [this](javascript:alert(1)) and [that](data:text/html,x) or [home](/audits) "quoted"')).toBe(
      'See [this](javascript:alert(1)) and [that](data:text/html,x) or [home](/audits) &quot;quoted&quot;',
    );
    // Quotes and angle brackets cannot leave the attribute or the label.
    expect(linkedTextHtml('[a "b" <c>](https://example.org/x?y="z"&w=<v>)')).toBe(
      '<a class="govuk-link" href="https://example.org/x?y=&quot;z&quot;&amp;w=&lt;v&gt;" rel="noopener noreferrer" target="_blank">a &quot;b&quot; &lt;c&gt; (opens in new tab)</a>',
    );
    expect(linkedTextHtml('[a <b>](https://example.org/?q=1&r=2) then [x](HTTPS://Example.org)')).toBe(
      '<a class="govuk-link" href="https://example.org/?q=1&amp;r=2" rel="noopener noreferrer" target="_blank">a &lt;b&gt; (opens in new tab)</a> then ' +
        '<a class="govuk-link" href="HTTPS://Example.org" rel="noopener noreferrer" target="_blank">x (opens in new tab)</a>',
    );
  });

  it('writes the address out in documents that cannot carry a link', () => {
    expect(linkedTextPlain('Read [the guide](https://example.org/guide) or [e-mail us](mailto:qa@example.org); [not](javascript:x) a link')).toBe(
      'Read the guide (https://example.org/guide) or e-mail us (qa@example.org); [not](javascript:x) a link',
    );
  });
});

describe('descriptor points for some children', () => {
  const good = ['Plans are reviewed regularly.', { text: 'The pathway plan is up to date.', appliesWhen: "child.legalStatus == 'care_leaver'" }];

  it('keeps a point for the children its condition names, and drops it for the others', () => {
    expect(descriptorForChild(good, { legalStatus: 'care_leaver', ageInYears: 19 })).toEqual(['Plans are reviewed regularly.', 'The pathway plan is up to date.']);
    expect(descriptorForChild(good, { legalStatus: 'cin', ageInYears: 9 })).toEqual(['Plans are reviewed regularly.']);
    expect(descriptorForChild({ text: 'Only for older children.', appliesWhen: 'child.ageInYears >= 16' }, { legalStatus: 'cin', ageInYears: 9 })).toBeUndefined();
    expect(descriptorForChild('One paragraph.', null)).toBe('One paragraph.');
  });

  it('shows every point with its condition where there is no child (a blank form)', () => {
    expect(descriptorAsWritten(good)).toEqual(['Plans are reviewed regularly.', "The pathway plan is up to date. (only when child.legalStatus == 'care_leaver')"]);
  });
});

import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.ts';
import { allocateAudit } from '../../src/modules/audits/allocation.ts';
import { loadBuiltInTools } from '../../src/modules/tools/library.ts';
import { loadPrincipal } from '../../src/platform/auth/queries.ts';
import { createChild } from '../support/audits.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from '../support/fixtures.ts';
import { clickAndLoad, describeInBrowser, expectNoAxeViolations, expectNoAxeViolationsWithoutScripts, signIn, startBrowserApp, verifyOnPage, type BrowserApp } from './support.ts';
import { ukDateAt } from '../../src/platform/clock.ts';

const BRISTOL = 'bristol-child-case-audit';
const BOLTON = 'bolton-collaborative-case-audit';

/** The Bristol 2019 sections graded with a judgement, strengths and areas for improvement. */
const GRADED_SECTIONS = [
  'Assessment/Mapping (S47 Enquiries; SAF; Parenting Assessment; CiC Care Plan Analysis; Specialist Assessments ie GCP2, RHI, CSE Form)',
  "Child's plan (CIN/CP/care plan/placement plan/pathway plan)",
  'Purposeful Interventions (Building family networks, safety planning)',
  'Reviews',
  'Risk management (CP Strategies; Professionals Meetings; MARAC; MAPPA)',
  'Management oversight',
  'Impact – What does it all mean for the child?',
];

/** The file-recording checks, by the start of each question. */
const FILE_RECORDING_CHECKS = ['Demographics', 'Genogram', 'Chronology', 'Case notes', 'Case summary', 'Appropriate flags', 'Closure summary'];

type Seeded = { council: SmallCouncil; audits: { bristol: string; bolton: string; stale: string; toddler: string; toddlerNoScript: string } };

/** Three audits allocated to Tina Manager (the auditor user): two on Bristol 2019, one on Bolton. */
async function seed(db: Db): Promise<Seeded> {
  const council = await createSmallCouncil(db);
  const org = council.organisation.id;
  await loadBuiltInTools(db, org);
  const tools = await db.selectFrom('audit_tools').select(['id', 'key']).where('organisation_id', '=', org).execute();
  const coordinator = (await loadPrincipal(db, council.users.qa_coordinator.id))!;
  const allocate = async (toolKey: string, externalId: string) => {
    const child = await createChild(db, org, { externalId, initials: 'JB', teamId: council.teams.unit1.id, workerId: council.staff.worker1.id });
    const toolId = tools.find((tool) => tool.key === toolKey)!.id;
    const outcome = await allocateAudit(db, { principal: coordinator, ipAddress: null, at: new Date() }, { childId: child.id, toolId, auditorId: council.staff.manager1.id });
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.errors));
    return outcome.audit.id;
  };
  /** A child of two: their own feedback is not asked for (Bristol asks from 13). */
  const toddler = async (externalId: string) => {
    const id = await allocate(BRISTOL, externalId);
    const twoYearsAgo = `${Number(ukDateAt(new Date()).slice(0, 4)) - 2}${ukDateAt(new Date()).slice(4)}`.replace(/-02-29$/, '-02-28');
    await db.updateTable('children').set({ date_of_birth: twoYearsAgo }).where('external_id', '=', externalId).execute();
    return id;
  };
  return {
    council,
    audits: { bristol: await allocate(BRISTOL, 'FORM-1'), bolton: await allocate(BOLTON, 'FORM-2'), stale: await allocate(BRISTOL, 'FORM-3'), toddler: await toddler('FORM-4'), toddlerNoScript: await toddler('FORM-5') },
  };
}

function shiftDays(iso: string, days: number): { day: string; month: string; year: string } {
  const date = new Date(`${iso}T12:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return { day: String(date.getUTCDate()), month: String(date.getUTCMonth() + 1), year: String(date.getUTCFullYear()) };
}

/** Fills a GOV.UK date input, found by its legend. */
async function fillDate(scope: Page | Locator, legend: string, date: { day: string; month: string; year: string }) {
  const group = scope.getByRole('group', { name: legend, exact: true });
  await group.getByLabel('Day').fill(date.day);
  await group.getByLabel('Month').fill(date.month);
  await group.getByLabel('Year').fill(date.year);
}

/** Chooses a radio or checkbox by its group's legend (or the legend's start) and its own label. */
const choose = (scope: Page | Locator, legend: string | RegExp, option: string) => scope.getByRole('group', { name: legend }).getByLabel(option, { exact: true }).check();

describeInBrowser('completing an audit in Chromium', () => {
  let t: BrowserApp<Seeded>;
  let page: Page;

  beforeAll(async () => {
    t = await startBrowserApp(seed);
    page = await t.newPage();
    await signIn(page, t.seeded.council.users.auditor.email, PASSWORD);
  }, 180_000);
  afterAll(async () => t?.close());

  const form = () => page.locator('main form[data-module="app-autosave"]');

  /** Checks the page and scans it, then returns: every page of the form is scanned. */
  async function onPage(heading: string | RegExp, on: Page = page) {
    await verifyOnPage(on, heading);
    await expectNoAxeViolations(on);
  }

  const continueTo = (on: Page = page) => clickAndLoad(on.getByRole('button', { name: 'Continue', exact: true }));

  /** The label of the chosen radio in a group. */
  async function choseRadio(legend: string) {
    const group = page.getByRole('group', { name: legend, exact: true });
    const checked = group.locator('input:checked');
    return group.locator(`label[for="${await checked.getAttribute('id')}"]`).innerText();
  }

  it('completes a whole Bristol 2019 audit page by page and submits it for moderation', { timeout: 90_000 }, async () => {
    const id = t.seeded.audits.bristol;
    await page.goto(`/audits/${id}`);
    await onPage('JB (FORM-1)');
    await clickAndLoad(page.getByRole('button', { name: 'Start the audit' }));
    await onPage('Complete the audit of JB (FORM-1)');
    expect(await page.locator('.govuk-task-list').innerText()).toContain('Not yet started');

    // Too early: submission is refused, and each problem links to its field on its page.
    await clickAndLoad(page.getByRole('button', { name: 'Check your answers and submit' }));
    await onPage('Check your answers before submitting the audit');
    await clickAndLoad(page.getByRole('button', { name: 'Submit the audit' }));
    await onPage('Check your answers before submitting the audit');
    expect(await page.title()).toMatch(/^Error: /);
    const summary = page.locator('.govuk-error-summary');
    expect(await summary.getByRole('heading').innerText()).toBe('You cannot submit this audit yet');
    // A refused submission is redirected, so the page on screen is a GET that a reload repeats safely.
    expect(new URL(page.url()).search).toBe('?refused=1');
    // A section not started is one line, not one per question.
    expect(await summary.getByRole('link', { name: /^Complete the section: Reviews$/ }).count()).toBe(1);
    expect(await summary.getByRole('link').count()).toBeLessThan(20);
    await clickAndLoad(summary.getByRole('link', { name: 'Complete the section: Audit details' }));
    expect(new URL(page.url()).pathname).toBe(`/audits/${id}/form/details`);
    await onPage('Audit details');
    // The error is beside its field on the page the link opened.
    expect(await page.locator('#type_of_audit-error').innerText()).toContain('Select type of audit');
    expect(await page.locator('#type_of_audit').getAttribute('type')).toBe('radio');

    // Audit details: the register fills in what it knows; the rest is chosen here.
    expect(await page.getByLabel("Child's ID").inputValue()).toBe('FORM-1');
    expect(await choseRadio('Status')).toBe('CIN');
    expect(await page.getByLabel('Currently allocated caseholder').locator('option:checked').innerText()).toBe('Wes Worker, Social Worker');
    expect(await page.getByRole('group', { name: 'Date of audit' }).getByLabel('Year').inputValue()).toBe(ukDateAt(new Date()).slice(0, 4));
    await choose(page, 'Type of audit', 'Manager/senior');
    await choose(page, 'Main referral factors (tick) (optional)', 'Neglect');
    await fillDate(page, 'Date referral received by First Response (optional)', shiftDays(ukDateAt(new Date()), -200));
    await choose(page, 'Was the decision by First Response timely (made in 24 hours)? (optional)', 'Yes');
    await page.getByLabel('Number of allocated social workers since referral (optional)').fill('2');
    // A question asked only for some answers comes into view as they are given, and goes again.
    const reReferralIssue = page.getByRole('group', { name: /^If yes, was the child re-referred/ });
    expect(await reReferralIssue.isVisible()).toBe(false);
    expect(await page.getByLabel(/^Other \(FGM/).isVisible()).toBe(false);
    await choose(page, 'Is it a re-referral within 12 months? (optional)', 'Yes');
    await reReferralIssue.waitFor({ state: 'visible' });
    await onPage('Audit details');
    await reReferralIssue.getByLabel('Similar issue', { exact: true }).check();
    await choose(page, 'Is it a re-referral within 12 months? (optional)', 'No');
    await reReferralIssue.waitFor({ state: 'hidden' });
    await continueTo();

    await onPage('File recording – to be reviewed alongside the Qlik Child Case Audit App');
    for (const check of FILE_RECORDING_CHECKS) await choose(form(), new RegExp(`^${check}`), 'Good');
    await form().getByLabel('Comments on quality and use within practice (optional)').first().fill('Demographics are up to date');
    await choose(form(), 'Judgement', 'Good (G)');
    await continueTo();

    await onPage('Service user feedback (auditor to contact the children/parents/carer)');
    const respondent = (name: string) => page.locator('.app-respondent').filter({ has: page.getByRole('heading', { name, exact: true }) });
    await choose(respondent('Parent/carer 1'), 'Was feedback obtained from Parent/carer 1?', 'Yes');
    await choose(respondent('Parent/carer 1'), 'Is Parent/carer 1 resident with the child?', 'Yes');
    await respondent('Parent/carer 1').getByLabel('What is going/went well? (optional)').fill('The social worker listens to us');
    await choose(respondent('Parent/carer 1'), /^Scaling/, '7');
    await choose(respondent('Parent/carer 2'), 'Was feedback obtained from Parent/carer 2?', 'No');
    await respondent('Parent/carer 2').getByLabel('Feedback not obtained because').fill('Could not be reached');
    const child = respondent('Young person/child feedback (over 13 years old)');
    await choose(child, 'Was feedback obtained from Young person/child feedback (over 13 years old)?', 'No');
    await child.getByLabel('Feedback not obtained because').fill('Did not want to take part');
    expect(await respondent('Foster carer').innerText()).toContain('Not asked for this child');
    await continueTo();

    for (const [index, title] of GRADED_SECTIONS.entries()) {
      await onPage(title);
      await choose(form(), 'Judgement', 'Good (G)');
      await form().getByLabel('Strengths (optional)', { exact: true }).fill(`Strengths in section ${index + 1}`);
      await form().getByLabel('Areas for improvement (optional)', { exact: true }).fill(`To improve in section ${index + 1}`);
      await continueTo();
    }

    await onPage('Collaborative discussions with other professionals (IRO/CP chair/Fostering social worker)');
    await page.getByRole('group', { name: 'Professional 1' }).getByLabel('Role', { exact: true }).fill('Independent reviewing officer');
    await continueTo();

    await onPage('Overall judgement');
    await choose(form(), /^Based on Ofsted grade descriptors/, 'Good (G)');
    await continueTo();

    await onPage('Action Plan for Improvement');
    const action = page.getByRole('group', { name: 'Action 1' });
    await action.getByLabel('Action Required').fill('Update the chronology');
    await action.getByLabel('To be completed by').selectOption({ label: 'Wes Worker, Social Worker' });
    // A date that does not exist is refused in GOV.UK's words, beside the date and in the summary,
    // whose link puts the cursor in the day box.
    await fillDate(action, 'By when', { day: '31', month: '2', year: '2027' });
    await continueTo();
    await onPage('Action Plan for Improvement');
    const wrongDate = 'By when for action 1 must be a real date';
    await page.locator('.govuk-error-summary').getByRole('link', { name: wrongDate, exact: true }).click();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('actions-0-by_when-day');
    expect(await page.locator('#actions-0-by_when-error').innerText()).toContain(wrongDate);
    await fillDate(page.getByRole('group', { name: 'Action 1' }), 'By when', shiftDays(ukDateAt(new Date()), 30));
    // The button that adds another action stands clear of the date above it.
    const year = (await action.getByLabel('Year').boundingBox())!;
    const addAnother = (await page.getByRole('button', { name: 'Save and add another action' }).boundingBox())!;
    expect(addAnother.y - (year.y + year.height)).toBeGreaterThanOrEqual(20);
    await continueTo();

    await onPage('Check your answers before submitting the audit');
    // Every section is now complete on the task list too.
    await clickAndLoad(page.getByRole('link', { name: 'Audit sections' }));
    await onPage('Complete the audit of JB (FORM-1)');
    expect(await page.locator('main').innerText()).toContain('You have completed 13 of 13 sections.');
    expect(await page.locator('.govuk-task-list__status').allInnerTexts()).toEqual(Array(13).fill('Completed'));
    await clickAndLoad(page.getByRole('button', { name: 'Check your answers and submit' }));
    await verifyOnPage(page, 'Check your answers before submitting the audit');
    const answers = await page.locator('main').innerText();
    for (const expected of ['Manager/senior', 'Strengths in section 7', 'Independent reviewing officer', 'Update the chronology', 'Did not want to take part']) expect(answers).toContain(expected);
    await clickAndLoad(page.getByRole('button', { name: 'Submit the audit' }));

    expect(new URL(page.url()).pathname).toBe(`/audits/${id}`);
    await onPage('JB (FORM-1)');
    expect(await page.locator('.govuk-notification-banner').innerText()).toContain('Audit submitted for moderation');
    expect(await page.getByRole('button', { name: /(Start|Continue) the audit/ }).count()).toBe(0);
  });

  it('shows the limit on a Bolton grade as the auditor answers, before anything is sent with Continue', async () => {
    await page.goto(`/audits/${t.seeded.audits.bolton}/form/sections/management_grip`);
    await onPage('8. Management Grip');
    const limit = page.locator('[data-limit-for="management_grip_grade"] .govuk-warning-text');
    expect(await limit.count()).toBe(0);
    await choose(form(), 'There is at least 1 supervision discussion recorded within the last 3 months.', 'No');
    // Autosave runs once the choice is made; the limit then shows beside the grade it holds down.
    await limit.filter({ hasText: 'Management Grip cannot be better than Does not yet meet good' }).waitFor();
    await choose(form(), 'Grading', 'Good (G)');
    await page.locator('[data-autosave-status]').filter({ hasText: /^Not saved yet: Management Grip cannot be better than/ }).waitFor();
    expect(await limit.innerText()).toContain('Limiting judgement');
    // Recording supervision lifts the limit.
    await choose(form(), 'There is at least 1 supervision discussion recorded within the last 3 months.', 'Yes');
    await page.locator('[data-autosave-status]').filter({ hasText: /^Saved at \d{2}:\d{2}$/ }).waitFor();
    await limit.waitFor({ state: 'detached' });
    await expectNoAxeViolations(page);
  });

  it('caps Bolton Management Grip when no supervision is recorded, saying why beside the grade', async () => {
    await page.goto(`/audits/${t.seeded.audits.bolton}/form/sections/management_grip`);
    await onPage('8. Management Grip');
    await choose(form(), 'There is at least 1 supervision discussion recorded within the last 3 months.', 'No');
    for (const criterion of [/^There is evidence of strong/, /^There is evidence that supervision/, /^Decision making is evidence based/, /^There is evidence that management guidance/, /^There is evidence the lead practitioner/]) {
      await choose(form(), criterion, 'Yes');
    }
    await choose(form(), 'Grading', 'Good (G)');
    await form().getByLabel(/Auditors comments and rationale for grading/).fill('Supervision has lapsed since the spring');
    await continueTo();

    await onPage('8. Management Grip');
    expect(await page.title()).toMatch(/^Error: /);
    const message = 'Management Grip cannot be better than Does not yet meet good: Limiting judgement for this section - if there is not supervision recorded within timescale – this section must be rated Does not yet meet good';
    const link = page.locator('.govuk-error-summary').getByRole('link', { name: message });
    expect(await link.getAttribute('href')).toBe('#management_grip_grade');
    expect(await page.locator('#management_grip_grade-error').innerText()).toContain(message);
    // What was chosen and typed stays.
    expect(await form().getByRole('group', { name: 'Grading' }).getByLabel('Good (G)').isChecked()).toBe(true);
    expect(await form().getByLabel(/Auditors comments/).inputValue()).toBe('Supervision has lapsed since the spring');

    await choose(form(), 'Grading', 'Does not yet meet good (RI)');
    await clickAndLoad(page.getByRole('button', { name: 'Save and come back later' }));
    await onPage(/^Complete the audit of/);
    await clickAndLoad(page.getByRole('link', { name: '8. Management Grip' }));
    await onPage('8. Management Grip');
    // The saved limit is shown beside the grade it holds down.
    expect(await page.locator('.govuk-warning-text').innerText()).toContain(message);
    expect(await form().getByRole('group', { name: 'Grading' }).getByLabel('Does not yet meet good (RI)').isChecked()).toBe(true);
  });

  it('keeps what was typed in a stale tab and shows the newer saved version beside it', async () => {
    const url = `/audits/${t.seeded.audits.stale}/form/sections/reviews`;
    const first = page;
    const second = await page.context().newPage();
    await first.goto(url);
    await second.goto(url);
    await verifyOnPage(second, 'Reviews');

    await second.getByLabel('Strengths (optional)', { exact: true }).fill('Saved in the second tab');
    await continueTo(second);
    await verifyOnPage(second, 'Risk management (CP Strategies; Professionals Meetings; MARAC; MAPPA)');
    await second.close();

    await first.getByLabel('Strengths (optional)', { exact: true }).fill('Typed in the first tab');
    const refused = first.waitForResponse((response) => response.request().method() === 'POST' && response.status() === 409);
    await continueTo(first);
    await refused;
    await onPage('Reviews');
    expect(await page.locator('[data-testid="stale-save"]').innerText()).toContain('Your answers have not been saved');
    expect(await page.getByLabel('Strengths (optional)', { exact: true }).inputValue()).toBe('Typed in the first tab');
    const newer = page.getByTestId('newer-version');
    expect(await newer.getByRole('heading').innerText()).toBe('The newer saved version');
    expect(await newer.innerText()).toContain('Saved in the second tab');
    // Each question spans the column, above its answer: a third of the page split again in two broke words mid-word.
    const column = (await newer.boundingBox())!;
    const question = (await newer.locator('dt').first().boundingBox())!;
    expect(question.width).toBeGreaterThan(column.width * 0.8);

    // Continue again saves the person's own text over the newer version, now knowingly.
    await continueTo();
    await verifyOnPage(page, 'Risk management (CP Strategies; Professionals Meetings; MARAC; MAPPA)');
    await page.goto(url);
    expect(await page.getByLabel('Strengths (optional)', { exact: true }).inputValue()).toBe('Typed in the first tab');
  });

  it('saves while typing pauses, with JavaScript, and the text is there after a reload', async () => {
    const url = `/audits/${t.seeded.audits.stale}/form/sections/impact`;
    await page.goto(url);
    await verifyOnPage(page, 'Impact – What does it all mean for the child?');
    await page.getByLabel('Areas for improvement (optional)', { exact: true }).fill('Autosaved while typing');
    await page.locator('[data-autosave-status]').filter({ hasText: /^Saved at \d{2}:\d{2}$/ }).waitFor();
    await expectNoAxeViolations(page);
    await page.reload();
    await verifyOnPage(page, 'Impact – What does it all mean for the child?');
    expect(await page.getByLabel('Areas for improvement (optional)', { exact: true }).inputValue()).toBe('Autosaved while typing');
  });

  const FEEDBACK = 'Service user feedback (auditor to contact the children/parents/carer)';
  const respondentOn = (on: Page, name: string) => on.locator('.app-respondent').filter({ has: on.getByRole('heading', { name, exact: true }) });

  it('shows each feedback respondent only what applies as the answers are chosen, with JavaScript', async () => {
    await page.goto(`/audits/${t.seeded.audits.toddler}/form/sections/service_user_feedback`);
    await onPage(FEEDBACK);
    // The child is two: their own block says so and asks nothing.
    const child = respondentOn(page, 'Young person/child feedback (over 13 years old)');
    expect(await child.innerText()).toContain('Not asked for this child, who is 2 (feedback is sought from age 14).');
    expect(await child.locator('input, textarea').count()).toBe(0);
    const parent = respondentOn(page, 'Parent/carer 1');
    const wentWell = parent.getByLabel('What is going/went well? (optional)');
    const notObtained = parent.getByLabel('Feedback not obtained because');
    expect(await wentWell.isVisible()).toBe(false);
    expect(await notObtained.isVisible()).toBe(false);
    expect(await page.evaluate(() => document.documentElement.scrollHeight)).toBeLessThan(3000);
    await choose(parent, 'Was feedback obtained from Parent/carer 1?', 'Yes');
    expect(await wentWell.isVisible()).toBe(true);
    expect(await notObtained.isVisible()).toBe(false);
    await wentWell.fill('Listened to');
    await expectNoAxeViolations(page);
    await choose(parent, 'Was feedback obtained from Parent/carer 1?', 'No');
    expect(await wentWell.isVisible()).toBe(false);
    await notObtained.fill('Could not be reached');
    // What was switched away from is not sent: "No" with its reason is saved, not both.
    await continueTo();
    await page.goto(`/audits/${t.seeded.audits.toddler}/form/sections/service_user_feedback`);
    await verifyOnPage(page, FEEDBACK);
    expect(await notObtained.inputValue()).toBe('Could not be reached');
    expect(await wentWell.inputValue()).toBe('');
  });

  it('shows each feedback respondent only what applies after Continue, without JavaScript, and refuses answers that contradict each other', async () => {
    const noScript = await t.newPage({ javaScript: false });
    await signIn(noScript, t.seeded.council.users.auditor.email, PASSWORD);
    const onPageWithoutScripts = async (heading: string) => {
      await verifyOnPage(noScript, heading);
      await expectNoAxeViolationsWithoutScripts(noScript);
    };
    const url = `/audits/${t.seeded.audits.toddlerNoScript}/form/sections/service_user_feedback`;
    await noScript.goto(url);
    await onPageWithoutScripts(FEEDBACK);
    const parent = respondentOn(noScript, 'Parent/carer 1');
    await choose(parent, 'Was feedback obtained from Parent/carer 1?', 'Yes');
    await parent.getByLabel('What is going/went well? (optional)').fill('Listened to');
    await parent.getByLabel('Feedback not obtained because').fill('Not reached');
    await continueTo(noScript);
    await onPageWithoutScripts(FEEDBACK);
    expect(await noScript.title()).toMatch(/^Error: /);
    expect(await noScript.locator('.govuk-error-summary').innerText()).toContain('You said feedback was obtained from Parent/carer 1: delete why it was not obtained, or select No');
    await parent.getByLabel('Feedback not obtained because').fill('');
    await choose(respondentOn(noScript, 'Parent/carer 2'), 'Was feedback obtained from Parent/carer 2?', 'No');
    await continueTo(noScript);
    // Back on the page, which now shows each parent only the branch of their answer.
    await onPageWithoutScripts(FEEDBACK);
    expect(await parent.getByLabel('What is going/went well? (optional)').inputValue()).toBe('Listened to');
    expect(await parent.getByLabel('Feedback not obtained because').isVisible()).toBe(false);
    const second = respondentOn(noScript, 'Parent/carer 2');
    expect(await second.getByLabel('What is going/went well? (optional)').isVisible()).toBe(false);
    expect(await second.getByLabel('Feedback not obtained because').isVisible()).toBe(true);
    await noScript.context().close();
  }, 90_000);
});

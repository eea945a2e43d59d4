import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.ts';
import { allocateAudit } from '../../src/modules/audits/allocation.ts';
import { DETAILS_PAGE, pageFields } from '../../src/modules/audits/form/answers.ts';
import { formPages, openForm, prefilledAnswers, saveSection, submitAudit, type FormActor } from '../../src/modules/audits/form/form.ts';
import { loadBuiltInTools } from '../../src/modules/tools/library.ts';
import { loadPrincipal } from '../../src/platform/auth/queries.ts';
import { builtInTool } from '../support/audit-flow.ts';
import { createChild } from '../support/audits.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from '../support/fixtures.ts';
import { completePage } from '../support/form-fields.ts';
import { clickAndLoad, describeInBrowser, expectNoAxeViolations, expectNoAxeViolationsWithoutScripts, signIn, startBrowserApp, verifyOnPage, type BrowserApp } from './support.ts';
import { ukDateAt } from '../../src/platform/clock.ts';

const BRISTOL = 'bristol-child-case-audit';

const LAMBETH = 'lambeth-service-based-case-audit';

type Seeded = { council: SmallCouncil; audits: { regrade: string; giveBack: string; secondLine: string; disagrees: string; disagreesNoScript: string } };

/**
 * Two Bristol and three Lambeth audits by Tina Manager (team manager) of children Wes Worker holds,
 * completed and submitted through the form's own services: the rule makes Sam Service their
 * moderator. Every section and the overall grade are Good.
 */
async function seed(db: Db): Promise<Seeded> {
  const council = await createSmallCouncil(db);
  const org = council.organisation.id;
  await loadBuiltInTools(db, org);
  const bristol = await builtInTool(db, org, BRISTOL);
  const lambeth = await builtInTool(db, org, LAMBETH);
  const coordinator = (await loadPrincipal(db, council.users.qa_coordinator.id))!;
  const auditor: FormActor = { principal: (await loadPrincipal(db, council.users.auditor.id))!, ipAddress: null, at: new Date() };

  const submitted = async (externalId: string, { toolId, tool } = bristol) => {
    const child = await createChild(db, org, { externalId, initials: 'MB', teamId: council.teams.unit1.id, workerId: council.staff.worker1.id });
    const allocated = await allocateAudit(db, { principal: coordinator, ipAddress: null, at: new Date() }, { childId: child.id, toolId, auditorId: council.staff.manager1.id });
    if (!allocated.ok) throw new Error(JSON.stringify(allocated.errors));
    const id = allocated.audit.id;
    for (const page of formPages(tool)) {
      const form = await openForm(db, auditor.principal, id, ukDateAt(auditor.at));
      // The details page arrives filled in from the register, as the auditor sees it.
      const prefilled = page === DETAILS_PAGE ? pageFields(tool, page, await prefilledAnswers(db, form)) : {};
      const fields = { ...completePage(tool, page, { staffId: council.staff.worker1.id, today: ukDateAt(new Date()) }), ...prefilled };
      const saved = await saveSection(db, auditor, id, page, fields, form.version);
      if (!saved.ok) throw new Error(`${page}: ${JSON.stringify(saved)}`);
    }
    const done = await submitAudit(db, auditor, id, (await openForm(db, auditor.principal, id, ukDateAt(auditor.at))).version);
    if (!done.ok) throw new Error(JSON.stringify(done));
    return id;
  };
  return {
    council,
    audits: {
      regrade: await submitted('MOD-1'),
      giveBack: await submitted('MOD-2'),
      secondLine: await submitted('MOD-3', lambeth),
      disagrees: await submitted('MOD-4', lambeth),
      disagreesNoScript: await submitted('MOD-5', lambeth),
    },
  };
}

describeInBrowser('moderating an audit in Chromium', () => {
  let t: BrowserApp<Seeded>;
  let moderator: Page;

  beforeAll(async () => {
    t = await startBrowserApp(seed);
    moderator = await t.newPage();
    await signIn(moderator, t.seeded.council.users.moderator.email, PASSWORD);
  }, 240_000);
  afterAll(async () => t?.close());

  async function onPage(page: Page, heading: string | RegExp) {
    await verifyOnPage(page, heading);
    await expectNoAxeViolations(page);
  }

  /** The grade group for one section, found by its legend. */
  const gradeGroup = (page: Page, title: string) => page.getByRole('group', { name: `Your grade for ${title}`, exact: true });

  /** The error summary at the top of the page: there is exactly one. */
  const errorSummary = (page: Page) => page.locator('.govuk-error-summary');

  /** Where the keyboard focus is now: the id of the focused element. */
  const focusedId = (page: Page) => page.evaluate(() => document.activeElement?.id ?? '');

  it('regrades a section and the overall grade with reasons, refusing a change without its reason', { timeout: 90_000 }, async () => {
    const page = moderator;
    const id = t.seeded.audits.regrade;
    await page.goto(`/audits/${id}`);
    await onPage(page, 'MB (MOD-1)');
    await clickAndLoad(page.getByRole('button', { name: 'Moderate this audit' }));
    expect(new URL(page.url()).pathname).toBe(`/audits/${id}/moderate`);
    await onPage(page, 'Moderate the audit');
    expect(await page.locator('main').innerText()).toContain('Look hard at management oversight');
    // What is moderated is all there: the sections without a grade (family feedback, the action
    // plan) as the auditor recorded them, and a link to the whole audit.
    expect(await page.getByRole('link', { name: /Read the whole audit/ }).getAttribute('href')).toBe(`/audits/${id}/read`);
    const recorded = await page.locator('main h3[id^="section-"]').allInnerTexts();
    expect(recorded).toEqual(expect.arrayContaining([expect.stringMatching(/^Service user feedback/), expect.stringMatching(/^Action Plan for Improvement/)]));
    // Each of the auditor's grades is named once, in the question that rules on it.
    const text = await page.locator('main').innerText();
    expect(text).not.toContain("Auditor's grade:");
    expect(text).not.toMatch(/: Good\n/);
    const items = await page.locator('main form fieldset legend', { hasText: 'Your grade for' }).count();
    expect(text.match(/The auditor graded this Good\./g)).toHaveLength(items);

    // The first section the moderator rules on, and the overall grade, start as the auditor's Good.
    const firstLegend = (await page.locator('main form fieldset legend').first().innerText()).trim();
    const section = firstLegend.replace(/^Your grade for /, '');
    expect(section).not.toBe(firstLegend);
    expect(await gradeGroup(page, section).getByLabel('Good', { exact: true }).isChecked()).toBe(true);
    expect(await gradeGroup(page, 'Overall grade').getByLabel('Good', { exact: true }).isChecked()).toBe(true);

    await gradeGroup(page, section).getByLabel('Requires improvement', { exact: true }).check();
    await page.getByLabel('Development comments (optional)').fill('Evidence the plan more clearly');
    await clickAndLoad(page.getByRole('button', { name: 'Moderate the audit' }));

    await onPage(page, 'Moderate the audit');
    expect(await page.title()).toMatch(/^Error: /);
    const message = `Enter the reason for changing the grade for ${section}`;
    const link = errorSummary(page).getByRole('link', { name: message });
    const reasonId = (await link.getAttribute('href'))!.slice(1);
    expect(reasonId).toMatch(/^reason-/);
    expect(await page.locator(`#${reasonId}-error`).innerText()).toContain(message);
    expect(await page.getByLabel(`Reason for the change to ${section}`).getAttribute('id')).toBe(reasonId);
    // Nothing the moderator chose or typed is lost.
    expect(await gradeGroup(page, section).getByLabel('Requires improvement', { exact: true }).isChecked()).toBe(true);
    expect(await page.getByLabel('Development comments (optional)').inputValue()).toBe('Evidence the plan more clearly');
    await link.click();
    expect(await focusedId(page)).toBe(reasonId);

    await page.getByLabel(`Reason for the change to ${section}`).fill('Plans are not specific enough');
    await gradeGroup(page, 'Overall grade').getByLabel('Requires improvement', { exact: true }).check();
    await page.getByLabel('Reason for the change to Overall grade').fill('The plan drags the case down');
    await page.getByLabel('Development comments (optional)').fill('Evidence the plan more clearly & <b>name</b> who does what');
    // Bristol's own moderation block: the findings; the moderator and the sign-off date come filled in.
    await page.getByLabel("Moderators' Findings").fill('The grades are evidenced, apart from the plan');
    await clickAndLoad(page.getByRole('button', { name: 'Moderate the audit' }));

    expect(new URL(page.url()).pathname).toBe(`/audits/${id}`);
    await onPage(page, 'MB (MOD-1)');
    expect(await page.locator('.govuk-notification-banner').innerText()).toContain('Audit moderated');
    expect(await page.locator('.govuk-summary-list').innerText()).toMatch(/Status\s+Moderated/);
    expect(await page.getByRole('button', { name: 'Moderate this audit' }).count()).toBe(0);
    const history = page.locator('.moj-timeline__item').first();
    expect(await history.locator('.moj-timeline__title').innerText()).toBe('Moderated');
    expect(await history.locator('.moj-timeline__byline').innerText()).toContain('Sam Service');

    // Nowhere on the pages yet: the moderator's grades and comments are stored as typed.
    const stored = await t.db.selectFrom('audits').select(['final_grade', 'auditor_grade', 'moderator_comments']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(stored).toEqual({ final_grade: 'requires_improvement', auditor_grade: 'good', moderator_comments: 'Evidence the plan more clearly & <b>name</b> who does what' });
    const regraded = await t.db.selectFrom('audit_judgements').select(['section_key', 'grade', 'reason']).where('audit_id', '=', id).where('stage', '=', 'moderator').where('reason', 'is not', null).orderBy('section_key').execute();
    expect(regraded).toEqual([
      { section_key: reasonId.slice('reason-'.length), grade: 'requires_improvement', reason: 'Plans are not specific enough' },
      { section_key: 'overall', grade: 'requires_improvement', reason: 'The plan drags the case down' },
    ]);

    // Moving on from the moderated audit shows the moderation page no more.
    await page.goto(`/audits/${id}/moderate`);
    expect(new URL(page.url()).pathname).toBe(`/audits/${id}`);

    // The final grade is the moderator's, where the audits are listed.
    await page.goto('/audits');
    await verifyOnPage(page, /audit/i);
    const headers = (await page.locator('[data-testid="audits"] thead th').allInnerTexts()).map((text) => text.replace(/, sort \w+$/, '').trim());
    const cells = page.locator('[data-testid="audits"] tbody tr').filter({ hasText: 'MOD-1' }).locator('th, td');
    const cell = async (header: string) => (await cells.nth(headers.indexOf(header)).innerText()).trim();
    expect(await cell('Status')).toBe('Moderated');
    // One grade column: the final (moderated) grade once there is one; the auditor's is on the audit's page and in the downloads.
    expect(await cell('Grade')).toBe('Requires improvement');

    // The read view says who moderated it, and when.
    await page.goto(`/audits/${id}/read`);
    await onPage(page, 'MB (MOD-1)');
    // Before anything else: the final grade, and that it was moderated.
    const headline = await page.getByTestId('headline').innerText();
    expect(headline).toMatch(/^Final grade\s+Requires improvement\s+Moderated by Sam Service on \d+ \w+ \d{4}: the auditor graded Good; the moderator regraded it Requires improvement\./);
    const details = await page.locator('main .govuk-summary-list').first().innerText();
    expect(details).toMatch(/Status\s+Moderated/);
    expect(details).toMatch(/Moderator\s+Sam Service/);
    expect(details).not.toMatch(/Moderated\s+Not yet/);
    // Both grades side by side, the reasons and the development comments, for the auditor to read.
    const moderation = await page.locator('main').innerText();
    expect(moderation).toMatch(/Final grade\s+Requires improvement/);
    expect(moderation).toContain('Development comments for the auditor');
    await page.goto(`/audits/${id}`);
    const summary = await page.locator('main .govuk-summary-list').first().innerText();
    expect(summary).toMatch(/Auditor’s grade\s+Good/);
    expect(summary).toMatch(/Final grade\s+Requires improvement/);
  });

  it('returns an audit only with what needs to change, and the auditor reads why on the timeline', async () => {
    const page = moderator;
    const id = t.seeded.audits.giveBack;
    await page.goto(`/audits/${id}/moderate`);
    await onPage(page, 'Moderate the audit');

    await clickAndLoad(page.getByRole('button', { name: 'Return the audit' }));
    await onPage(page, 'Moderate the audit');
    expect(await page.title()).toMatch(/^Error: /);
    const link = errorSummary(page).getByRole('link', { name: 'Enter what needs to change' });
    expect(await link.getAttribute('href')).toBe('#changes');
    expect(await page.locator('#changes-error').innerText()).toContain('Enter what needs to change');
    await link.click();
    expect(await focusedId(page)).toBe('changes');

    const changes = 'Add the chronology & the <genogram> before resubmitting';
    await page.getByLabel('What needs to change').fill(changes);
    await clickAndLoad(page.getByRole('button', { name: 'Return the audit' }));
    expect(new URL(page.url()).pathname).toBe(`/audits/${id}`);
    await onPage(page, 'MB (MOD-2)');
    expect(await page.locator('.govuk-notification-banner').innerText()).toContain('Audit returned to the auditor');

    const auditor = await t.newPage();
    await signIn(auditor, t.seeded.council.users.auditor.email, PASSWORD);
    await auditor.goto(`/audits/${id}`);
    await onPage(auditor, 'MB (MOD-2)');
    const latest = auditor.locator('.moj-timeline__item').first();
    expect(await latest.locator('.moj-timeline__title').innerText()).toBe('Returned to the auditor');
    expect(await latest.locator('.moj-timeline__byline').innerText()).toContain('Sam Service');
    // Typed text is shown as typed, never as markup.
    expect(await latest.innerText()).toContain(`Why: ${changes}`);
    expect(await auditor.getByRole('button', { name: 'Continue the audit' }).count()).toBe(1);
    await auditor.context().close();
  });

  it("asks Lambeth's second line quality assurance with the form's own fields, and tracks the second line's action", { timeout: 90_000 }, async () => {
    const page = moderator;
    const id = t.seeded.audits.secondLine;
    await page.goto(`/audits/${id}/moderate`);
    await onPage(page, 'Moderate the audit');
    expect(await page.getByRole('heading', { name: 'Second line Quality Assurance of Audit by Senior Manager' }).count()).toBe(1);
    expect(await page.getByRole('heading', { name: 'Additional Actions recommended by Second Line' }).count()).toBeGreaterThan(0);
    // The second line auditor is the moderator until they say otherwise.
    expect(await page.getByLabel('Name of Second Line Auditor').locator('option:checked').innerText()).toContain('Sam Service');

    // Sent with the quality comment and the action's date missing: each problem beside its field, nothing lost.
    await page.locator('#second_line_actions-0-action').fill('Update the chronology with the strategy meeting');
    await page.locator('#second_line_actions-0-by_when-day').fill('soon');
    await clickAndLoad(page.getByRole('button', { name: 'Moderate the audit' }));
    await onPage(page, 'Moderate the audit');
    expect(await page.title()).toMatch(/^Error: /);
    const comment = errorSummary(page).getByRole('link', { name: /^Answer ‘Please comment on the quality of the audit/ });
    expect(await comment.getAttribute('href')).toBe('#audit_quality_comment');
    expect(await page.locator('#audit_quality_comment-error').innerText()).toContain('Please comment on the quality of the audit');
    const date = errorSummary(page).getByRole('link', { name: 'Enter by when (insert a date) for action 1 as a date, like 27 3 2027' });
    expect(await date.getAttribute('href')).toBe('#second_line_actions-0-by_when-day');
    expect(await page.locator('#second_line_actions-0-by_when-day').inputValue()).toBe('soon');
    await comment.click();
    expect(await focusedId(page)).toBe('audit_quality_comment');

    await page.locator('#audit_quality_comment').fill('Detailed, and it gave a good sense of the case');
    await page.locator('#agrees_with_grading').check();
    const due = new Date(Date.now() + 21 * 86_400_000);
    await page.locator('#second_line_actions-0-by_when-day').fill(String(due.getUTCDate()));
    await page.locator('#second_line_actions-0-by_when-month').fill(String(due.getUTCMonth() + 1));
    await page.locator('#second_line_actions-0-by_when-year').fill(String(due.getUTCFullYear()));
    await page.locator('#second_line_actions-0-by_whom').selectOption({ label: 'Wes Worker, Social Worker' });
    await clickAndLoad(page.getByRole('button', { name: 'Moderate the audit' }));
    expect(new URL(page.url()).pathname).toBe(`/audits/${id}`);
    await onPage(page, 'MB (MOD-3)');
    const actions = await page.getByTestId('audit-actions').innerText();
    expect(actions).toMatch(/Update the chronology with the strategy meeting\s+Recommended by the moderator \(second line\)/);
    expect(actions).toContain('Wes Worker');

    await page.goto(`/audits/${id}/read`);
    await onPage(page, 'MB (MOD-3)');
    const read = await page.locator('main').innerText();
    expect(read).toContain('Detailed, and it gave a good sense of the case');
    expect(read).toMatch(/Do you agree with the grading\s+Yes/);
    // On a phone its tables scroll within themselves, not the page.
    await page.setViewportSize({ width: 375, height: 800 });
    expect(await page.locator('main table').count()).toBeGreaterThan(0);
    expect(await fitsWidth(page)).toBe(true);
    await expectNoAxeViolations(page);
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  /** Lambeth's "Do you agree with the grading" and the grading it asks for when the answer is No. */
  const agrees = (page: Page) => page.getByRole('group', { name: 'Do you agree with the grading', exact: true });
  const ownGrading = (page: Page) => page.getByRole('group', { name: 'If not please state your grading', exact: true });
  const CONDITION = 'Answer only if you answered No to ‘Do you agree with the grading’.';

  /** The page does not scroll sideways at this width. */
  const fitsWidth = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

  it('asks for the second line\'s own grading as the moderator answers No, and refuses a "No" that keeps the grade', { timeout: 90_000 }, async () => {
    const page = moderator;
    const id = t.seeded.audits.disagrees;
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`/audits/${id}/moderate`);
    await onPage(page, 'Moderate the audit');
    // Not asked until the moderator says they do not agree.
    expect(await ownGrading(page).isVisible()).toBe(false);
    await agrees(page).getByLabel('No', { exact: true }).check();
    await ownGrading(page).waitFor({ state: 'visible' });
    await expectNoAxeViolations(page);
    await agrees(page).getByLabel('Yes', { exact: true }).check();
    await ownGrading(page).waitFor({ state: 'hidden' });
    await agrees(page).getByLabel('No', { exact: true }).check();
    await ownGrading(page).waitFor({ state: 'visible' });
    await page.locator('[data-autosave-status]').filter({ hasText: /^Your answers are kept \(not yet sent\) at \d{2}:\d{2}$/ }).waitFor();

    // At 375 px the question reads in the column, and the page passes axe.
    await page.setViewportSize({ width: 375, height: 800 });
    expect(await ownGrading(page).isVisible()).toBe(true);
    expect(await fitsWidth(page)).toBe(true);
    await expectNoAxeViolations(page);
    await page.setViewportSize({ width: 1280, height: 800 });

    // "No" with the auditor's overall grade kept: refused beside the question, nothing lost.
    await page.locator('#audit_quality_comment').fill('Thorough, but the plan is vague');
    await ownGrading(page).locator('input[value="good"]').check();
    await clickAndLoad(page.getByRole('button', { name: 'Moderate the audit' }));
    await onPage(page, 'Moderate the audit');
    expect(await page.title()).toMatch(/^Error: /);
    const message = 'You answered No to ‘Do you agree with the grading’, but your overall grade is the auditor’s, Good: answer Yes, or change the overall grade';
    const link = errorSummary(page).getByRole('link', { name: message });
    expect(await link.getAttribute('href')).toBe('#agrees_with_grading');
    expect(await page.locator('#agrees_with_grading-error').innerText()).toContain(message);
    expect(await page.locator('#audit_quality_comment').inputValue()).toBe('Thorough, but the plan is vague');
    expect(await agrees(page).getByLabel('No', { exact: true }).isChecked()).toBe(true);
    expect(await ownGrading(page).isVisible()).toBe(true);

    // Regrading the overall grade as their own grading says, it is moderated.
    await ownGrading(page).locator('input[value="requires_improvement"]').check();
    await gradeGroup(page, 'Overall grade').getByLabel('Requires improvement', { exact: true }).check();
    await page.getByLabel('Reason for the change to Overall grade').fill('The plan has no dates');
    await clickAndLoad(page.getByRole('button', { name: 'Moderate the audit' }));
    expect(new URL(page.url()).pathname).toBe(`/audits/${id}`);
    await onPage(page, 'MB (MOD-4)');
    const stored = await t.db.selectFrom('audits').select(['final_grade', 'answers']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ final_grade: 'requires_improvement', answers: { agrees_with_grading: 'no', second_line_grade: 'requires_improvement' } });
  });

  it('shows the grading with its condition in words without JavaScript, asking for it only when the moderator does not agree', { timeout: 90_000 }, async () => {
    const page = await t.newPage({ javaScript: false });
    await signIn(page, t.seeded.council.users.moderator.email, PASSWORD);
    const id = t.seeded.audits.disagreesNoScript;
    const onPageWithoutScripts = async () => {
      await verifyOnPage(page, 'Moderate the audit');
      await expectNoAxeViolationsWithoutScripts(page);
    };
    await page.goto(`/audits/${id}/moderate`);
    await onPageWithoutScripts();
    expect(await ownGrading(page).isVisible()).toBe(true);
    expect(await ownGrading(page).innerText()).toContain(CONDITION);
    await page.setViewportSize({ width: 375, height: 800 });
    expect(await fitsWidth(page)).toBe(true);
    await onPageWithoutScripts();
    await page.setViewportSize({ width: 1280, height: 800 });

    // "No" without a grading: the grading is asked for.
    await page.locator('#audit_quality_comment').fill('Detailed, and it gave a good sense of the case');
    await agrees(page).getByLabel('No', { exact: true }).check();
    await clickAndLoad(page.getByRole('button', { name: 'Moderate the audit' }));
    await onPageWithoutScripts();
    expect(await errorSummary(page).getByRole('link', { name: 'Select a judgement for If not please state your grading' }).getAttribute('href')).toBe('#second_line_grade');
    expect(await ownGrading(page).innerText()).toContain(CONDITION);

    // "Yes": the grading is not asked for, and one left chosen is not kept.
    await agrees(page).getByLabel('Yes', { exact: true }).check();
    await ownGrading(page).locator('input[value="inadequate"]').check();
    await clickAndLoad(page.getByRole('button', { name: 'Moderate the audit' }));
    expect(new URL(page.url()).pathname).toBe(`/audits/${id}`);
    await verifyOnPage(page, 'MB (MOD-5)');
    const stored = await t.db.selectFrom('audits').select(['final_grade', 'answers']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(stored.final_grade).toBe('good');
    expect(stored.answers).toMatchObject({ agrees_with_grading: 'yes' });
    expect((stored.answers as Record<string, unknown>).second_line_grade).toBeUndefined();
    await page.context().close();
  });
});

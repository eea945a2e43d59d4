import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseDocument, stringify } from 'yaml';
import { importToolEdition } from '../../src/modules/tools/library.ts';
import { createChild, setServiceDefaultTool } from '../support/audits.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from '../support/fixtures.ts';
import { clickAndLoad, describeInBrowser, expectNoAxeViolations, signIn, startBrowserApp, verifyOnPage, type BrowserApp } from './support.ts';

const EXAMPLE = fs.readFileSync(path.resolve(import.meta.dirname, '../../audit-tools/examples/minimal.yaml'), 'utf8');

/** The worked example as one tool of a council's toolkit, for some children. */
function councilTool(key: string, name: string, appliesTo: Record<string, unknown>): string {
  const data = parseDocument(EXAMPLE).toJS() as Record<string, unknown>;
  return stringify({ ...data, key, name, appliesTo });
}

type Seeded = { council: SmallCouncil; careLeaverId: string };

describeInBrowser('allocating with a tool for other children, in Chromium', () => {
  let t: BrowserApp<Seeded>;
  let page: Page;

  beforeAll(async () => {
    t = await startBrowserApp(async (db) => {
      const council = await createSmallCouncil(db);
      const org = council.organisation.id;
      const actor = { principal: null, ipAddress: null, at: new Date(), label: 'test' };
      await importToolEdition(db, org, councilTool('in-care-audit', 'Children in care and care leavers audit', { legalStatuses: ['child_in_care', 'care_leaver'] }), 'in-care.yaml', actor);
      const cinCp = await importToolEdition(db, org, councilTool('cin-cp-audit', 'Child in need and protection audit', { legalStatuses: ['cin', 'cp'] }), 'cin-cp.yaml', actor);
      if (cinCp.status !== 'imported') throw new Error(JSON.stringify(cinCp));
      await setServiceDefaultTool(db, org, council.services.area.id, cinCp.toolId);
      const child = await createChild(db, org, { externalId: 'CL-01', initials: 'QR', teamId: council.teams.unit1.id, workerId: council.staff.worker1.id });
      await db.updateTable('children').set({ legal_status: 'care_leaver' }).where('id', '=', child.id).execute();
      return { council, careLeaverId: child.id };
    });
    page = await t.newPage();
    await signIn(page, t.seeded.council.users.qa_coordinator.email, PASSWORD);
  });
  afterAll(async () => t?.close());

  it('preselects the tool for a care leaver, and asks to confirm the CIN/CP tool, at 1280 px and 375 px', async () => {
    await page.goto(`/audits/allocate?childId=${t.seeded.careLeaverId}`);
    await verifyOnPage(page, 'QR (CL-01)');
    const tool = page.getByLabel('Audit tool');
    expect(await tool.locator('option:checked').innerText()).toBe('Children in care and care leavers audit (edition 2026)');
    await expectNoAxeViolations(page);

    await tool.selectOption({ label: 'Child in need and protection audit (edition 2026)' });
    await page.getByLabel('Auditor').selectOption({ label: 'Tina Manager, Team Manager (North Unit 1): 0 audits in hand' });
    await clickAndLoad(page.getByRole('button', { name: 'Allocate audit' }));
    await verifyOnPage(page, 'QR (CL-01)');
    const summary = page.locator('.govuk-error-summary');
    expect(await summary.innerText()).toContain('Child in need and protection audit is for Child in Need and Child Protection, and QR (CL-01) is Care Leaver: confirm that you want to use');
    await expectNoAxeViolations(page);
    await page.setViewportSize({ width: 375, height: 800 });
    await expectNoAxeViolations(page);
    await page.setViewportSize({ width: 1280, height: 800 });

    // The error summary leads to the box; ticking it allocates the tool chosen.
    await summary.getByRole('link').first().click();
    await page.getByLabel('Use this tool all the same').check();
    await clickAndLoad(page.getByRole('button', { name: 'Allocate audit' }));
    expect(page.url()).toMatch(/\/audits\/[0-9a-f-]+\?allocated=1$/);
    expect(await page.locator('.govuk-notification-banner--success').innerText()).toContain('Audit allocated to Tina Manager');
  });
});

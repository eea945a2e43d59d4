import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadBuiltInTools } from '../../src/modules/tools/library.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from '../support/fixtures.ts';
import { clickAndLoad, describeInBrowser, expectNoAxeViolations, signIn, startBrowserApp, verifyOnPage, type BrowserApp } from './support.ts';

const EXAMPLE = fs.readFileSync(path.resolve(import.meta.dirname, '../../audit-tools/examples/minimal.yaml'), 'utf8');
const BROKEN = EXAMPLE.replace('key: example-case-audit', 'key: Example Audit').replace('scale: ofsted\n        required: true\n        evidence', 'scale: ofstead\n        required: true\n        evidence');

describeInBrowser('the audit-tool library in Chromium', () => {
  let t: BrowserApp<SmallCouncil>;
  let page: Page;

  beforeAll(async () => {
    t = await startBrowserApp(async (db) => {
      const council = await createSmallCouncil(db);
      await loadBuiltInTools(db, council.organisation.id);
      return council;
    });
    page = await t.newPage();
    await signIn(page, t.seeded.users.qa_lead.email, PASSWORD);
  });
  afterAll(async () => t?.close());

  async function upload(filename: string, content: string) {
    await page.goto('/tools/upload');
    await verifyOnPage(page, 'Upload a tool or a new edition');
    await page.getByLabel('Upload a tool file').setInputFiles({ name: filename, mimeType: 'application/yaml', buffer: Buffer.from(content) });
    await clickAndLoad(page.getByRole('button', { name: 'Upload', exact: true }));
  }

  it('lists the tools from the navigation', async () => {
    await page.goto('/');
    await clickAndLoad(page.getByRole('link', { name: 'Audit tools' }));
    await verifyOnPage(page, 'Audit tools');
    await expectNoAxeViolations(page);
  });

  it('shows each built-in tool as its whole form, read only and accessible', async () => {
    await page.goto('/tools');
    const links = await page.locator('a', { hasText: /^Edition / }).evaluateAll((anchors) => anchors.map((a) => (a as HTMLAnchorElement).getAttribute('href')!));
    expect(links.length).toBeGreaterThan(0);
    for (const href of links) {
      await page.goto(href);
      expect(await page.locator('main input:not([disabled]), main textarea:not([disabled]), main select:not([disabled])').count()).toBe(0);
      await expectNoAxeViolations(page);
    }
  }, 120_000);

  it('leads from the contents to each section and back, and offers the blank form to download', async () => {
    await page.goto('/tools');
    const href = (await page.locator('a', { hasText: /^Edition / }).first().getAttribute('href'))!;
    await page.goto(href);
    const contents = page.getByRole('navigation', { name: 'Contents' });
    const first = contents.getByRole('link').nth(1);
    const target = (await first.getAttribute('href'))!;
    await first.click();
    expect(new URL(page.url()).hash).toBe(target);
    expect(await page.locator(`${target}`).isVisible()).toBe(true);
    await page.locator(target).locator('xpath=..').getByRole('link', { name: 'Back to contents' }).click();
    expect(new URL(page.url()).hash).toBe('#contents');
    for (const format of ['DOCX', 'PDF']) {
      const link = page.getByRole('link', { name: `Download the blank form as ${format}` });
      const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
      expect(download.suggestedFilename()).toMatch(new RegExp(`-blank-form\\.${format.toLowerCase()}$`));
    }
    await expectNoAxeViolations(page);
  });

  it('lists every problem of a bad file in the error summary, each with its path', async () => {
    await upload('broken.yaml', BROKEN);
    await verifyOnPage(page, 'Upload a tool or a new edition');
    const summary = page.locator('.govuk-error-summary');
    await expect.poll(() => summary.isVisible()).toBe(true);
    const items = await summary.locator('li').allInnerTexts();
    expect(items.some((item) => /^key \(line \d+\): use lower-case letters/.test(item)), items.join('\n')).toBe(true);
    expect(items.some((item) => /^sections\[0\]\.answers\[0\]\.scale \(line \d+\): unknown scale "ofstead"/.test(item))).toBe(true);
    await expectNoAxeViolations(page);
  });

  it('loads a good file and shows its form', async () => {
    await upload('minimal.yaml', EXAMPLE);
    await verifyOnPage(page, 'Example Child Case Audit');
    expect(await page.locator('.govuk-notification-banner').innerText()).toContain('has been added to the library');
    await expectNoAxeViolations(page);
  });
});

/**
 * Browser tests: Assure runs in-process on a random port over an in-memory PGlite database,
 * and a real Chromium drives it through playwright-core. Every page a test visits can be
 * scanned with axe-core against WCAG 2.2 AA.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { systemClock, type Clock } from '../../src/platform/clock.ts';
import type { Db } from '../../src/db/index.ts';
import { buildAssets } from '../../src/platform/assets.ts';
import { testConfig } from '../support/app.ts';
import { openTestDatabase } from '../support/database.ts';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The machine has no internet: without these flags Chromium floods refused connections. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const SKIP_MESSAGE = 'Browser tests skipped: install Chromium (apt-get install chromium)';

/**
 * `describe` for a browser test file. Without Chromium the file is skipped with one line
 * printed, except on CI, where a missing browser is a failure, never a silent skip.
 */
export function describeInBrowser(name: string, suite: () => void) {
  if (fs.existsSync(CHROMIUM_PATH)) return describe(name, suite);
  if (process.env.CI === 'true') {
    return describe(name, () => {
      it('needs Chromium', () => {
        throw new Error(`CI=true but Chromium is not installed at ${CHROMIUM_PATH}: the browser tests cannot be skipped on CI (apt-get install chromium)`);
      });
    });
  }
  console.log(SKIP_MESSAGE);
  return describe.skip(name, suite);
}

export type BrowserApp<T> = {
  baseUrl: string;
  db: Db;
  seeded: T;
  browser: Browser;
  /** A fresh browser context (its own cookies) with one page open; `javaScript: false` browses without scripts. */
  newPage: (options?: { javaScript?: boolean }) => Promise<Page>;
  close: () => Promise<void>;
};

/**
 * Starts Assure on a random local port (or `options.port`) over a fresh in-memory database,
 * seeded by `seed`, and launches Chromium. `options.config` adds settings; `options.clock` sets business time.
 */
export async function startBrowserApp<T>(
  seed: (db: Db) => Promise<T>,
  options: { config?: Record<string, string>; clock?: Clock; port?: number } = {},
): Promise<BrowserApp<T>> {
  // The layout links the compiled stylesheet; axe's colour-contrast check needs the real one.
  await buildAssets();
  const handle = await openTestDatabase('pglite');
  let browser: Browser | undefined;
  const app = await buildApp({ db: handle.db, config: testConfig(options.config), clock: options.clock ?? systemClock });
  try {
    const seeded = await seed(handle.db);
    await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const baseUrl = `http://127.0.0.1:${port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    const launched = browser;
    return {
      baseUrl,
      db: handle.db,
      seeded,
      browser: launched,
      newPage: async (pageOptions = {}) => {
        const context = await launched.newContext({ baseURL: baseUrl, acceptDownloads: true, locale: 'en-GB', timezoneId: 'Europe/London', javaScriptEnabled: pageOptions.javaScript ?? true });
        // Well under the test timeout, so a missing element fails that test, not the whole file.
        context.setDefaultTimeout(10_000);
        return watchForErrors(await context.newPage());
      },
      close: async () => {
        await launched.close();
        await app.close();
        await handle.close();
      },
    };
  } catch (error) {
    await browser?.close();
    await app.close();
    await handle.close();
    throw error;
  }
}

const pageErrors = new WeakMap<Page, string[]>();

/** Uncaught script errors (a CSP block of the app's own scripts shows up here too). */
function watchForErrors(page: Page): Page {
  const errors: string[] = [];
  pageErrors.set(page, errors);
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) errors.push(message.text());
  });
  return page;
}

/**
 * Clicks a link or button that loads a new page, and waits until that page has loaded: a
 * click alone may return before the navigation commits, and the old page would be read.
 */
export async function clickAndLoad(target: Locator) {
  const loaded = target.page().waitForEvent('load', { timeout: 15_000 });
  await target.click();
  await loaded;
}

/** Signs in through the real sign-in form. */
export async function signIn(page: Page, email: string, password: string) {
  await page.goto('/sign-in');
  await page.getByLabel('E-mail address').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await clickAndLoad(page.getByRole('button', { name: 'Sign in', exact: true }));
}

/** Page-object check: the page's one h1 reads `heading`, and no script on it has failed. */
export async function verifyOnPage(page: Page, heading: string | RegExp) {
  const h1 = page.locator('h1');
  expect(await h1.count(), `one h1 on ${page.url()}`).toBe(1);
  const text = (await h1.innerText()).trim();
  if (typeof heading === 'string') expect(text, `h1 on ${page.url()}`).toBe(heading);
  else expect(text, `h1 on ${page.url()}`).toMatch(heading);
  expect(pageErrors.get(page) ?? [], `script errors on ${page.url()}`).toEqual([]);
}

const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const WCAG_22_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

type AxeViolation = { id: string; impact: string | null; help: string; helpUrl: string; nodes: { target: unknown[]; failureSummary?: string }[] };

/**
 * Scans the page as it is now with axe-core (WCAG 2.0–2.2 A and AA) and fails with a
 * readable list of violations. The source is evaluated through the DevTools protocol,
 * which the app's CSP (no inline scripts) does not block.
 */
export async function expectNoAxeViolations(page: Page) {
  const loaded = await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe === 'object');
  if (!loaded) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async (tags) => {
    const axe = (window as unknown as { axe: { run: (context: Document, options: unknown) => Promise<{ violations: AxeViolation[] }> } }).axe;
    const results = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return results.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) }));
  }, WCAG_22_AA);
  expect(violations.length, `axe violations on ${page.url()}:\n${describeViolations(violations)}`).toBe(0);
}

/**
 * axe on a page browsed without JavaScript: axe needs scripts, so the page's HTML, as it is, is
 * scanned in a second page at the same address whose own scripts never run (blocked, and the
 * classes GOV.UK Frontend adds when scripts run taken off), with the same stylesheet.
 */
export async function expectNoAxeViolationsWithoutScripts(page: Page) {
  const context = await page.context().browser()!.newContext();
  try {
    const copy = await context.newPage();
    await copy.route('**/*.js', (route) => route.abort());
    await copy.goto(page.url());
    await copy.setContent(await page.content());
    await copy.evaluate(() => document.body.classList.remove('govuk-frontend-supported', 'js-enabled'));
    await expectNoAxeViolations(copy);
  } finally {
    await context.close();
  }
}

function describeViolations(violations: AxeViolation[]): string {
  return violations
    .map((v) => {
      const nodes = v.nodes.map((n) => `    at ${n.target.map(String).join(' > ')}${n.failureSummary ? `\n      ${n.failureSummary.replace(/\n/g, '\n      ')}` : ''}`);
      return `  ${v.id} (${v.impact ?? 'unknown impact'}): ${v.help} – ${v.helpUrl}\n${nodes.join('\n')}`;
    })
    .join('\n');
}

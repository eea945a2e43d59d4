/**
 * The audit form: one section page of a Bristol 2019 audit whose every section is filled in,
 * as its auditor works on it. Measured in the same process:
 *
 *   section page   GET /audits/:id/form/sections/assessment (signed in, through the real app):
 *                  the audit and its tool edition, the child, the staff list, the activity
 *                  entry and the page with its grade descriptors.
 *   save           POST of that page with one answer changed (Continue, answered 303), each at
 *                  the audit's current version (chained: every save moves it on by one).
 *   autosave       the same POST as the page's script sends it while typing pauses (JSON), each
 *                  at the version the previous autosave answered.
 *   bare route     a Fastify route returning a tiny string: the floor of any request.
 */
import type { Db } from '../src/db/index.ts';
import { allocateAudit } from '../src/modules/audits/allocation.ts';
import { DETAILS_PAGE, findSection, type RawFields } from '../src/modules/audits/form/answers.ts';
import { formPages, openForm, saveSection, type AuditForm } from '../src/modules/audits/form/form.ts';
import { DEMO_PASSWORD } from '../src/demo/data.ts';
import { loadBuiltInTools } from '../src/modules/tools/library.ts';
import type { Principal } from '../src/platform/access.ts';
import { findUserByEmail, loadPrincipal } from '../src/platform/auth/queries.ts';
import { createChild } from '../test/support/audits.ts';
import { TestClient } from '../test/support/client.ts';
import { completePage as completeFormPage } from '../test/support/form-fields.ts';
import { startBenchApps, type BenchContext } from './context.ts';
import { latencies, ratio, round, summarise } from './measure.ts';
import { ukDateAt } from '../src/platform/clock.ts';

type Summary = ReturnType<typeof summarise>;

export type FormBenchResult = {
  tool: string;
  /** The pages of the form filled in before measuring, and the answers saved on them. */
  pages: number;
  answers: number;
  /** The page measured. */
  url: string;
  iterations: number;
  warmups: number;
  page: Summary;
  save: Summary;
  autosave: Summary;
  bareRoute: Summary;
  ratios: { pageToBareRoute: number; saveToBareRoute: number; autosaveToBareRoute: number };
  /** The audit's version before and after the measured saves: every save was accepted. */
  versions: { before: number; after: number };
  notes: string[];
};

const TOOL_KEY = 'bristol-child-case-audit';
const AUDITOR = 'auditor@avonford.example';
const ALLOCATOR = 'qa.coordinator@avonford.example';
const PAGE = 'assessment';

export async function runFormBench(ctx: BenchContext): Promise<FormBenchResult> {
  const warmups = 5;
  const iterations = ctx.small ? 30 : 50;
  const { auditId, auditor, form } = await filledAudit(ctx);
  const url = `/audits/${auditId}/form/sections/${PAGE}`;
  const pageFields = completePage(form, PAGE);

  const { app, floor, close } = await startBenchApps(ctx);
  try {
    const client = new TestClient(app);
    await client.signIn(AUDITOR, DEMO_PASSWORD);
    const first = await client.get(url);
    if (first.statusCode !== 200 || !first.body.includes('Grade descriptors')) throw new Error(`GET ${url} answered ${first.statusCode} without its grade descriptors`);
    const before = Number(/name="_version" value="(\d+)"/.exec(first.body)?.[1]);
    if (!Number.isInteger(before)) throw new Error(`GET ${url}: no version on the page`);

    const options = { warmups, iterations };
    ctx.log(`form: ${TOOL_KEY}, ${formPages(form.tool).length} pages filled; ${iterations} runs of each`);
    const page = summarise(
      await latencies(async () => {
        const response = await client.get(url);
        if (response.statusCode !== 200) throw new Error(`GET ${url} answered ${response.statusCode}`);
      }, options),
    );
    ctx.log(`  section page: ${page.medianMs} ms`);

    // Only this client saves, so each accepted save moves the version on by exactly one.
    let version = before;
    let edit = 0;
    const changed = () => ({ ...pageFields, [`${PAGE}_strengths`]: `Strengths, edit ${(edit += 1)}` });
    const save = summarise(
      await latencies(async () => {
        const response = await client.post(url, { ...changed(), _version: String(version), _action: 'continue' });
        if (response.statusCode !== 303) throw new Error(`POST ${url} answered ${response.statusCode}`);
        version += 1;
      }, options),
    );
    ctx.log(`  save (Continue): ${save.medianMs} ms`);
    const autosave = summarise(
      await latencies(async () => {
        const response = await client.post(url, { ...changed(), _version: String(version), _autosave: '1' });
        if (response.statusCode !== 200) throw new Error(`autosave of ${url} answered ${response.statusCode}: ${response.body}`);
        version = (JSON.parse(response.body) as { version: number }).version;
      }, options),
    );
    ctx.log(`  autosave: ${autosave.medianMs} ms`);
    const bareRoute = summarise(await latencies(() => floor.inject({ method: 'GET', url: '/ping' }), { warmups: 50, iterations: 500 }));
    ctx.log(`  bare route: ${bareRoute.medianMs} ms`);

    const after = await currentVersion(ctx.db, auditId);
    const saves = 2 * (warmups + iterations);
    if (after !== before + saves) throw new Error(`expected ${saves} accepted saves: the version went from ${before} to ${after}`);
    const answers = Object.keys((await openForm(ctx.db, auditor, auditId, ukDateAt(new Date()))).audit.answers).length;

    return {
      tool: `${form.tool.name} (edition ${form.tool.edition})`,
      pages: formPages(form.tool).length,
      answers,
      url: `/audits/<id>/form/sections/${PAGE}`,
      iterations,
      warmups,
      page,
      save,
      autosave,
      bareRoute,
      ratios: {
        pageToBareRoute: round(ratio(page.medianMs, bareRoute.medianMs), 1),
        saveToBareRoute: round(ratio(save.medianMs, bareRoute.medianMs), 1),
        autosaveToBareRoute: round(ratio(autosave.medianMs, bareRoute.medianMs), 1),
      },
      versions: { before, after },
      notes: [
        'Signed in as the demo auditor; app built with NODE_ENV=production. Every save posts the whole page (three answers) with one answer changed, and rewrites the audit\'s answers and completed sections in one transaction with an activity entry.',
        'The section page reads the audit, its tool edition, the child and the organisation\'s current staff, logs the view, and renders the page with the grade descriptors.',
      ],
    };
  } finally {
    await close();
  }
}

/** The built-in tools, one child, and a Bristol 2019 audit allocated to the demo auditor with every page saved. */
async function filledAudit(ctx: BenchContext): Promise<{ auditId: string; auditor: Principal; form: AuditForm }> {
  const started = performance.now();
  await loadBuiltInTools(ctx.db, ctx.organisationId);
  const allocator = await principalOf(ctx.db, ALLOCATOR);
  const auditor = await principalOf(ctx.db, AUDITOR);
  const team = await ctx.db.selectFrom('teams').select('id').where('organisation_id', '=', ctx.organisationId).orderBy('name').executeTakeFirstOrThrow();
  const worker = await ctx.db
    .selectFrom('staff')
    .select('id')
    .where('organisation_id', '=', ctx.organisationId)
    .where('id', '!=', auditor.staffId!)
    .orderBy('full_name')
    .executeTakeFirstOrThrow();
  const child = await createChild(ctx.db, ctx.organisationId, { externalId: 'BENCH-FORM-1', initials: 'BF', teamId: team.id, workerId: worker.id });
  const tool = await ctx.db.selectFrom('audit_tools').select('id').where('organisation_id', '=', ctx.organisationId).where('key', '=', TOOL_KEY).executeTakeFirstOrThrow();
  const allocated = await allocateAudit(ctx.db, { principal: allocator, ipAddress: null, at: new Date() }, { childId: child.id, toolId: tool.id, auditorId: auditor.staffId });
  if (!allocated.ok) throw new Error(`allocation refused: ${JSON.stringify(allocated.errors)}`);
  const auditId = allocated.audit.id;

  let form = await openForm(ctx.db, auditor, auditId, ukDateAt(new Date()));
  for (const page of formPages(form.tool)) {
    const saved = await saveSection(ctx.db, { principal: auditor, ipAddress: null, at: new Date() }, auditId, page, completePage(form, page), form.version);
    if (!saved.ok) throw new Error(`saving ${page} refused: ${JSON.stringify(saved.reason === 'invalid' ? saved.errors : saved.reason)}`);
    form = await openForm(ctx.db, auditor, auditId, ukDateAt(new Date()));
  }
  const missing = formPages(form.tool).filter((page) => page !== DETAILS_PAGE && !form.completedSections.includes(page) && findSection(form.tool, page)?.answers.some((answer) => answer.required));
  if (missing.length) throw new Error(`sections left incomplete: ${missing.join(', ')}`);
  ctx.log(`form: allocated and filled a ${TOOL_KEY} audit in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { auditId, auditor, form };
}

async function principalOf(db: Db, email: string): Promise<Principal> {
  const user = await findUserByEmail(db, email);
  const principal = user ? await loadPrincipal(db, user.id) : null;
  if (!principal?.staffId) throw new Error(`no demo user ${email} linked to a staff member`);
  return principal;
}

async function currentVersion(db: Db, auditId: string): Promise<number> {
  const row = await db.selectFrom('audits').select('version').where('id', '=', auditId).executeTakeFirstOrThrow();
  return row.version;
}

/** Every question of a page answered, as the form posts it. */
function completePage(form: AuditForm, page: string): RawFields {
  return completeFormPage(form.tool, page, { staffId: form.staffOptions[0]!.value, today: ukDateAt(new Date()) });
}

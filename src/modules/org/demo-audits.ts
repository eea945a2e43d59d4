import type { Db } from '../../db/index.ts';
import { loadPrincipal } from '../../platform/auth/queries.ts';
import { addDays, type IsoDate } from '../../platform/working-days.ts';
import { allocateAudit } from '../audits/allocation.ts';
import * as queries from './queries.ts';

/**
 * The demo council's audit work: each service's default tool, and case file audits allocated
 * by the demo QA coordinator over the last six weeks, so the tracker and "My audits" have
 * something to show and some audits are already overdue. They go through `allocateAudit`, the
 * same rules, e-mails and activity log as an allocation made on the page.
 */

/** The tool each demo service audits with; the rest use Bristol's 2019 form. */
const SERVICE_TOOLS: Record<string, string> = {
  'Families in Focus': 'bristol-families-in-focus-child-case-audit',
  'Through Care': 'bolton-collaborative-case-audit',
  'Disabled Children': 'lambeth-service-based-case-audit',
  Fostering: 'telford-strengthening-families-case-audit',
};
const DEFAULT_TOOL = 'bristol-child-case-audit';

/** Who audits, by the demo users' e-mail addresses, and how many each. */
const AUDITORS = [
  { email: 'auditor@avonford.example', audits: 8 },
  { email: 'moderator@avonford.example', audits: 6 },
  { email: 'qa.coordinator@avonford.example', audits: 6 },
  { email: 'qa.lead@avonford.example', audits: 4 },
];

export async function setDemoServiceTools(trx: Db, organisationId: string): Promise<void> {
  const tools = await trx.selectFrom('audit_tools').select(['id', 'key']).where('organisation_id', '=', organisationId).execute();
  const toolId = (key: string) => tools.find((tool) => tool.key === key)?.id ?? null;
  for (const service of await queries.listServices(trx, organisationId)) {
    await queries.setServiceDefaultTool(trx, organisationId, service.id, toolId(SERVICE_TOOLS[service.name] ?? DEFAULT_TOOL));
  }
}

export async function allocateDemoAudits(trx: Db, organisationId: string, today: IsoDate): Promise<number> {
  const coordinator = await userByEmail(trx, organisationId, 'qa.coordinator@avonford.example');
  const principal = coordinator ? await loadPrincipal(trx, coordinator.id) : null;
  if (!principal) return 0;
  const actor = { principal, ipAddress: null };
  // Every 17th open child, so the audits fall across teams, workers and legal statuses.
  const children = (await trx.selectFrom('children').select('id').where('organisation_id', '=', organisationId).where('close_date', 'is', null).orderBy('external_id').execute()).filter(
    (_, index) => index % 17 === 3,
  );
  let allocated = 0;
  for (const auditor of AUDITORS) {
    const user = await userByEmail(trx, organisationId, auditor.email);
    if (!user?.staff_id) continue;
    for (let n = 0; n < auditor.audits && children.length; n++) {
      const child = children.shift()!;
      // Spread over the last six weeks: those allocated more than two weeks ago are overdue.
      const allocatedOn = addDays(today, -((allocated * 5) % 42));
      const outcome = await allocateAudit(trx, actor, { childId: child.id, auditorId: user.staff_id }, { today: allocatedOn });
      if (outcome.ok) allocated++;
    }
  }
  return allocated;
}

function userByEmail(db: Db, organisationId: string, email: string) {
  return db.selectFrom('users').select(['id', 'staff_id']).where('organisation_id', '=', organisationId).where('email', '=', email).executeTakeFirst();
}

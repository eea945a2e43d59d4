import type { Db } from '../db/index.ts';
import type { Grade } from '../db/types.ts';
import { loadPrincipal } from '../platform/auth/queries.ts';
import { workingDaysAfter, type HolidayCalendar, type IsoDate } from '../platform/working-days.ts';
import { allocateAudit } from '../modules/audits/allocation.ts';
import { holidayCalendarFor } from '../modules/org/calendar.ts';
import type { DemoAnswerPlan, DemoGrading } from './answers.ts';
import { actionsOf, close, directCase, distribute, fillInForm, giveDemoFeedback, markDone, moderate, returnToAuditor, submit, verify, type DemoActor } from './lifecycle.ts';
import * as queries from '../modules/org/queries.ts';

/**
 * The demo council's audit work, so that every page has something to show and every demo
 * user something waiting on their home page: audits at every stage of their life, taken
 * there by the demo's people through the product's own services (allocation, the form,
 * moderation, distribution, feedback, closing, case direction, actions) — the same rules,
 * timeline, e-mails and activity log as the pages. Dates of allocation lie in the past, so
 * some audits are overdue, some due soon and some on time.
 */

/** The tool each demo service audits with; the rest use Bristol's 2019 form. */
const SERVICE_TOOLS: Record<string, string> = {
  'Families in Focus': 'bristol-families-in-focus-child-case-audit',
  'Through Care': 'bolton-collaborative-case-audit',
  'Disabled Children': 'lambeth-service-based-case-audit',
  Fostering: 'telford-strengthening-families-case-audit',
};
const DEFAULT_TOOL = 'bristol-child-case-audit';

const EMAIL = {
  practitioner: 'practitioner@avonford.example',
  auditor: 'auditor@avonford.example',
  moderator: 'moderator@avonford.example',
  coordinator: 'qa.coordinator@avonford.example',
  lead: 'qa.lead@avonford.example',
  seniorLeader: 'senior.leader@avonford.example',
} as const;
type Person = keyof typeof EMAIL;

/**
 * Audits only allocated, by auditor, each allocated so many working days ago: an audit is
 * due 10 working days after allocation, so more than 10 is overdue, 8 or 9 due soon. The
 * auditor's and QA lead's are of children in the demo moderator's service, so that whatever
 * they submit waits on the demo moderator.
 */
const ALLOCATED: readonly { auditor: Person; workingDaysAgo: readonly number[]; moderatorsService: boolean }[] = [
  { auditor: 'auditor', workingDaysAgo: [15, 9, 0], moderatorsService: true },
  { auditor: 'moderator', workingDaysAgo: [13, 7, 4, 1, 0], moderatorsService: false },
  { auditor: 'coordinator', workingDaysAgo: [17, 12, 8, 5, 3], moderatorsService: false },
  { auditor: 'lead', workingDaysAgo: [14, 6, 2], moderatorsService: true },
];

type Stage = 'in_progress' | 'in_moderation' | 'returned' | 'moderated' | 'awaiting_feedback' | 'feedback_given' | 'closed';

type LifecyclePlan = {
  stage: Stage;
  workingDaysAgo: number;
  /** The auditor's overall grade. */
  grading: DemoGrading;
  /** The moderator's overall grade, when it differs from the auditor's. */
  moderatedAs?: Grade;
  /** Days from today to each agreed action's due date. */
  actionsDueInDays: readonly number[];
};

/**
 * The demo auditor's audits of the demo practitioner's cases, one or two at each stage. The
 * demo moderator moderates them (the service manager of the case), the demo QA coordinator
 * distributes and closes them, and the practitioner, as case holder, gives feedback.
 */
const LIFECYCLE: readonly LifecyclePlan[] = [
  { stage: 'closed', workingDaysAgo: 30, grading: 'good', actionsDueInDays: [14, 35] },
  { stage: 'awaiting_feedback', workingDaysAgo: 26, grading: 'good', moderatedAs: 'requires_improvement', actionsDueInDays: [1, 21] },
  { stage: 'feedback_given', workingDaysAgo: 24, grading: 'good', actionsDueInDays: [28] },
  { stage: 'moderated', workingDaysAgo: 20, grading: 'requires_improvement', actionsDueInDays: [10, 30] },
  { stage: 'in_moderation', workingDaysAgo: 12, grading: 'good', actionsDueInDays: [21] },
  { stage: 'in_moderation', workingDaysAgo: 11, grading: 'requires_improvement', actionsDueInDays: [14, 28] },
  { stage: 'returned', workingDaysAgo: 16, grading: 'good', actionsDueInDays: [21] },
  { stage: 'in_progress', workingDaysAgo: 8, grading: 'good', actionsDueInDays: [21] },
];
/** Pages of the form the in-progress audit has saved. */
const IN_PROGRESS_PAGES = 3;

const TEXT = {
  moderated: 'A clear, well-evidenced audit. The family feedback is used well in the grading.',
  regraded: 'The plan has actions without owners or dates, and the chronology is out of date: this case requires improvement, not good.',
  returned: 'Add the last three months to the chronology, and give the evidence for the grade for risk management: the record shows two missed visits.',
  closed: 'Feedback read: the learning points match the findings of the audit. Actions to be checked in supervision next month.',
  done: "Done by the date agreed: recorded on the child's file and shared with the family and the network.",
  verified: "Checked on the child's record: done as agreed, and the family confirm it.",
  inadequate: 'Moderated Inadequate: the risks to the child are not assessed and the plan has not been reviewed. Agreed with the auditor.',
  direction:
    'Hold a strategy discussion within two working days. The case moves to weekly management oversight until the re-audit, and the head of service reviews it at the performance clinic.',
};

export async function setDemoServiceTools(trx: Db, organisationId: string): Promise<void> {
  const tools = await trx.selectFrom('audit_tools').select(['id', 'key']).where('organisation_id', '=', organisationId).execute();
  const toolId = (key: string) => tools.find((tool) => tool.key === key)?.id ?? null;
  for (const service of await queries.listServices(trx, organisationId)) {
    await queries.setServiceDefaultTool(trx, organisationId, service.id, toolId(SERVICE_TOOLS[service.name] ?? DEFAULT_TOOL));
  }
}

type DemoPeople = Record<Person, DemoActor & { staffId: string }>;

/**
 * Allocates the demo's audits and takes them through their lives. Returns how many audits
 * there are. Without the demo's people (a council with none of them) nothing is allocated.
 */
export async function seedDemoAudits(trx: Db, organisationId: string, today: IsoDate, at: Date): Promise<number> {
  const people = await demoPeople(trx, organisationId, at);
  if (!people) return 0;
  const calendar = await holidayCalendarFor(trx, organisationId);
  const allocate = allocator(trx, people.coordinator, today, calendar);
  // The practitioner's own cases, for the audits that go through their life.
  const theirs = await openChildren(trx, organisationId, { workerId: people.practitioner.staffId });
  const lifecycle: { plan: LifecyclePlan; auditId: string }[] = [];
  for (const plan of LIFECYCLE) {
    const child = theirs.shift();
    if (!child) break;
    const auditId = await allocate(child.id, people.auditor, plan.workingDaysAgo);
    if (auditId) lifecycle.push({ plan, auditId });
  }
  // Another of their cases is found Inadequate. The QA coordinator audits it: the re-audit goes
  // to someone with the auditor role in the case's service other than the first auditor, and
  // the demo auditor is the only one, so that they receive it.
  const inadequateChild = theirs.shift();
  const inadequateId = inadequateChild ? await allocate(inadequateChild.id, people.coordinator, 22) : null;

  await allocatePool(trx, organisationId, people, allocate);

  for (const { plan, auditId } of lifecycle) await takeThrough(trx, people, auditId, plan);
  if (inadequateId) await inadequate(trx, people, inadequateId, today);

  const row = await trx.selectFrom('audits').select((eb) => eb.fn.countAll<number>().as('n')).where('organisation_id', '=', organisationId).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Audits only allocated, of open children not audited yet, spread evenly over the case numbers so they fall across teams, workers and legal statuses. */
async function allocatePool(trx: Db, organisationId: string, people: DemoPeople, allocate: Allocate) {
  const audited = new Set((await trx.selectFrom('audits').select('child_id').where('organisation_id', '=', organisationId).execute()).map((row) => row.child_id));
  const free = (await openChildren(trx, organisationId, {})).filter((child) => !audited.has(child.id));
  const moderatorsServiceId = people.moderator.principal.grants.find((grant) => grant.serviceId)?.serviceId;
  const wanted = (inService: boolean) => ALLOCATED.filter((entry) => entry.moderatorsService === inService).reduce((sum, entry) => sum + entry.workingDaysAgo.length, 0);
  const pools = new Map([true, false].map((inService) => [inService, spread(inService ? free.filter((child) => child.service_id === moderatorsServiceId) : free, wanted(inService))]));
  const taken = new Set<string>();
  for (const { auditor, workingDaysAgo, moderatorsService } of ALLOCATED) {
    const pool = pools.get(moderatorsService)!;
    for (const daysAgo of workingDaysAgo) {
      const child = pool.find((candidate) => !taken.has(candidate.id));
      if (!child) break;
      taken.add(child.id);
      await allocate(child.id, people[auditor], daysAgo);
    }
  }
}

/** `count` items evenly spaced through the list (all of it when it is shorter). */
function spread<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  return Array.from({ length: count }, (_, index) => items[Math.floor(((index + 0.5) * items.length) / count)]!);
}

type Allocate = (childId: string, auditor: DemoActor & { staffId: string }, workingDaysAgo: number) => Promise<string | null>;

/** Allocation by the demo QA coordinator, on the working day so many days before today. */
function allocator(trx: Db, coordinator: DemoActor, today: IsoDate, calendar: HolidayCalendar): Allocate {
  return async (childId, auditor, workingDaysAgo) => {
    const allocatedOn = workingDaysAfter(today, -workingDaysAgo, calendar);
    const outcome = await allocateAudit(trx, coordinator, { childId, auditorId: auditor.staffId }, { today: allocatedOn });
    return outcome.ok ? outcome.audit.id : null;
  };
}

/** Takes one of the auditor's audits as far as its plan says, each step by the person whose step it is. */
async function takeThrough(trx: Db, people: DemoPeople, auditId: string, plan: LifecyclePlan): Promise<void> {
  const { auditor, moderator, coordinator, practitioner } = people;
  const answers: DemoAnswerPlan = { grading: plan.grading, ownerId: practitioner.staffId, actionsDueInDays: plan.actionsDueInDays };
  await fillInForm(trx, auditor, auditId, answers, plan.stage === 'in_progress' ? { pages: IN_PROGRESS_PAGES } : {});
  if (plan.stage === 'in_progress') return;
  await submit(trx, auditor, auditId);
  if (plan.stage === 'in_moderation') return;
  if (plan.stage === 'returned') return returnToAuditor(trx, moderator, auditId, TEXT.returned);
  const regrade = plan.moderatedAs ? { grade: plan.moderatedAs, reason: TEXT.regraded } : undefined;
  await moderate(trx, moderator, auditId, { comments: TEXT.moderated, ...(regrade ? { regrade } : {}) });
  if (plan.stage === 'moderated') return;
  await distribute(trx, coordinator, auditId, plan.stage === 'closed' ? { professional: { role: 'iro', jobTitle: 'IRO' } } : {});
  if (plan.stage === 'awaiting_feedback') return;
  await giveDemoFeedback(trx, practitioner, auditId);
  if (plan.stage === 'feedback_given') return;
  await close(trx, coordinator, auditId, TEXT.closed);
  // Its actions: the first done and verified by the auditor, the second done and waiting for them.
  const [first, second] = await actionsOf(trx, practitioner, auditId);
  if (first) {
    await markDone(trx, practitioner, first, TEXT.done);
    await verify(trx, auditor, first.id, TEXT.verified);
  }
  if (second) await markDone(trx, practitioner, second, TEXT.done);
}

/**
 * The QA coordinator's audit of the practitioner's case, submitted and moderated Inadequate:
 * the service manager (the demo moderator) is alerted twice, a re-audit goes at once to a
 * second auditor (the demo auditor), and the service manager records a case direction whose
 * actions fall to the case holder, their team manager and the head of service.
 */
async function inadequate(trx: Db, people: DemoPeople, auditId: string, today: IsoDate): Promise<void> {
  const { coordinator, moderator, practitioner, auditor, seniorLeader } = people;
  await fillInForm(trx, coordinator, auditId, { grading: 'inadequate', ownerId: practitioner.staffId, actionsDueInDays: [7, 14] });
  await submit(trx, coordinator, auditId);
  await moderate(trx, moderator, auditId, { comments: TEXT.inadequate });
  await directCase(
    trx,
    moderator,
    auditId,
    TEXT.direction,
    [
      { text: "Visit the child every week and record the child's views after each visit.", ownerId: practitioner.staffId, dueInDays: 7 },
      { text: "Chair weekly case supervision and record its decisions on the child's file.", ownerId: auditor.staffId, dueInDays: 14 },
      { text: 'Review the case at the head of service performance clinic.', ownerId: seniorLeader.staffId, dueInDays: 28 },
    ],
    today,
  );
}

/** The demo's people as they sign in, or null when any of them is missing. */
async function demoPeople(trx: Db, organisationId: string, at: Date): Promise<DemoPeople | null> {
  const people: Partial<DemoPeople> = {};
  for (const [person, email] of Object.entries(EMAIL) as [Person, string][]) {
    const user = await trx.selectFrom('users').select('id').where('organisation_id', '=', organisationId).where('email', '=', email).executeTakeFirst();
    const principal = user ? await loadPrincipal(trx, user.id) : null;
    if (!principal?.staffId) return null;
    people[person] = { principal, ipAddress: null, at, staffId: principal.staffId };
  }
  return people as DemoPeople;
}

/** Open cases in the order of their case numbers, with their service: one worker's, or all. */
function openChildren(trx: Db, organisationId: string, filter: { workerId?: string }) {
  let query = trx
    .selectFrom('children')
    .leftJoin('teams', 'teams.id', 'children.allocated_team_id')
    .select(['children.id', 'teams.service_id'])
    .where('children.organisation_id', '=', organisationId)
    .where('children.close_date', 'is', null)
    .orderBy('children.external_id');
  if (filter.workerId) query = query.where('children.allocated_worker_id', '=', filter.workerId);
  return query.execute();
}

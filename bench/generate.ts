/**
 * Deterministic data for the benchmarks. The same seed gives the same file and the same rows
 * every run, so two runs measure the same work.
 */
import fs from 'node:fs';
import { once } from 'node:events';
import { sql } from 'kysely';
import type { Db } from '../src/db/index.ts';
import { mulberry32 } from '../src/demo/data.ts';
import type { BenchContext } from './context.ts';

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function weighted<T>(random: () => number, items: readonly (readonly [T, number])[]): T {
  const total = items.reduce((sum, [, weight]) => sum + weight, 0);
  let roll = random() * total;
  for (const [item, weight] of items) {
    roll -= weight;
    if (roll < 0) return item;
  }
  return items[items.length - 1]![0];
}

/** The Annex A style headers of the extract, as a council's case-management system writes them. */
export const EXTRACT_HEADERS = [
  'Child Unique ID',
  'Initials',
  'Date of birth',
  'Gender',
  'Ethnicity',
  "Child's Legal Status",
  'Allocated Worker',
  'Allocated Team',
  'Case open date',
] as const;

export type CaseHolder = { fullName: string; teamName: string };

const GENDERS = [['a) Male', 49], ['b) Female', 49], ['c) Not stated/recorded', 1.5], ['d) Neither', 0.5]] as const;
const ETHNICITIES = [['WBRI', 56], ['WOTH', 6], ['MWBC', 6], ['MOTH', 4], ['APKN', 4], ['BAFR', 7], ['AOTH', 2], ['BCRB', 2], ['OOTH', 1.5], ['NOBT', 0.5]] as const;
const LEGAL_STATUSES = [['Early Help', 20], ['CIN', 35], ['CP', 18], ['PLO', 4], ['C2', 12], ['V3', 6], ['Relevant', 5]] as const;
const LETTERS = 'ABCDEFGHIJKLMNOPRSTW';

function ukDate(date: Date): string {
  const dd = String(date.getUTCDate()).padStart(2, '0');
  const mm = String(date.getUTCMonth() + 1).padStart(2, '0');
  return `${dd}/${mm}/${date.getUTCFullYear()}`;
}

const DAY_MS = 86_400_000;
/** A fixed "today" so the file does not change with the calendar. */
const EXTRACT_DATE = Date.UTC(2026, 10, 1);

function childLine(index: number, random: () => number, caseHolders: readonly CaseHolder[]): string {
  const holder = pick(random, caseHolders);
  const ageDays = Math.floor(random() * 17 * 365);
  const openDays = Math.floor(random() * Math.min(ageDays, 3 * 365));
  const initials = `${pick(random, [...LETTERS])}${pick(random, [...LETTERS])}`;
  const cells = [
    `BENCH${String(index).padStart(7, '0')}`,
    initials,
    ukDate(new Date(EXTRACT_DATE - ageDays * DAY_MS)),
    weighted(random, GENDERS),
    weighted(random, ETHNICITIES),
    weighted(random, LEGAL_STATUSES),
    holder.fullName,
    holder.teamName,
    ukDate(new Date(EXTRACT_DATE - openDays * DAY_MS)),
  ];
  return cells.map(csvCell).join(',');
}

function csvCell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * Writes a CSV extract of `rows` children to `path`, streamed (never held in memory), and
 * returns its size in bytes. Every worker and team named exists in the seeded organisation.
 */
export async function writeChildExtract(path: string, options: { rows: number; seed: number; caseHolders: readonly CaseHolder[] }): Promise<number> {
  if (options.caseHolders.length === 0) throw new Error('no case holders to allocate children to');
  const random = mulberry32(options.seed);
  const out = fs.createWriteStream(path, { encoding: 'utf8' });
  let chunk = `${EXTRACT_HEADERS.map(csvCell).join(',')}\r\n`;
  for (let i = 1; i <= options.rows; i++) {
    chunk += `${childLine(i, random, options.caseHolders)}\r\n`;
    if (chunk.length > 64 * 1024) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  return fs.statSync(path).size;
}

/** Case-holding staff (still in post, in a team) with their team's name, in a stable order. */
export async function loadCaseHolders(db: Db, organisationId: string): Promise<CaseHolder[]> {
  const rows = await db
    .selectFrom('staff')
    .innerJoin('teams', 'teams.id', 'staff.team_id')
    .select(['staff.full_name as fullName', 'teams.name as teamName'])
    .where('staff.organisation_id', '=', organisationId)
    .where('staff.leaving_date', 'is', null)
    .where('staff.job_title', 'in', ['Social Worker', 'Senior Practitioner', 'Consultant Social Worker', 'Practice Lead', 'Family Practitioner'])
    .orderBy('staff.staff_number')
    .execute();
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Set-based seeding for the tracker and My work: PostgreSQL generates the rows, seeded with setseed().

/** The key of the audit tool the generated audits use: its presence says the register is there. */
const GENERATED_TOOL_KEY = 'case-file';

/**
 * The large register the tracker and My work benchmarks read: children and audits generated
 * in the database itself (set-based), then vacuumed and analysed, as autovacuum leaves a
 * database in use (the visibility map lets index-only scans skip the table). Generated once per run: when the
 * organisation already has it, it is left as it is. Returns what the organisation holds.
 */
export async function ensureRegister(ctx: BenchContext): Promise<{ audits: number; children: number }> {
  const sizes = ctx.small ? { children: 5_000, audits: 20_000 } : { children: 50_000, audits: 200_000 };
  const generated = await sql<{ present: boolean }>`
    select exists (select 1 from audit_tools where organisation_id = ${ctx.organisationId} and key = ${GENERATED_TOOL_KEY}) as present
  `.execute(ctx.db);
  if (!generated.rows[0]!.present) {
    const started = performance.now();
    const today = await sql<{ today: string }>`select current_date::text as today`.execute(ctx.db);
    await ctx.db.transaction().execute(async (trx) => {
      await seedChildrenSql(trx, ctx.organisationId, sizes.children);
      // Relative to the real date: overdue and due soon are asked of today.
      await seedAuditsSql(trx, ctx.organisationId, sizes.audits, today.rows[0]!.today);
    });
    await sql`vacuum analyze`.execute(ctx.db);
    ctx.log(`register: generated ${sizes.children.toLocaleString('en-GB')} children and ${sizes.audits.toLocaleString('en-GB')} audits in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  const counted = await sql<{ audits: number; children: number }>`
    select (select count(*)::int from audits where organisation_id = ${ctx.organisationId}) as audits,
           (select count(*)::int from children where organisation_id = ${ctx.organisationId}) as children
  `.execute(ctx.db);
  return counted.rows[0]!;
}

/** Inserts `count` open children allocated across the organisation's case holders. */
export async function seedChildrenSql(trx: Db, organisationId: string, count: number): Promise<void> {
  await sql`select setseed(0.20261124)`.execute(trx);
  await sql`
    with holders as (
      select row_number() over (order by s.staff_number) as n, s.id as staff_id, s.team_id
      from staff s
      where s.organisation_id = ${organisationId} and s.leaving_date is null and s.team_id is not null
        and s.job_title in ('Social Worker', 'Senior Practitioner', 'Consultant Social Worker', 'Practice Lead', 'Family Practitioner')
    ), holder_count as (select count(*) as total from holders)
    insert into children (organisation_id, external_id, initials, date_of_birth, gender, ethnicity, legal_status,
      allocated_worker_id, allocated_team_id, open_date, referral_factors)
    select ${organisationId},
      'TRK' || lpad(g::text, 7, '0'),
      chr(65 + (g * 7) % 26) || chr(65 + (g * 13) % 26),
      date '2026-11-01' - (random() * 17 * 365)::int,
      (array['male','female','female','male','unknown'])[1 + g % 5],
      (array['WBRI','WBRI','WBRI','MWBC','BAFR','APKN','WOTH'])[1 + g % 7],
      (array['early_help','cin','cin','cp','plo','child_in_care','care_leaver'])[1 + (random() * 6.999)::int % 7],
      h.staff_id, h.team_id,
      date '2026-11-01' - (random() * 3 * 365)::int,
      '["Neglect"]'::jsonb
    from generate_series(1, ${count}) g
    cross join holder_count c
    join holders h on h.n = 1 + (g % c.total)
  `.execute(trx);
}

/**
 * Inserts one audit tool with one edition and `count` audits over the last three years:
 * recent audits spread over the open statuses, older ones mostly closed, with grades once
 * an audit has been submitted and due_on = allocated_on + 14 days. The moderator is another
 * auditor than the audit's own.
 *
 * Each audit has the start and deadline of the stage it is in (lifecycle.ts), with calendar
 * days for working days (10 working days as 14, 5 as 7): the auditor's stage (allocated, in
 * progress, returned) has the allocation's, as allocation sets them, so its deadline is due_on
 * (a return here does not restart the clock); moderation starts on submission (10 working
 * days), distribution (moderated, distributed) on moderation (5), feedback a week after that
 * (10), none of them after today; a closed audit has no deadline.
 */
export async function seedAuditsSql(trx: Db, organisationId: string, count: number, today = '2026-11-24'): Promise<void> {
  await sql`select setseed(0.11242026)`.execute(trx);
  const tool = await sql<{ id: string }>`
    insert into audit_tools (organisation_id, key, name) values (${organisationId}, ${GENERATED_TOOL_KEY}, 'Case file audit') returning id
  `.execute(trx);
  const edition = await sql<{ id: string }>`
    insert into audit_tool_editions (organisation_id, tool_id, edition, definition, source)
    values (${organisationId}, ${tool.rows[0]!.id}, '2026.1', ${JSON.stringify({ sections: [] })}, 'bench')
    returning id
  `.execute(trx);
  await sql`
    with kids as (
      select row_number() over (order by c.external_id) as n, c.id, c.allocated_worker_id, c.allocated_team_id, t.service_id
      from children c left join teams t on t.id = c.allocated_team_id
      where c.organisation_id = ${organisationId}
    ), kid_count as (select count(*) as total from kids),
    auditors as (
      -- Each auditor's moderator is the next auditor (the last one's, the first).
      select row_number() over (order by s.staff_number) as n, s.id,
        coalesce(lead(s.id) over (order by s.staff_number), first_value(s.id) over (order by s.staff_number)) as next_id
      from staff s
      where s.organisation_id = ${organisationId} and s.leaving_date is null
        and (s.job_title like 'Team Manager%' or s.job_title like 'QA%' or s.job_title like 'Service Manager%')
    ), auditor_count as (select count(*) as total from auditors),
    draws as (
      select g, random() as r_kid, random() as r_auditor, random() as r_status, random() as r_grade, random() as r_final,
        ${today}::date - (power(random(), 1.0) * 3 * 365)::int as allocated_on
      from generate_series(1, ${count}) g
    ), shaped as (
      select d.*, ${today}::date - d.allocated_on as age,
        case
          when ${today}::date - d.allocated_on <= 60 then
            case when d.r_status < 0.25 then 'allocated' when d.r_status < 0.60 then 'in_progress'
                 when d.r_status < 0.75 then 'in_moderation' when d.r_status < 0.80 then 'returned'
                 when d.r_status < 0.90 then 'moderated' when d.r_status < 0.95 then 'distributed'
                 else 'awaiting_feedback' end
          else
            case when d.r_status < 0.92 then 'closed' when d.r_status < 0.95 then 'awaiting_feedback'
                 when d.r_status < 0.97 then 'in_progress' else 'moderated' end
        end as status,
        case when d.r_grade < 0.08 then 'outstanding' when d.r_grade < 0.53 then 'good'
             when d.r_grade < 0.88 then 'requires_improvement' else 'inadequate' end as grade,
        case when d.r_final < 0.8 then null when d.r_final < 0.9 then 'up' else 'down' end as moderation_change
      from draws d
    ), staged as (
      select s.*,
        case
          when s.status in ('allocated', 'in_progress', 'returned') then s.allocated_on
          when s.status = 'in_moderation' then least(s.allocated_on + 10, ${today}::date)
          when s.status in ('moderated', 'distributed') then least(s.allocated_on + 18, ${today}::date)
          when s.status = 'awaiting_feedback' then least(s.allocated_on + 25, ${today}::date)
          else s.allocated_on + 40
        end as stage_started_on,
        case
          when s.status in ('allocated', 'in_progress', 'returned', 'in_moderation', 'awaiting_feedback') then 14
          when s.status in ('moderated', 'distributed') then 7
        end as stage_days
      from shaped s
    )
    insert into audits (organisation_id, child_id, tool_edition_id, auditor_id, case_holder_id, moderator_id, team_id, service_id,
      status, allocated_on, due_on, submitted_at, moderated_at, closed_at, auditor_grade, final_grade, stage_started_on, stage_due_on, updated_at)
    select ${organisationId}, k.id, ${edition.rows[0]!.id}, a.id, k.allocated_worker_id,
      case when s.status in ('allocated', 'in_progress') then null else a.next_id end,
      k.allocated_team_id, k.service_id,
      s.status, s.allocated_on, s.allocated_on + 14,
      case when s.status in ('allocated', 'in_progress') then null else (s.allocated_on + 10)::timestamptz end,
      case when s.status in ('allocated', 'in_progress', 'in_moderation', 'returned') then null else (s.allocated_on + 18)::timestamptz end,
      case when s.status = 'closed' then (s.allocated_on + 40)::timestamptz end,
      case when s.status in ('allocated', 'in_progress') then null else s.grade end,
      case when s.status in ('allocated', 'in_progress', 'in_moderation', 'returned') then null
           when s.moderation_change = 'up' and s.grade = 'good' then 'outstanding'
           when s.moderation_change = 'down' and s.grade = 'good' then 'requires_improvement'
           else s.grade end,
      s.stage_started_on, s.stage_started_on + s.stage_days,
      s.allocated_on::timestamptz
    from staged s
    cross join kid_count kc
    cross join auditor_count ac
    join kids k on k.n = 1 + floor(s.r_kid * kc.total)::bigint
    join auditors a on a.n = 1 + floor(s.r_auditor * ac.total)::bigint
    order by s.allocated_on, s.g
  `.execute(trx);
}

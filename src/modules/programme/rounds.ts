import { randomInt } from 'node:crypto';
import os from 'node:os';
import { isDeepStrictEqual, promisify } from 'node:util';
import zlib from 'node:zlib';
import { z } from 'zod';
import { inTransaction, type Db } from '../../db/index.ts';
import type { LegalStatus, Role } from '../../db/types.ts';
import { jsonValue } from '../../db/values.ts';
import { can, dataScope, type Principal } from '../../platform/access.ts';
import { logActivities, logActivity } from '../../platform/activity.ts';
import { forbidden, notFound, type FieldError } from '../../platform/errors.ts';
import { addWeeks, isIsoDate, type IsoDate } from '../../platform/working-days.ts';
import { allocateAudit } from '../audits/allocation.ts';
import * as queries from './rounds-queries.ts';
import {
  allPicks,
  applyReplacement,
  periodMonths,
  DRAW_VERSION,
  DRAW_VERSIONS,
  proposeRound,
  replayRound,
  packChildren,
  PACKED_NUMBERS,
  unpackChildren,
  type DrawRow,
  type DrawVersion,
  type PackedChildren,
  type PackedNumbers,
  type PoolChild,
  type PoolSnapshot,
  type Proposal,
  type Replacement,
} from './sampling.ts';
import { ACTIVITIES_IN_ASSURE, samplingRulesSchema, scheduleInForce, type ScheduleRow } from './schedule.ts';

/**
 * Sampling rounds: the QA coordinator picks a period and the schedule rows whose cases are
 * chosen at random; Assure reads the pool (the register, the auditors and the audits so far),
 * draws with a seeded generator, and keeps the pool, the seed and the proposal with the round,
 * so the round can be replayed and explained after the register has changed. Replacements are
 * kept in order with their reasons. Confirming allocates every audit of the round in one
 * transaction through the allocation service, or none.
 */

export type RoundActor = { principal: Principal; ipAddress: string | null; at: Date };

/** A schedule row as the round drew it: the draw's view of it, and the tool its audits use. */
export type RoundRow = DrawRow & { toolId: string | null };

const uuid = z.string().trim().uuid();
const isoDate = (field: string) => z.string({ error: `Enter the ${field} as a date` }).trim().refine(isIsoDate, `Enter the ${field} as a real date, for example 2027-01-31`);

export const proposeInputSchema = z.object({
  periodFrom: isoDate('first day of the period'),
  periodTo: isoDate('last day of the period'),
  rowIds: z.preprocess((value) => (value === undefined || value === '' ? [] : Array.isArray(value) ? value : [value]), z.array(uuid).min(1, 'Choose at least one schedule row')),
  seed: z.preprocess((value) => (value === '' || value === null ? undefined : typeof value === 'string' ? Number(value) : value), z.number().int('The seed must be a whole number').min(-(2 ** 31)).max(2 ** 31 - 1).optional()),
});

export type RoundOutcome = { ok: true; roundId: string } | { ok: false; errors: FieldError[] };

function requireAllocator(principal: Principal) {
  if (!can(principal, 'audits.allocate')) throw forbidden();
}

/** Each field checked on its own, so one wrong field does not hide the others. */
function parseProposeInput(input: unknown) {
  const raw = typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : {};
  const errors: FieldError[] = [];
  const field = <K extends keyof typeof proposeInputSchema.shape>(name: K) => {
    const parsed = proposeInputSchema.shape[name].safeParse(raw[name]);
    if (parsed.success) return parsed.data as z.output<typeof proposeInputSchema>[K];
    errors.push({ field: name, message: parsed.error.issues[0]?.message ?? 'Check this answer' });
    return undefined;
  };
  const values = { periodFrom: field('periodFrom'), periodTo: field('periodTo'), rowIds: field('rowIds'), seed: field('seed') };
  if (values.periodFrom && values.periodTo && values.periodTo < values.periodFrom) errors.push({ field: 'periodTo', message: 'The last day of the period must be on or after its first day' });
  return { values, errors };
}

function toDrawRow(row: ScheduleRow): RoundRow {
  return {
    id: row.id,
    position: row.position,
    label: `${row.activityLabel}${row.formLabel ? ` (${row.formLabel})` : ''}: ${row.quantity}${row.per === 'open_cases_percent' ? '% of open cases' : ` per ${row.per}`} every ${row.periodMonths} ${row.periodMonths === 1 ? 'month' : 'months'}`,
    serviceId: row.serviceId,
    quantity: row.quantity,
    per: row.per,
    periodMonths: row.periodMonths,
    auditorRoles: row.auditorRoles,
    rules: row.sampling,
    toolId: row.toolId,
  };
}

/** The rows a round may draw from on a day: the schedule in force's case audits chosen at random. */
export async function samplingRowsInForce(db: Db, organisationId: string, on: IsoDate) {
  const schedule = await scheduleInForce(db, organisationId, on);
  if (!schedule) return { schedule: null, rows: [] as RoundRow[] };
  return { schedule, rows: schedule.rows.filter((row) => row.selectedBy === 'random' && ACTIVITIES_IN_ASSURE.includes(row.activity)).map(toDrawRow) };
}

/** The pool a round reads: everything the rules use, as it stands on `asOf`, within the coordinator's reach. */
export async function readPool(db: Db, principal: Principal, rows: RoundRow[], asOf: IsoDate): Promise<PoolSnapshot> {
  const organisationId = principal.organisationId;
  const widest = Math.max(...rows.map((row) => row.rules.openWithinWeeks));
  // Three independent questions, asked at once (on PostgreSQL each on a connection of its own).
  const [pool, auditors, { teams, services }] = await Promise.all([
    queries.selectPoolChildren(db, organisationId, asOf, addWeeks(asOf, -widest)),
    queries.selectPoolAuditors(db, organisationId, asOf),
    queries.selectTeamsAndServices(db, organisationId),
  ]);
  const scope = dataScope(principal, 'audits.allocate');
  const children = scope.kind === 'limited' ? pool.filter((child) => scope.teamIds.includes(child.teamId ?? '') || scope.serviceIds.includes(child.serviceId ?? '')) : pool;
  return { asOf, children, auditors, teams, services };
}

/**
 * Proposes a round: reads the pool, draws, and stores the round with everything the draw read.
 * `seed` may be given (to draw a period again with a known seed); otherwise a random one.
 */
export async function proposeSamplingRound(db: Db, actor: RoundActor, input: unknown, options: { today: IsoDate }): Promise<RoundOutcome> {
  const { principal } = actor;
  requireAllocator(principal);
  const { values, errors } = parseProposeInput(input);
  if (errors.length || !values.periodFrom || !values.periodTo || !values.rowIds) return { ok: false, errors };
  const { schedule, rows: available } = await samplingRowsInForce(db, principal.organisationId, values.periodFrom);
  const rows = available.filter((row) => values.rowIds!.includes(row.id));
  if (!schedule || rows.length !== values.rowIds.length) {
    return { ok: false, errors: [{ field: 'rowIds', message: 'Choose rows of the schedule in force on the first day of the period whose cases are chosen at random' }] };
  }
  const seed = values.seed ?? randomInt(0, 2 ** 31 - 1);
  const snapshot = await readPool(db, principal, rows, options.today);
  // The snapshot is packed first and deflated on a worker thread while the draw runs.
  const storing = storableSnapshot(snapshot);
  storing.catch(() => {}); // awaited below; if the draw throws first, its failure is not left unhandled
  const proposal = proposeRound({ snapshot, rows, seed, months: periodMonths(values.periodFrom, values.periodTo), drawVersion: DRAW_VERSION });
  const stored = await storing;
  const round = await inTransaction(db, async (trx) => {
    const inserted = await trx
      .insertInto('programme_rounds')
      .values({
        organisation_id: principal.organisationId,
        period_from: values.periodFrom!,
        period_to: values.periodTo!,
        status: 'proposed',
        as_of: options.today,
        seed,
        draw_version: DRAW_VERSION,
        schedule_version_id: schedule.id,
        draw_rows: JSON.stringify(rows),
        snapshot: stored.snapshot,
        snapshot_children: stored.children,
        proposal: JSON.stringify(compactProposal(proposal)),
        proposed_by: principal.userId,
        proposed_at: actor.at,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const picks = allPicks(proposal);
    await logActivity(trx, actor, { action: 'create', recordType: 'programme_round', recordId: inserted.id, summary: `proposed a sampling round of ${picks.length} children for ${values.periodFrom} to ${values.periodTo} (seed ${seed}, ${snapshot.children.length} children read)` });
    return inserted;
  });
  return { ok: true, roundId: round.id };
}

/**
 * The snapshot as stored. Rounds proposed before `snapshot_children` existed keep every child
 * in `snapshot` as an array of values in the order its `childKeys` names. Rounds since keep
 * the auditors, teams and services in `snapshot` and the children apart in
 * `snapshot_children`, column by column as packChildren gives them (the ids that repeat —
 * teams, services, staff, legal statuses — written once and referred to by number), deflated:
 * about 4 MB for 100,000 children where the JSON was 26 MB and storing it took longer than the
 * draw. Either way `readSnapshot` gives back exactly what the draw read.
 *
 * `snapshot_children`, once inflated: the length of a JSON header (4 bytes, little-endian),
 * the header (the lists of ids, strings and dates, and `count`, `pastCount`), then the numeric
 * columns of PACKED_NUMBERS in that order as 32-bit little-endian integers — `count` each but
 * `pastFrom` (`count` + 1) and `pastAuditors` (`pastCount`).
 */
type PackedSnapshot = Omit<PoolSnapshot, 'children'> & { childKeys: readonly string[]; children: unknown[][] };

function unpackSnapshot(packed: PackedSnapshot): PoolSnapshot {
  const { childKeys, children, ...rest } = packed;
  return { ...rest, children: children.map((values) => Object.fromEntries(childKeys.map((key, index) => [key, values[index]])) as PoolChild) };
}

type ChildrenHeader = Omit<PackedChildren, 'numbers'> & { count: number; pastCount: number };

const deflate = promisify(zlib.deflate);
const inflate = promisify(zlib.inflate);
const bigEndian = os.endianness() === 'BE';

/** A column's integers as little-endian bytes (a copy: the column stays as it is). */
function littleEndian(column: Int32Array): Buffer {
  const bytes = Buffer.from(column.buffer.slice(column.byteOffset, column.byteOffset + column.byteLength));
  return bigEndian ? bytes.swap32() : bytes;
}

/** The snapshot to store: the auditors, teams and services as JSON, the children packed and deflated. */
export async function storableSnapshot(snapshot: PoolSnapshot): Promise<{ snapshot: string; children: Buffer }> {
  const { children: _children, ...rest } = snapshot;
  const { numbers, ...strings } = packChildren(snapshot);
  const header = Buffer.from(JSON.stringify({ ...strings, count: strings.ids.length, pastCount: numbers.pastAuditors.length } satisfies ChildrenHeader), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.length);
  const input = Buffer.concat([length, header, ...PACKED_NUMBERS.map((name) => littleEndian(numbers[name]))]);
  // The fastest level (the packing has already taken out most of the repetition), in one piece
  // on a worker thread: with room for the whole output, zlib does not come back to the main
  // thread for every 16 KB, so the deflating runs while the main thread draws.
  const deflated = deflate(input, { level: 1, chunkSize: Math.max(zlib.constants.Z_DEFAULT_CHUNK, input.length + 1024) });
  return { snapshot: JSON.stringify(rest), children: await deflated };
}

/** The snapshot a round stored, exactly as the draw read it. */
export async function readSnapshot(round: Pick<StoredRound, 'snapshot' | 'snapshot_children'>): Promise<PoolSnapshot> {
  if (!round.snapshot_children) return unpackSnapshot(jsonValue<PackedSnapshot>(round.snapshot));
  const rest = jsonValue<Omit<PoolSnapshot, 'children'>>(round.snapshot);
  const bytes = await inflate(round.snapshot_children);
  const headerLength = bytes.readUInt32LE(0);
  const { count, pastCount, ...strings } = JSON.parse(bytes.toString('utf8', 4, 4 + headerLength)) as ChildrenHeader;
  let at = 4 + headerLength;
  const column = (length: number) => {
    const numbers = new Int32Array(length);
    const view = Buffer.from(numbers.buffer);
    view.set(bytes.subarray(at, (at += 4 * length)));
    if (bigEndian) view.swap32();
    return numbers;
  };
  const numbers = Object.fromEntries(PACKED_NUMBERS.map((name) => [name, column(name === 'pastFrom' ? count + 1 : name === 'pastAuditors' ? pastCount : count)])) as PackedNumbers;
  return { ...rest, children: unpackChildren({ ...strings, numbers }) };
}

/**
 * The proposal as stored: per unit its counts and picks, without the lists of eligible and
 * excluded children (over a large register those are millions of ids); the lists are worked
 * out again from the stored pool and seed whenever the round is read, and the counts stored
 * here are checked against them (the replay check on the round's page).
 */
export type StoredProposal = { seed: number; rows: { rowId: string; expected: number; proposed: number; shortfall: number; units: { key: string; expected: number; scopeSize: number; eligible: number; excluded: Record<string, number>; picks: Proposal['rows'][number]['units'][number]['picks']; shortfall: number }[] }[] };

export function compactProposal(proposal: Proposal): StoredProposal {
  return {
    seed: proposal.seed,
    rows: proposal.rows.map((row) => ({
      rowId: row.rowId, expected: row.expected, proposed: row.proposed, shortfall: row.shortfall,
      units: row.units.map((unit) => ({
        key: unit.key, expected: unit.expected, scopeSize: unit.scopeSize, eligible: unit.eligibleCount,
        excluded: { ...unit.excludedCounts }, picks: unit.picks, shortfall: unit.shortfall,
      })),
    })),
  };
}

type StoredRound = NonNullable<Awaited<ReturnType<typeof queries.selectRound>>>;

/** A stored round's parts, parsed; the rows' rules checked again by their schema. */
export async function storedRound(round: StoredRound) {
  const rows = jsonValue<RoundRow[]>(round.draw_rows).map((row) => ({ ...row, rules: samplingRulesSchema.parse(row.rules) }));
  return { rows, snapshot: await readSnapshot(round), stored: jsonValue<StoredProposal>(round.proposal), months: periodMonths(round.period_from, round.period_to) };
}

/** The round's proposal in full: the seed over the stored pool, then the replacements in order. */
async function fullProposal(db: Db, round: StoredRound) {
  const parts = await storedRound(round);
  const replacementRows = await queries.selectReplacements(db, round.id);
  const proposal = replayRound({ snapshot: parts.snapshot, rows: parts.rows, seed: round.seed, months: parts.months, drawVersion: drawVersionOf(round.draw_version), replacements: replacementsOf(replacementRows) });
  return { ...parts, proposal, replacementRows, matches: isDeepStrictEqual(compactProposal(proposal), parts.stored) };
}

function drawVersionOf(stored: number): DrawVersion {
  const version = DRAW_VERSIONS.find((known) => known === stored);
  if (version === undefined) throw new Error(`a sampling round stored with draw version ${stored}, which this version of Assure does not know`);
  return version;
}

function replacementsOf(rows: Awaited<ReturnType<typeof queries.selectReplacements>>): Replacement[] {
  return rows.map((row) => (row.kind === 'child'
    ? { kind: 'child', unitKey: row.unit_key, childId: row.child_id, reason: row.reason, handPickedChildId: row.hand_picked ? row.new_child_id : null, drawSeed: row.draw_seed ?? 0 }
    : { kind: 'auditor', unitKey: row.unit_key, childId: row.child_id, auditorId: row.new_auditor_id!, reason: row.reason }));
}

async function roundInScope(db: Db, principal: Principal, roundId: string, options: { lock?: boolean } = {}) {
  if (!uuid.safeParse(roundId).success) throw notFound('Sampling round');
  const round = await queries.selectRound(db, principal.organisationId, roundId, options);
  if (!round) throw notFound('Sampling round');
  return round;
}

/**
 * Replays a round from what it stored: the seed over the stored pool, then its replacements in
 * order. The register as it is now plays no part, so the replay holds after it has changed.
 */
export async function replayStoredRound(db: Db, principal: Principal, roundId: string) {
  requireAllocator(principal);
  const round = await roundInScope(db, principal, roundId);
  const { proposal, stored, matches } = await fullProposal(db, round);
  return { replayed: proposal, stored, matches };
}

export const replacementInputSchema = z.object({
  kind: z.enum(['child', 'auditor'], { error: 'Choose whether to replace the child or the auditor' }),
  unitKey: z.string().trim().min(1).max(300),
  childId: uuid,
  reason: z.string({ error: 'Enter the reason for the replacement' }).trim().min(1, 'Enter the reason for the replacement').max(2000, 'The reason must be 2,000 characters or fewer'),
  /** "draw" (the default) or "hand": a child the coordinator chose, for the reason given. */
  method: z.enum(['draw', 'hand']).default('draw'),
  handPickedChildId: z.preprocess((value) => (value === '' ? undefined : value), uuid.optional()),
  auditorId: z.preprocess((value) => (value === '' ? undefined : value), uuid.optional()),
});

/** Replaces a proposed child (drawn again by the rules, or hand-picked with a reason) or its auditor. */
export async function replaceInRound(db: Db, actor: RoundActor, roundId: string, input: unknown): Promise<RoundOutcome> {
  const { principal } = actor;
  requireAllocator(principal);
  const parsed = replacementInputSchema.safeParse(input);
  if (!parsed.success) return { ok: false, errors: parsed.error.issues.map((issue) => ({ field: String(issue.path[0] ?? 'reason'), message: issue.message })) };
  const value = parsed.data;
  if (value.kind === 'child' && value.method === 'hand' && !value.handPickedChildId) return { ok: false, errors: [{ field: 'handPickedChildId', message: 'Choose the child to audit instead' }] };
  if (value.kind === 'auditor' && !value.auditorId) return { ok: false, errors: [{ field: 'auditorId', message: 'Choose the auditor' }] };
  return inTransaction(db, async (trx) => {
    const round = await roundInScope(trx, principal, roundId, { lock: true });
    if (round.status !== 'proposed') return { ok: false as const, errors: [{ field: 'reason', message: 'This round is confirmed: its audits are allocated and it can no longer change' }] };
    const { rows, snapshot, proposal, replacementRows: earlier } = await fullProposal(trx, round);
    const removed = new Set(earlier.filter((row) => row.kind === 'child').map((row) => row.child_id));
    const drawSeed = randomInt(0, 2 ** 31 - 1);
    const replacement: Replacement = value.kind === 'child'
      ? { kind: 'child', unitKey: value.unitKey, childId: value.childId, reason: value.reason, handPickedChildId: value.method === 'hand' ? value.handPickedChildId! : null, drawSeed }
      : { kind: 'auditor', unitKey: value.unitKey, childId: value.childId, auditorId: value.auditorId!, reason: value.reason };
    const before = allPicks(proposal).find((pick) => pick.unitKey === value.unitKey && pick.childId === value.childId);
    const outcome = applyReplacement(proposal, snapshot, rows, replacement, removed);
    if (!outcome.ok || !before) return { ok: false as const, errors: [{ field: value.kind === 'auditor' ? 'auditorId' : value.method === 'hand' ? 'handPickedChildId' : 'reason', message: outcome.ok ? 'That child is not proposed in this round' : outcome.message }] };
    await trx.insertInto('programme_round_replacements').values({
      organisation_id: principal.organisationId,
      round_id: round.id,
      sequence: earlier.length + 1,
      kind: value.kind,
      unit_key: value.unitKey,
      child_id: value.childId,
      new_child_id: outcome.pick.childId,
      auditor_id: before.auditorId,
      new_auditor_id: outcome.pick.auditorId,
      hand_picked: value.kind === 'child' && value.method === 'hand',
      draw_seed: value.kind === 'child' && value.method === 'draw' ? drawSeed : null,
      reason: value.reason,
      made_by: principal.userId,
      made_at: actor.at,
    }).execute();
    await trx.updateTable('programme_rounds').set({ proposal: JSON.stringify(compactProposal(outcome.proposal)), version: round.version + 1 }).where('id', '=', round.id).execute();
    await logActivity(trx, actor, { action: 'update', recordType: 'programme_round', recordId: round.id, childId: value.childId, summary: `replaced the ${value.kind} proposed for child ${value.childId}${value.kind === 'child' ? ` with child ${outcome.pick.childId}${value.method === 'hand' ? ' (hand-picked)' : ' (drawn again)'}` : ` with staff ${outcome.pick.auditorId}`}: ${value.reason}` });
    return { ok: true as const, roundId: round.id };
  });
}

/** Why a round's audit could not be allocated, naming the child; the whole confirmation is undone. */
class RoundNotAllocated extends Error {
  readonly errors: FieldError[];
  constructor(errors: FieldError[]) {
    super('the round could not be allocated');
    this.errors = errors;
  }
}

export type ConfirmOutcome = { ok: true; alreadyConfirmed: boolean; audits: { id: string; reference: number }[] } | { ok: false; errors: FieldError[] };

/**
 * Confirms a round: every proposed audit is allocated through the allocation service (the
 * audit, its timeline, the activity log and the auditor's e-mail) inside ONE transaction with
 * the round's change of status. The round's row is locked first, so a second confirmation (a
 * second tab, a retried request) waits, then finds the round confirmed and allocates nothing.
 * Any audit that cannot be allocated undoes the lot and is named.
 */
export async function confirmSamplingRound(db: Db, actor: RoundActor, roundId: string, options: { today: IsoDate; beforeCommit?: (trx: Db) => Promise<void> }): Promise<ConfirmOutcome> {
  const { principal } = actor;
  requireAllocator(principal);
  try {
    return await inTransaction(db, async (trx) => {
      const round = await roundInScope(trx, principal, roundId, { lock: true });
      if (round.status === 'confirmed') {
        const audits = await queries.selectRoundAudits(trx, round.id);
        return { ok: true as const, alreadyConfirmed: true, audits: audits.map((audit) => ({ id: audit.id, reference: audit.reference })) };
      }
      const { rows, snapshot, proposal, matches } = await fullProposal(trx, round);
      // The audits allocated are the proposal shown: a replay that differs from it allocates nothing.
      if (!matches) throw new RoundNotAllocated([{ field: 'round', message: 'The round replayed from its seed differs from the proposal stored: nothing was allocated. Propose the round again' }]);
      const children = new Map(snapshot.children.map((child) => [child.id, child]));
      const allocated: { id: string; reference: number }[] = [];
      for (const pick of allPicks(proposal)) {
        const row = rows.find((candidate) => candidate.id === pick.rowId)!;
        const outcome = await allocateAudit(trx, actor, { childId: pick.childId, toolId: row.toolId ?? undefined, auditorId: pick.auditorId, confirmNotForChild: true }, {
          today: options.today,
          // A child closed within the row's window was open to the team in it: the rule allows them.
          closedSince: addWeeks(round.as_of, -row.rules.openWithinWeeks),
        });
        if (!outcome.ok) {
          const child = children.get(pick.childId);
          throw new RoundNotAllocated(outcome.errors.map((error) => ({ field: 'round', message: `${child ? `${child.initials} (${child.externalId})` : 'A child'}: ${error.message}. Replace the child or the auditor, then confirm again` })));
        }
        await trx.insertInto('programme_round_audits').values({ round_id: round.id, audit_id: outcome.audit.id, organisation_id: principal.organisationId, schedule_row_id: pick.rowId }).execute();
        allocated.push({ id: outcome.audit.id, reference: outcome.audit.reference });
      }
      await trx.updateTable('programme_rounds').set({ status: 'confirmed', confirmed_at: actor.at, confirmed_by: principal.userId, version: round.version + 1 }).where('id', '=', round.id).execute();
      await logActivity(trx, actor, { action: 'update', recordType: 'programme_round', recordId: round.id, summary: `confirmed the sampling round: ${allocated.length} audits allocated` });
      // For the test that kills a process here (test/sampling-round-kill.test.ts); nothing else passes it.
      await options.beforeCommit?.(trx);
      return { ok: true as const, alreadyConfirmed: false, audits: allocated };
    });
  } catch (error) {
    if (error instanceof RoundNotAllocated) return { ok: false, errors: error.errors };
    throw error;
  }
}

const UNIT_WORDS = { auditor: 'Auditor', team: 'Team', service: 'Service' } as const;

/** How many of a rule's children or staff the page names; the count is always whole. */
const NAMED_LIMIT = 50;

/**
 * The round as its page and the API show it: each row's units with the pool size, the
 * exclusions by rule (with who), the chosen children and auditors and any shortfall; the
 * replacements with reasons; the provenance (seed, rules, who proposed and confirmed).
 */
export async function roundView(db: Db, actor: RoundActor, roundId: string) {
  const { principal } = actor;
  requireAllocator(principal);
  const round = await roundInScope(db, principal, roundId);
  const { rows, snapshot, proposal, replacementRows, matches } = await fullProposal(db, round);
  const audits = await queries.selectRoundAudits(db, round.id);
  const children = new Map(snapshot.children.map((child) => [child.id, child]));
  const staff = new Map(snapshot.auditors.map((auditor) => [auditor.id, auditor.name]));
  const caseHolderIds = [...new Set(snapshot.children.map((child) => child.caseHolderId).filter((id): id is string => id !== null && !staff.has(id)))];
  const picked = allPicks(proposal);
  const pickedIds = new Set(picked.map((pick) => pick.childId));
  const holders = await queries.selectStaffNames(db, principal.organisationId, caseHolderIds.filter((id) => picked.some((pick) => children.get(pick.childId)?.caseHolderId === id)));
  const users = await queries.selectUserNames(db, principal.organisationId, [round.proposed_by, ...(round.confirmed_by ? [round.confirmed_by] : []), ...replacementRows.map((row) => row.made_by)]);
  const teams = new Map(snapshot.teams.map((team) => [team.id, team.name]));
  const services = new Map(snapshot.services.map((service) => [service.id, service.name]));
  const childLabel = (id: string | null) => {
    const child = id ? children.get(id) : undefined;
    return child ? `${child.initials} (${child.externalId})` : 'a child no longer in the pool';
  };
  const staffName = (id: string | null) => (id ? staff.get(id) ?? holders.get(id) ?? 'someone not in the pool' : 'none recorded');
  const unitName = (kind: 'auditor' | 'team' | 'service', id: string) => (kind === 'auditor' ? staffName(id) : kind === 'team' ? teams.get(id) ?? 'a team' : services.get(id) ?? 'a service');
  const auditByChild = new Map(audits.map((audit) => [audit.child_id, audit]));
  const view = {
    id: round.id,
    status: round.status,
    periodFrom: round.period_from,
    periodTo: round.period_to,
    asOf: round.as_of,
    seed: round.seed,
    drawVersion: round.draw_version,
    version: round.version,
    replayMatches: matches,
    proposedBy: users.get(round.proposed_by) ?? 'unknown',
    proposedAt: round.proposed_at,
    confirmedBy: round.confirmed_by ? users.get(round.confirmed_by) ?? 'unknown' : null,
    confirmedAt: round.confirmed_at,
    poolSize: snapshot.children.length,
    auditorCount: snapshot.auditors.length,
    rows: proposal.rows.map((rowResult) => {
      const row = rows.find((candidate) => candidate.id === rowResult.rowId)!;
      return {
        id: row.id,
        label: row.label,
        service: row.serviceId ? services.get(row.serviceId) ?? 'a service' : 'All services',
        rules: row.rules,
        auditorRoles: row.auditorRoles,
        expected: rowResult.expected,
        proposed: rowResult.proposed,
        shortfall: rowResult.shortfall,
        note: rowResult.note,
        units: rowResult.units.map((unit) => ({
          key: unit.key,
          kind: unit.kind,
          kindWord: UNIT_WORDS[unit.kind],
          name: unitName(unit.kind, unit.unitId),
          expected: unit.expected,
          scopeSize: unit.scopeSize,
          eligible: unit.eligibleCount,
          shortfall: unit.shortfall,
          exclusions: Object.entries(unit.excluded).map(([rule, ids]) => ({ rule, count: ids.length, who: ids.map(childLabel).sort().slice(0, NAMED_LIMIT), more: Math.max(0, ids.length - NAMED_LIMIT) })),
          auditorExclusions: Object.entries(unit.auditorExclusions).map(([rule, ids]) => ({ rule, count: ids.length, who: ids.map(staffName).sort().slice(0, NAMED_LIMIT) })),
          eligibleChildren: unit.eligibleIds.filter((id) => !pickedIds.has(id)).slice(0, 200).map((id) => ({ id, label: childLabel(id), legalStatus: children.get(id)!.legalStatus })),
          picks: unit.picks.map((pick) => {
            const child = children.get(pick.childId)!;
            const audit = auditByChild.get(pick.childId);
            return {
              childId: pick.childId,
              child: childLabel(pick.childId),
              legalStatus: child.legalStatus as LegalStatus,
              team: child.teamId ? teams.get(child.teamId) ?? '' : '',
              caseHolder: staffName(child.caseHolderId),
              caseHolderRepeated: pick.caseHolderRepeated,
              auditorId: pick.auditorId,
              auditor: staffName(pick.auditorId),
              audit: audit ? { id: audit.id, reference: audit.reference, dueOn: audit.due_on } : null,
            };
          }),
        })),
      };
    }),
    replacements: replacementRows.map((row) => ({
      sequence: row.sequence,
      kind: row.kind,
      from: row.kind === 'child' ? childLabel(row.child_id) : staffName(row.auditor_id),
      to: row.kind === 'child' ? childLabel(row.new_child_id) : staffName(row.new_auditor_id),
      child: childLabel(row.child_id),
      how: row.kind === 'auditor' ? 'auditor chosen by the coordinator' : row.hand_picked ? 'hand-picked by the coordinator' : `drawn again by the rules (seed ${row.draw_seed})`,
      reason: row.reason,
      by: users.get(row.made_by) ?? 'unknown',
      at: row.made_at,
    })),
    auditors: snapshot.auditors.map((auditor) => ({ id: auditor.id, name: auditor.name, roles: auditor.roles as Role[] })),
  };
  // The page names the chosen children: each is a view of a child's record.
  await logActivities(db, actor, picked.map((pick) => ({ action: 'view' as const, recordType: 'programme_round', recordId: round.id, childId: pick.childId, summary: 'sampling round' })));
  return view;
}

export type RoundView = Awaited<ReturnType<typeof roundView>>;

export async function listRounds(db: Db, principal: Principal) {
  requireAllocator(principal);
  return queries.selectRounds(db, principal.organisationId);
}

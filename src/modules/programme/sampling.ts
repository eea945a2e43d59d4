import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';
import type { LegalStatus, ProgrammePer, Role } from '../../db/types.ts';
import { addCalendarMonths, addWeeks, calendarDaysBetween, type IsoDate } from '../../platform/working-days.ts';
import type { SamplingRules } from './schedule.ts';

/**
 * The sampling rules (README, "Sampling rules"): pure functions from what a round read — the
 * pool snapshot — and a seed to the proposal. Nothing here reads the database or the clock, so
 * the same snapshot and seed always give the same proposal, and the rules can be checked by
 * property tests.
 *
 * The draw walks rows in position order, and inside a row its units (each auditor, team or
 * service the row counts by) in id order; every list is sorted by id before the generator is
 * asked, so the order the database returned rows in never matters.
 */

/** A child of the register as the draw read it. */
export type PoolChild = {
  id: string;
  externalId: string;
  initials: string;
  legalStatus: LegalStatus;
  teamId: string | null;
  serviceId: string | null;
  caseHolderId: string | null;
  openDate: IsoDate | null;
  closeDate: IsoDate | null;
  /** The day the child's latest audit was allocated; null when never audited. */
  lastAuditedOn: IsoDate | null;
  /** An audit of the child not yet closed. */
  hasOpenAudit: boolean;
  /** Everyone who has audited the child before (staff ids). */
  pastAuditorIds: string[];
};

/** A member of staff who may audit, as the draw read them. */
export type PoolAuditor = { id: string; name: string; teamId: string | null; serviceId: string | null; roles: Role[] };

export type PoolSnapshot = {
  /** The day the round was proposed: the windows ("last 4 weeks", "last 12 months") end on it. */
  asOf: IsoDate;
  children: PoolChild[];
  auditors: PoolAuditor[];
  teams: { id: string; name: string; serviceId: string }[];
  services: { id: string; name: string }[];
};

/** What a round draws for one schedule row. */
export type DrawRow = {
  id: string;
  position: number;
  label: string;
  serviceId: string | null;
  quantity: number;
  per: ProgrammePer;
  periodMonths: number;
  auditorRoles: Role[];
  rules: SamplingRules;
};

/** The rules that leave a child out, in the order they are tried (a child is counted under the first that applies). */
export const EXCLUSION_RULES = ['open_to_team', 'legal_status', 'audited_recently', 'open_audit', 'chosen_in_round', 'auditor_is_case_holder', 'previous_auditor', 'no_auditor'] as const;
export type ExclusionRule = (typeof EXCLUSION_RULES)[number];

/** The rules that leave a member of staff out as the auditor of a child. */
export const AUDITOR_RULES = ['auditor_role', 'auditor_from', 'auditor_is_case_holder', 'previous_auditor'] as const;
export type AuditorRule = (typeof AUDITOR_RULES)[number];

/** Each rule's name as the round's page and the README write it. */
export function ruleName(rule: ExclusionRule | AuditorRule, rules: SamplingRules): string {
  switch (rule) {
    case 'open_to_team': return `Not open to the team in the last ${rules.openWithinWeeks} weeks`;
    case 'legal_status': return 'Legal status not included';
    case 'audited_recently': return `Audited in the last ${rules.excludeAuditedWithinMonths} months`;
    case 'open_audit': return 'Has an audit open';
    case 'chosen_in_round': return 'Already chosen in this round';
    case 'auditor_is_case_holder': return 'The auditor holds the case';
    case 'previous_auditor': return 'The auditor audited the child before';
    case 'no_auditor': return 'No auditor is left for the child';
    case 'auditor_role': return 'Does not hold an auditing role of the row';
    case 'auditor_from': return rules.auditorFrom === 'own_team' ? "Not in the child's team" : rules.auditorFrom === 'outside_service' ? "In the child's service" : 'Auditor rule';
  }
}

/** One unit of a row: the auditor, team or service a number of audits is expected of. */
export type UnitKind = 'auditor' | 'team' | 'service';

export type Choice = {
  childId: string;
  auditorId: string;
  /** The case-holder was already in the round, because no child with another case-holder was eligible. */
  caseHolderRepeated: boolean;
};

export type UnitResult = {
  key: string;
  kind: UnitKind;
  /** The auditor, team or service's id. */
  unitId: string;
  expected: number;
  /** Children in the unit's reach before the rules (the scope), and those left after them. */
  scopeSize: number;
  eligibleIds: string[];
  /** Children left out, by the first rule that left them out. */
  excluded: Partial<Record<ExclusionRule, string[]>>;
  /** For children left out because no auditor was left: which rule excluded which auditor. */
  auditorExclusions: Partial<Record<AuditorRule, string[]>>;
  picks: Choice[];
  /** How many fewer than expected could be proposed (0 when all were). */
  shortfall: number;
};

export type RowResult = { rowId: string; position: number; label: string; units: UnitResult[]; expected: number; proposed: number; shortfall: number; note: string | null };

export type Proposal = { seed: number; rows: RowResult[] };

/** Whole months a period covers (at least 1): 1 April to 30 June is 3. */
export function periodMonths(from: IsoDate, to: IsoDate): number {
  return Math.max(1, Math.round((calendarDaysBetween(from, to) + 1) / 30.4375));
}

/** Audits a row expects of each unit over a round of `months`: its quantity scaled to the round, rounded up. */
export function expectedPerUnit(row: DrawRow, months: number, openCases = 0): number {
  if (row.per === 'open_cases_percent') return Math.ceil((row.quantity * openCases * months) / (100 * row.periodMonths));
  return Math.ceil((row.quantity * months) / row.periodMonths);
}

/** Rule: open to the team at some point in the last N weeks — open now, or closed within the window. */
export function openInWindow(child: PoolChild, asOf: IsoDate, weeks: number): boolean {
  if (!child.teamId) return false;
  if (child.openDate && child.openDate > asOf) return false;
  return child.closeDate === null || child.closeDate >= addWeeks(asOf, -weeks);
}

/** The child-only rules, in order; the first that leaves the child out, or null. */
export function childExclusion(child: PoolChild, rules: SamplingRules, asOf: IsoDate): ExclusionRule | null {
  return childExclusionWithin(child, rules, boundsOf(rules, asOf));
}

/** The days a row's windows start on, worked out once per row rather than once per child. */
type Bounds = { asOf: IsoDate; windowStart: IsoDate; auditedAfter: IsoDate };
function boundsOf(rules: SamplingRules, asOf: IsoDate): Bounds {
  return { asOf, windowStart: addWeeks(asOf, -rules.openWithinWeeks), auditedAfter: addCalendarMonths(asOf, -rules.excludeAuditedWithinMonths) };
}

function childExclusionWithin(child: PoolChild, rules: SamplingRules, bounds: Bounds): ExclusionRule | null {
  // Open to the team in the window: open now, or closed within it (openInWindow, without its date sums).
  if (!child.teamId || (child.openDate && child.openDate > bounds.asOf) || (child.closeDate !== null && child.closeDate < bounds.windowStart)) return 'open_to_team';
  if (rules.legalStatuses.length && !rules.legalStatuses.includes(child.legalStatus)) return 'legal_status';
  if (rules.excludeAuditedWithinMonths > 0 && child.lastAuditedOn && child.lastAuditedOn > bounds.auditedAfter) return 'audited_recently';
  if (rules.excludeOpenAudit && child.hasOpenAudit) return 'open_audit';
  return null;
}

/** Why a member of staff may not audit a child under the rules; null when they may. */
export function auditorExclusion(auditor: PoolAuditor, child: PoolChild, row: Pick<DrawRow, 'auditorRoles' | 'rules'>): AuditorRule | null {
  if (!auditor.roles.some((role) => rolesOf(row).includes(role))) return 'auditor_role';
  if (row.rules.auditorFrom === 'own_team' && (!auditor.teamId || auditor.teamId !== child.teamId)) return 'auditor_from';
  if (row.rules.auditorFrom === 'outside_service' && (auditor.serviceId === null || auditor.serviceId === child.serviceId)) return 'auditor_from';
  if (auditor.id === child.caseHolderId) return 'auditor_is_case_holder';
  if (child.pastAuditorIds.includes(auditor.id)) return 'previous_auditor';
  return null;
}

/** The roles a row's auditors hold; none named means any auditing role. */
export const AUDITING_ROLES: readonly Role[] = ['auditor', 'moderator', 'qa_coordinator', 'qa_lead'];
function rolesOf(row: { auditorRoles: Role[] }): readonly Role[] {
  return row.auditorRoles.length ? row.auditorRoles : AUDITING_ROLES;
}

const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The round's generator: xoroshiro128+ from pure-rand, seeded with a 32-bit integer. */
export function generator(seed: number): RandomGenerator {
  return xoroshiro128plus(seed | 0);
}

function pickIndex(rng: RandomGenerator, length: number): number {
  return unsafeUniformIntDistribution(0, length - 1, rng);
}

/** State carried across a round's rows: who is chosen and which case-holders and auditors were used. */
export type RoundState = { chosen: Set<string>; caseHolders: Set<string>; auditorLoad: Map<string, number> };
export const emptyRoundState = (): RoundState => ({ chosen: new Set(), caseHolders: new Set(), auditorLoad: new Map() });

type Unit = { kind: UnitKind; id: string; scope: PoolChild[]; auditor?: PoolAuditor };

/** The snapshot sorted and grouped once per round, so a round of many rows over a large register stays fast. */
type PoolIndex = { children: PoolChild[]; byTeam: Map<string, PoolChild[]>; byService: Map<string, PoolChild[]>; auditors: PoolAuditor[]; auditorsByTeam: Map<string, PoolAuditor[]> };

function indexOf(snapshot: PoolSnapshot): PoolIndex {
  const children = [...snapshot.children].sort(byId);
  const group = <T>(items: T[], key: (item: T) => string | null) => {
    const map = new Map<string, T[]>();
    for (const item of items) {
      const k = key(item);
      if (k !== null) (map.get(k) ?? map.set(k, []).get(k)!).push(item);
    }
    return map;
  };
  const auditors = [...snapshot.auditors].sort(byId);
  return { children, byTeam: group(children, (child) => child.teamId), byService: group(children, (child) => child.serviceId), auditors, auditorsByTeam: group(auditors, (auditor) => auditor.teamId) };
}

const indexes = new WeakMap<PoolSnapshot, PoolIndex>();
function poolIndex(snapshot: PoolSnapshot): PoolIndex {
  return indexes.get(snapshot) ?? indexes.set(snapshot, indexOf(snapshot)).get(snapshot)!;
}

/** The units a row counts by, each with the children in its reach. */
function unitsOf(row: DrawRow, snapshot: PoolSnapshot): Unit[] {
  const inRowService = (child: PoolChild) => row.serviceId === null || child.serviceId === row.serviceId;
  const index = poolIndex(snapshot);
  const children = index.children;
  if (row.per === 'auditor') {
    const serviceOfTeam = new Map(snapshot.teams.map((team) => [team.id, team.serviceId]));
    return [...snapshot.auditors].sort(byId)
      .filter((auditor) => auditor.roles.some((role) => rolesOf(row).includes(role)))
      .filter((auditor) => row.serviceId === null || (auditor.teamId !== null && serviceOfTeam.get(auditor.teamId) === row.serviceId))
      .map((auditor) => ({
        kind: 'auditor' as const,
        id: auditor.id,
        auditor,
        scope: row.rules.auditorFrom === 'own_team'
          ? (auditor.teamId === null ? [] : index.byTeam.get(auditor.teamId) ?? [])
          : children.filter((child) => (row.rules.auditorFrom !== 'outside_service' || child.serviceId !== auditor.serviceId) && inRowService(child)),
      }));
  }
  if (row.per === 'team') {
    return [...snapshot.teams].sort(byId)
      .filter((team) => row.serviceId === null || team.serviceId === row.serviceId)
      .map((team) => ({ kind: 'team' as const, id: team.id, scope: index.byTeam.get(team.id) ?? [] }));
  }
  return [...snapshot.services].sort(byId)
    .filter((service) => row.serviceId === null || service.id === row.serviceId)
    .map((service) => ({ kind: 'service' as const, id: service.id, scope: index.byService.get(service.id) ?? [] }));
}

/** The auditors who may audit a child in a team or service unit, and which rule left out each of the others. */
export function auditorsFor(child: PoolChild, row: DrawRow, auditors: PoolAuditor[]) {
  const allowed: PoolAuditor[] = [];
  const excluded: Partial<Record<AuditorRule, string[]>> = {};
  for (const auditor of auditors) {
    const rule = auditorExclusion(auditor, child, row);
    if (rule === null) allowed.push(auditor);
    else if (rule !== 'auditor_role') (excluded[rule] ??= []).push(auditor.id);
  }
  return { allowed, excluded };
}

/**
 * Draws one unit: applies the exclusions, then picks `expected` children one by one —
 * only among children whose case-holder is not yet in the round while there are any
 * (vary case-holders), from the legal status chosen least so far among those present, the
 * status and then the child drawn uniformly (stratify legal status).
 */
function drawUnit(unit: Unit, row: DrawRow, snapshot: PoolSnapshot, expected: number, state: RoundState, rng: RandomGenerator): UnitResult {
  const excluded: Partial<Record<ExclusionRule, string[]>> = {};
  const auditorExclusions: Partial<Record<AuditorRule, string[]>> = {};
  const eligible: PoolChild[] = [];
  const index = poolIndex(snapshot);
  const auditors = index.auditors;
  const bounds = boundsOf(row.rules, snapshot.asOf);
  const allowedAuditors = new Map<string, PoolAuditor[]>();
  const exclude = (rule: ExclusionRule, child: PoolChild) => (excluded[rule] ??= []).push(child.id);
  // Whom the auditor rule could allow for a child, before the case-holder and past auditors are checked.
  const roles = rolesOf(row);
  const withRole = (list: PoolAuditor[]) => list.filter((auditor) => auditor.roles.some((role) => roles.includes(role)));
  const candidatesByKey = new Map<string, PoolAuditor[]>();
  const candidatesFor = (child: PoolChild) => {
    const key = row.rules.auditorFrom === 'own_team' ? `t:${child.teamId}` : row.rules.auditorFrom === 'outside_service' ? `s:${child.serviceId}` : 'any';
    let list = candidatesByKey.get(key);
    if (!list) {
      list = row.rules.auditorFrom === 'own_team' ? withRole(child.teamId ? index.auditorsByTeam.get(child.teamId) ?? [] : [])
        : row.rules.auditorFrom === 'outside_service' ? withRole(auditors.filter((auditor) => auditor.serviceId !== null && auditor.serviceId !== child.serviceId))
          : withRole(auditors);
      candidatesByKey.set(key, list);
    }
    return list;
  };
  const allowedOf = (child: PoolChild, candidates: PoolAuditor[]) => candidates.filter((auditor) => auditor.id !== child.caseHolderId && !child.pastAuditorIds.includes(auditor.id));
  for (const child of unit.scope) {
    const rule = childExclusionWithin(child, row.rules, bounds) ?? (state.chosen.has(child.id) ? 'chosen_in_round' : null);
    if (rule) { exclude(rule, child); continue; }
    if (unit.auditor) {
      const auditorRule = auditorExclusion(unit.auditor, child, row);
      if (auditorRule === 'auditor_is_case_holder' || auditorRule === 'previous_auditor') { exclude(auditorRule, child); continue; }
    } else {
      const candidates = candidatesFor(child);
      // More candidates than the case-holder and past auditors together: someone is left, worked out when the child is chosen.
      const allowed = candidates.length > 1 + child.pastAuditorIds.length ? null : allowedOf(child, candidates);
      if (allowed && !allowed.length) {
        // Nobody is left: say which rule left out whom, over everyone who may audit.
        const { excluded: byRule } = auditorsFor(child, row, auditors);
        exclude('no_auditor', child);
        for (const [auditorRule, ids] of Object.entries(byRule) as [AuditorRule, string[]][]) {
          const list = (auditorExclusions[auditorRule] ??= []);
          for (const id of ids) if (!list.includes(id)) list.push(id);
        }
        continue;
      }
      if (allowed) allowedAuditors.set(child.id, allowed);
    }
    eligible.push(child);
  }
  const picks: Choice[] = [];
  const draw = new CandidateGroups(eligible);
  const statusCounts = new Map<LegalStatus, number>();
  while (picks.length < expected) {
    const child = draw.choose(row.rules, state, statusCounts, rng);
    if (!child) break;
    const auditor = unit.auditor ?? chooseAuditor(allowedAuditors.get(child.id) ?? allowedOf(child, candidatesFor(child)), state, rng);
    const caseHolderRepeated = child.caseHolderId !== null && state.caseHolders.has(child.caseHolderId);
    picks.push({ childId: child.id, auditorId: auditor.id, caseHolderRepeated });
    state.chosen.add(child.id);
    if (child.caseHolderId) state.caseHolders.add(child.caseHolderId);
    state.auditorLoad.set(auditor.id, (state.auditorLoad.get(auditor.id) ?? 0) + 1);
    statusCounts.set(child.legalStatus, (statusCounts.get(child.legalStatus) ?? 0) + 1);
  }
  return {
    key: `${row.id}:${unit.kind}:${unit.id}`,
    kind: unit.kind,
    unitId: unit.id,
    expected,
    scopeSize: unit.scope.length,
    eligibleIds: eligible.map((child) => child.id),
    excluded,
    auditorExclusions,
    picks,
    shortfall: expected - picks.length,
  };
}

/**
 * A unit's candidates grouped by legal status and case-holder, so that drawing many children
 * from a large unit (a percentage of a service's open cases) costs a pass over the case-holders
 * per child rather than over the children. The choice is the same as chooseChild's: among
 * children whose case-holder is not yet in the round while there are any, from a status chosen
 * least so far among those present, uniformly.
 */
class CandidateGroups {
  /** status → case-holder (or '' for none, always fresh) → children not yet taken, in id order. */
  readonly groups = new Map<LegalStatus, Map<string, PoolChild[]>>();

  constructor(eligible: PoolChild[]) {
    for (const child of eligible) {
      const byHolder = this.groups.get(child.legalStatus) ?? this.groups.set(child.legalStatus, new Map()).get(child.legalStatus)!;
      const key = child.caseHolderId ?? '';
      (byHolder.get(key) ?? byHolder.set(key, []).get(key)!).push(child);
    }
  }

  choose(rules: SamplingRules, state: RoundState, statusCounts: Map<LegalStatus, number>, rng: RandomGenerator): PoolChild | null {
    const fresh = (key: string) => key === '' || !state.caseHolders.has(key);
    // One pass over the groups: each status's lists, and those whose case-holder is not yet in the round.
    const byStatus = new Map<LegalStatus, { all: PoolChild[][]; fresh: PoolChild[][] }>();
    for (const [status, byHolder] of this.groups) {
      const lists = { all: [] as PoolChild[][], fresh: [] as PoolChild[][] };
      for (const [key, children] of byHolder) {
        if (!children.length) { byHolder.delete(key); continue; }
        lists.all.push(children);
        if (fresh(key)) lists.fresh.push(children);
      }
      if (lists.all.length) byStatus.set(status, lists);
    }
    const freshOnly = rules.varyCaseHolders && [...byStatus.values()].some((lists) => lists.fresh.length > 0);
    const listsOf = (status: LegalStatus) => (freshOnly ? byStatus.get(status)!.fresh : byStatus.get(status)!.all);
    let chosenStatuses = [...byStatus.keys()].sort().filter((status) => listsOf(status).length > 0);
    if (!chosenStatuses.length) return null;
    if (rules.stratifyLegalStatus) {
      const least = Math.min(...chosenStatuses.map((status) => statusCounts.get(status) ?? 0));
      const tied = chosenStatuses.filter((status) => (statusCounts.get(status) ?? 0) === least);
      chosenStatuses = [tied[pickIndex(rng, tied.length)]!];
    }
    const pools = chosenStatuses.flatMap(listsOf);
    let index = pickIndex(rng, pools.reduce((sum, list) => sum + list.length, 0));
    for (const list of pools) {
      if (index < list.length) return list.splice(index, 1)[0]!;
      index -= list.length;
    }
    return null;
  }
}

/** One child from the candidates by the choice rules (vary case-holders, stratify), or null when none is left. */
export function chooseChild(candidates: PoolChild[], rules: SamplingRules, state: RoundState, statusCounts: Map<LegalStatus, number>, rng: RandomGenerator): PoolChild | null {
  if (!candidates.length) return null;
  let pool = candidates;
  if (rules.varyCaseHolders) {
    const fresh = pool.filter((child) => child.caseHolderId === null || !state.caseHolders.has(child.caseHolderId));
    if (fresh.length) pool = fresh;
  }
  if (rules.stratifyLegalStatus) {
    const present = [...new Set(pool.map((child) => child.legalStatus))].sort();
    const least = Math.min(...present.map((status) => statusCounts.get(status) ?? 0));
    const statuses = present.filter((status) => (statusCounts.get(status) ?? 0) === least);
    const status = statuses[pickIndex(rng, statuses.length)]!;
    pool = pool.filter((child) => child.legalStatus === status);
  }
  return pool[pickIndex(rng, pool.length)]!;
}

/** The auditor for a child: among those allowed, one of those with the fewest audits in the round so far. */
export function chooseAuditor(allowed: PoolAuditor[], state: RoundState, rng: RandomGenerator): PoolAuditor {
  const least = Math.min(...allowed.map((auditor) => state.auditorLoad.get(auditor.id) ?? 0));
  const lightest = allowed.filter((auditor) => (state.auditorLoad.get(auditor.id) ?? 0) === least);
  return lightest[pickIndex(rng, lightest.length)]!;
}

/** The open children in a unit's reach today, for a percentage of open cases. */
function openCasesIn(unit: Unit, asOf: IsoDate): number {
  return unit.scope.filter((child) => child.closeDate === null && (child.openDate === null || child.openDate <= asOf)).length;
}

/**
 * The proposal of a round: for each row, each unit's expected audits drawn from its eligible
 * children with the seeded generator. A unit with fewer eligible children than expected
 * proposes what it can and names the shortfall.
 */
export function proposeRound(input: { snapshot: PoolSnapshot; rows: DrawRow[]; seed: number; months: number }): Proposal {
  const rng = generator(input.seed);
  const state = emptyRoundState();
  const rows = [...input.rows].sort((a, b) => a.position - b.position).map((row): RowResult => {
    const units = unitsOf(row, input.snapshot).map((unit) => drawUnit(unit, row, input.snapshot, expectedPerUnit(row, input.months, row.per === 'open_cases_percent' ? openCasesIn(unit, input.snapshot.asOf) : 0), state, rng));
    const expected = units.reduce((sum, unit) => sum + unit.expected, 0);
    const proposed = units.reduce((sum, unit) => sum + unit.picks.length, 0);
    const note = units.length ? null : row.per === 'auditor' ? 'Nobody holds an auditing role this row names' + (row.serviceId ? ' in its service' : '') : `No ${row.per === 'team' ? 'team' : 'service'} is in this row's reach`;
    return { rowId: row.id, position: row.position, label: row.label, units, expected, proposed, shortfall: expected - proposed, note };
  });
  return { seed: input.seed, rows };
}

/** A replacement as the round records it, replayed in order over the proposal. */
export type Replacement =
  | { kind: 'child'; unitKey: string; childId: string; reason: string; handPickedChildId: string | null; drawSeed: number }
  | { kind: 'auditor'; unitKey: string; childId: string; auditorId: string; reason: string };

/** The round state the picks so far imply (who is chosen, case-holders and auditors used). */
export function stateOf(proposal: Proposal, snapshot: PoolSnapshot): RoundState {
  const children = new Map(snapshot.children.map((child) => [child.id, child]));
  const state = emptyRoundState();
  for (const row of proposal.rows) for (const unit of row.units) for (const pick of unit.picks) {
    state.chosen.add(pick.childId);
    const caseHolder = children.get(pick.childId)?.caseHolderId;
    if (caseHolder) state.caseHolders.add(caseHolder);
    state.auditorLoad.set(pick.auditorId, (state.auditorLoad.get(pick.auditorId) ?? 0) + 1);
  }
  return state;
}

export type ReplacementOutcome = { ok: true; proposal: Proposal; pick: Choice } | { ok: false; message: string };

/**
 * Replaces a proposed child: the new child is drawn by the same rules from the unit's eligible
 * children not chosen (nor replaced) in the round, with a generator of its own seed — or is the
 * child the coordinator hand-picked from those eligible, for the reason they gave. The auditor
 * stays when the rules allow them for the new child, else is drawn again.
 */
export function applyReplacement(proposal: Proposal, snapshot: PoolSnapshot, rows: DrawRow[], replacement: Replacement, removed: ReadonlySet<string>): ReplacementOutcome {
  const located = locate(proposal, replacement.unitKey, replacement.childId);
  if (!located) return { ok: false, message: 'That child is not proposed in this round' };
  const { rowIndex, unitIndex, pickIndex: at, unit } = located;
  const row = rows.find((candidate) => candidate.id === proposal.rows[rowIndex]!.rowId)!;
  const children = new Map(snapshot.children.map((child) => [child.id, child]));
  const auditors = [...snapshot.auditors].sort(byId);
  const current = unit.picks[at]!;
  const withoutPick = { ...proposal, rows: proposal.rows.map((r, i) => (i !== rowIndex ? r : { ...r, units: r.units.map((u, j) => (j !== unitIndex ? u : { ...u, picks: u.picks.filter((_, k) => k !== at) })) })) };
  const state = stateOf(withoutPick, snapshot);
  let pick: Choice;
  if (replacement.kind === 'auditor') {
    const child = children.get(current.childId)!;
    const auditor = auditors.find((candidate) => candidate.id === replacement.auditorId);
    const rule = auditor ? auditorExclusion(auditor, child, row) : 'auditor_role';
    if (!auditor || rule) return { ok: false, message: `${auditor?.name ?? 'That person'} cannot audit ${child.initials} (${child.externalId}): ${ruleName(rule ?? 'auditor_role', row.rules).toLowerCase()}` };
    pick = { ...current, auditorId: auditor.id };
  } else {
    const candidates = unit.eligibleIds.filter((id) => !state.chosen.has(id) && !removed.has(id) && id !== current.childId).map((id) => children.get(id)!);
    let child: PoolChild | null;
    if (replacement.handPickedChildId) {
      child = candidates.find((candidate) => candidate.id === replacement.handPickedChildId) ?? null;
      if (!child) return { ok: false, message: 'Choose a child from those eligible for this row and not already in the round' };
    } else {
      const counts = new Map<LegalStatus, number>();
      for (const other of unit.picks) if (other !== current) counts.set(children.get(other.childId)!.legalStatus, (counts.get(children.get(other.childId)!.legalStatus) ?? 0) + 1);
      child = chooseChild(candidates, row.rules, state, counts, generator(replacement.drawSeed));
      if (!child) return { ok: false, message: 'No other eligible child is left for this row: the rules leave nobody else to draw' };
    }
    let auditorId = current.auditorId;
    if (unit.kind !== 'auditor') {
      const keep = auditors.find((candidate) => candidate.id === current.auditorId);
      if (!keep || auditorExclusion(keep, child, row)) {
        const { allowed } = auditorsFor(child, row, auditors);
        if (!allowed.length) return { ok: false, message: `No auditor is left for ${child.initials} (${child.externalId})` };
        auditorId = chooseAuditor(allowed, state, generator(replacement.drawSeed ^ 0x5bd1e995)).id;
      }
    } else if (auditorExclusion(auditors.find((candidate) => candidate.id === auditorId)!, child, row)) {
      return { ok: false, message: `The auditor cannot audit ${child.initials} (${child.externalId})` };
    }
    pick = { childId: child.id, auditorId, caseHolderRepeated: child.caseHolderId !== null && state.caseHolders.has(child.caseHolderId) };
  }
  const next = { ...proposal, rows: proposal.rows.map((r, i) => (i !== rowIndex ? r : { ...r, units: r.units.map((u, j) => (j !== unitIndex ? u : { ...u, picks: u.picks.map((p, k) => (k === at ? pick : p)) })) })) };
  return { ok: true, proposal: next, pick };
}

function locate(proposal: Proposal, unitKey: string, childId: string) {
  for (const [rowIndex, row] of proposal.rows.entries()) {
    for (const [unitIndex, unit] of row.units.entries()) {
      if (unit.key !== unitKey) continue;
      const at = unit.picks.findIndex((pick) => pick.childId === childId);
      if (at >= 0) return { rowIndex, unitIndex, pickIndex: at, unit };
    }
  }
  return null;
}

/** Replays a round: the proposal from its seed, then each replacement in order. */
export function replayRound(input: { snapshot: PoolSnapshot; rows: DrawRow[]; seed: number; months: number; replacements: Replacement[] }): Proposal {
  let proposal = proposeRound(input);
  const removed = new Set<string>();
  for (const replacement of input.replacements) {
    const outcome = applyReplacement(proposal, input.snapshot, input.rows, replacement, removed);
    if (!outcome.ok) throw new Error(`replacement of ${replacement.childId} no longer applies: ${outcome.message}`);
    if (replacement.kind === 'child') removed.add(replacement.childId);
    proposal = outcome.proposal;
  }
  return proposal;
}

/** The picks of a proposal, flat, with where each sits. */
export function allPicks(proposal: Proposal) {
  return proposal.rows.flatMap((row) => row.units.flatMap((unit) => unit.picks.map((pick) => ({ rowId: row.rowId, unitKey: unit.key, ...pick }))));
}

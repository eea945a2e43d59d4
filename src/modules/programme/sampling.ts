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
  eligibleCount: number;
  /** Worked out when first read (a round over a large register has millions; proposing needs only the counts). */
  eligibleIds: string[];
  /** Children left out, by the first rule that left them out: how many, and (worked out when first read) who. */
  excludedCounts: Partial<Record<ExclusionRule, number>>;
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
  if (!holdsRowRole(auditor, row)) return 'auditor_role';
  return auditorExclusionWithRole(auditor, child, row);
}

function holdsRowRole(auditor: PoolAuditor, row: { auditorRoles: Role[] }): boolean {
  const roles = rolesOf(row);
  return auditor.roles.some((role) => roles.includes(role));
}

/** auditorExclusion for someone known to hold one of the row's roles (the auditor a unit is). */
function auditorExclusionWithRole(auditor: PoolAuditor, child: PoolChild, row: Pick<DrawRow, 'rules'>): AuditorRule | null {
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

/**
 * The snapshot indexed once per round, so that a round of many rows over a large register
 * costs one pass over each unit's reach, reading small arrays rather than following every
 * child's object: children by their place in id order, with their team, service, case-holder,
 * past auditors and legal status as numbers; each team's and service's children as places.
 * Numbers stand for ids one to one, so comparing them is comparing the ids.
 */
type PoolIndex = {
  /** The children in id order; everything else refers to a child by its place here. */
  children: PoolChild[];
  ids: string[];
  all: number[];
  byTeam: Map<string, number[]>;
  byService: Map<string, number[]>;
  /** Teams and services as numbers (-1: none), and the ids the numbers stand for. */
  teamNumbers: Map<string, number>;
  serviceNumbers: Map<string, number>;
  teamIds: string[];
  serviceIds: string[];
  teamOf: Int32Array;
  serviceOf: Int32Array;
  /** Staff (case-holders, past auditors, auditors) as numbers; `holderOf[place]` is the child's case-holder (-1: none). */
  people: string[];
  personNumbers: Map<string, number>;
  holderOf: Int32Array;
  /** The child's past auditors: `pastAuditors` from `pastFrom[place]` up to `pastFrom[place + 1]`. */
  pastFrom: Int32Array;
  pastAuditors: Int32Array;
  /** The legal statuses present, sorted; `statusOf[place]` is the child's in that list. */
  statuses: LegalStatus[];
  statusOf: Uint8Array;
  auditors: PoolAuditor[];
  auditorsByTeam: Map<string, PoolAuditor[]>;
  teams: PoolSnapshot['teams'];
  services: PoolSnapshot['services'];
  serviceOfTeam: Map<string, string>;
  /** Per set of child rules: the first child rule that leaves each child out (a CHILD_RULES place; 0: none). */
  childRules: Map<string, Uint8Array>;
  /** Open cases in a unit's reach on the snapshot's day, per reach. */
  openCases: Map<number[], number>;
};

/** The child-only rules as `PoolIndex.childRules` numbers them, and all of a unit's rules as drawUnit does. */
const CHILD_RULES: readonly (ExclusionRule | null)[] = [null, 'open_to_team', 'legal_status', 'audited_recently', 'open_audit'];
const UNIT_RULES: readonly (ExclusionRule | null)[] = [...CHILD_RULES, 'chosen_in_round', 'auditor_is_case_holder', 'previous_auditor', 'no_auditor'];

/**
 * The first child rule that leaves each child out under a row's rules, worked out once for all
 * rows with the same child rules (in a round they mostly share them) rather than once per unit.
 */
function childRulesOf(index: PoolIndex, rules: SamplingRules, bounds: Bounds): Uint8Array {
  const key = JSON.stringify([rules.openWithinWeeks, rules.legalStatuses, rules.excludeAuditedWithinMonths, rules.excludeOpenAudit, bounds.asOf]);
  let codes = index.childRules.get(key);
  if (!codes) {
    codes = new Uint8Array(index.children.length);
    for (let place = 0; place < codes.length; place++) codes[place] = CHILD_RULES.indexOf(childExclusionWithin(index.children[place]!, rules, bounds));
    index.childRules.set(key, codes);
  }
  return codes;
}

/** A list already in id order (the pool is read in id order) is kept as it is rather than sorted again. */
function sortedById<T extends { id: string }>(items: readonly T[]): T[] {
  for (let i = 1; i < items.length; i++) if (items[i - 1]!.id > items[i]!.id) return [...items].sort(byId);
  return [...items];
}

/** Numbers ids in the order they are first met: the same id always gets the same number. */
function numbering() {
  const numbers = new Map<string, number>();
  const values: string[] = [];
  const numberOf = (id: string | null) => {
    if (id === null) return -1;
    let n = numbers.get(id);
    if (n === undefined) numbers.set(id, (n = values.push(id) - 1));
    return n;
  };
  return { numbers, values, numberOf };
}

function indexOf(snapshot: PoolSnapshot): PoolIndex {
  const children = sortedById(snapshot.children);
  const count = children.length;
  const statuses = [...new Set(children.map((child) => child.legalStatus))].sort();
  const statusNumbers = new Map(statuses.map((status, n) => [status, n]));
  const teams = numbering();
  const services = numbering();
  const people = numbering();
  const index = {
    ids: new Array<string>(count), teamOf: new Int32Array(count), serviceOf: new Int32Array(count), holderOf: new Int32Array(count),
    pastFrom: new Int32Array(count + 1), statusOf: new Uint8Array(count),
    byTeam: new Map<string, number[]>(), byService: new Map<string, number[]>(),
  };
  const pastAuditors: number[] = [];
  for (let place = 0; place < count; place++) {
    const child = children[place]!;
    index.ids[place] = child.id;
    index.teamOf[place] = teams.numberOf(child.teamId);
    index.serviceOf[place] = services.numberOf(child.serviceId);
    index.holderOf[place] = people.numberOf(child.caseHolderId);
    index.statusOf[place] = statusNumbers.get(child.legalStatus)!;
    for (const id of child.pastAuditorIds) pastAuditors.push(people.numberOf(id));
    index.pastFrom[place + 1] = pastAuditors.length;
    if (child.teamId !== null) (index.byTeam.get(child.teamId) ?? index.byTeam.set(child.teamId, []).get(child.teamId)!).push(place);
    if (child.serviceId !== null) (index.byService.get(child.serviceId) ?? index.byService.set(child.serviceId, []).get(child.serviceId)!).push(place);
  }
  const auditors = sortedById(snapshot.auditors);
  const auditorsByTeam = new Map<string, PoolAuditor[]>();
  for (const auditor of auditors) {
    if (auditor.teamId !== null) (auditorsByTeam.get(auditor.teamId) ?? auditorsByTeam.set(auditor.teamId, []).get(auditor.teamId)!).push(auditor);
    teams.numberOf(auditor.teamId);
    services.numberOf(auditor.serviceId);
    people.numberOf(auditor.id);
  }
  return {
    ...index,
    children,
    all: children.map((_, place) => place),
    teamNumbers: teams.numbers,
    serviceNumbers: services.numbers,
    teamIds: teams.values,
    serviceIds: services.values,
    people: people.values,
    personNumbers: people.numbers,
    pastAuditors: Int32Array.from(pastAuditors),
    statuses,
    auditors,
    auditorsByTeam,
    teams: sortedById(snapshot.teams),
    services: sortedById(snapshot.services),
    serviceOfTeam: new Map(snapshot.teams.map((team) => [team.id, team.serviceId])),
    childRules: new Map(),
    openCases: new Map(),
  };
}

const indexes = new WeakMap<PoolSnapshot, PoolIndex>();
function poolIndex(snapshot: PoolSnapshot): PoolIndex {
  return indexes.get(snapshot) ?? indexes.set(snapshot, indexOf(snapshot)).get(snapshot)!;
}

/**
 * The pool's children as numbers, the way the index keeps them, for a round to store: the ids
 * that repeat (teams, services, staff, legal statuses) once each, and per child, in id order,
 * its values column by column — the numbers (into those lists; -1: none) as the index's own
 * arrays. `unpackChildren` gives back the children exactly.
 */
export type PackedChildren = {
  teams: string[];
  services: string[];
  people: string[];
  statuses: LegalStatus[];
  ids: string[];
  externalIds: string[];
  initials: string[];
  openDates: (IsoDate | null)[];
  closeDates: (IsoDate | null)[];
  lastAuditedOn: (IsoDate | null)[];
  numbers: PackedNumbers;
};

/** The numeric columns, in the order they are stored. */
export const PACKED_NUMBERS = ['status', 'team', 'service', 'caseHolder', 'openAudit', 'pastFrom', 'pastAuditors'] as const;
/** A child's past auditors are `pastAuditors` from `pastFrom[place]` up to `pastFrom[place + 1]`. */
export type PackedNumbers = Record<(typeof PACKED_NUMBERS)[number], Int32Array>;

export function packChildren(snapshot: PoolSnapshot): PackedChildren {
  const index = poolIndex(snapshot);
  const packed: PackedChildren = {
    teams: index.teamIds, services: index.serviceIds, people: index.people, statuses: index.statuses, ids: index.ids,
    externalIds: [], initials: [], openDates: [], closeDates: [], lastAuditedOn: [],
    numbers: {
      status: Int32Array.from(index.statusOf), team: index.teamOf, service: index.serviceOf, caseHolder: index.holderOf,
      openAudit: new Int32Array(index.children.length), pastFrom: index.pastFrom, pastAuditors: index.pastAuditors,
    },
  };
  // One pass over the children for what the index does not keep as numbers.
  for (const [place, child] of index.children.entries()) {
    packed.externalIds.push(child.externalId);
    packed.initials.push(child.initials);
    packed.openDates.push(child.openDate);
    packed.closeDates.push(child.closeDate);
    packed.lastAuditedOn.push(child.lastAuditedOn);
    if (child.hasOpenAudit) packed.numbers.openAudit[place] = 1;
  }
  return packed;
}

export function unpackChildren(packed: PackedChildren): PoolChild[] {
  const valueOf = (values: string[], n: number) => (n < 0 ? null : values[n]!);
  const { status, team, service, caseHolder, openAudit, pastFrom, pastAuditors } = packed.numbers;
  return packed.ids.map((id, place) => ({
    id,
    externalId: packed.externalIds[place]!,
    initials: packed.initials[place]!,
    legalStatus: packed.statuses[status[place]!]!,
    teamId: valueOf(packed.teams, team[place]!),
    serviceId: valueOf(packed.services, service[place]!),
    caseHolderId: valueOf(packed.people, caseHolder[place]!),
    openDate: packed.openDates[place]!,
    closeDate: packed.closeDates[place]!,
    lastAuditedOn: packed.lastAuditedOn[place]!,
    hasOpenAudit: openAudit[place] === 1,
    pastAuditorIds: Array.from(pastAuditors.subarray(pastFrom[place]!, pastFrom[place + 1]!), (n) => packed.people[n]!),
  }));
}

/** Did the person (a number) audit the child (a place) before. */
function auditedBefore(index: PoolIndex, place: number, person: number): boolean {
  for (let at = index.pastFrom[place]!; at < index.pastFrom[place + 1]!; at++) if (index.pastAuditors[at] === person) return true;
  return false;
}

/** One unit of a row, with the children in its reach as places in the index, in id order. */
type Unit = { kind: UnitKind; id: string; scope: number[]; auditor?: PoolAuditor };

/** The units a row counts by, each with the children in its reach. */
function unitsOf(row: DrawRow, index: PoolIndex, drawVersion: DrawVersion): Unit[] {
  const inRowService = row.serviceId === null ? index.all : index.byService.get(row.serviceId) ?? [];
  if (row.per === 'auditor') {
    // Auditors from outside the child's service share their reach with the others of their service.
    const reachOf = new Map<string | null | undefined, number[]>();
    const reach = (auditor: PoolAuditor) => {
      const key = row.rules.auditorFrom === 'outside_service' ? auditor.serviceId : undefined;
      let scope = reachOf.get(key);
      if (!scope) {
        // An auditor with no service is outside no child's service (auditorExclusion refuses
        // them every child). Draw 1 gave them every child unchecked; it stays for its rounds.
        const outsideNoService = key === null && drawVersion >= 2;
        scope = key === undefined ? inRowService : outsideNoService ? [] : inRowService.filter((place) => index.children[place]!.serviceId !== auditor.serviceId);
        reachOf.set(key, scope);
      }
      return scope;
    };
    return index.auditors
      .filter((auditor) => holdsRowRole(auditor, row))
      .filter((auditor) => row.serviceId === null || (auditor.teamId !== null && index.serviceOfTeam.get(auditor.teamId) === row.serviceId))
      .map((auditor) => ({
        kind: 'auditor' as const,
        id: auditor.id,
        auditor,
        scope: row.rules.auditorFrom === 'own_team' ? (auditor.teamId === null ? [] : index.byTeam.get(auditor.teamId) ?? []) : reach(auditor),
      }));
  }
  if (row.per === 'team') {
    return index.teams
      .filter((team) => row.serviceId === null || team.serviceId === row.serviceId)
      .map((team) => ({ kind: 'team' as const, id: team.id, scope: index.byTeam.get(team.id) ?? [] }));
  }
  return index.services
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

/** Auditors the auditor rule could allow for a child, before the case-holder and past auditors are checked; with their numbers. */
type Candidates = { auditors: PoolAuditor[]; people: Int32Array };

/** What a row's draw works out once: its child rules for every child, and the candidate auditors for each team or service. */
type RowContext = { row: DrawRow; index: PoolIndex; childRules: Uint8Array; candidatesAt: (place: number) => Candidates };

function rowContext(row: DrawRow, index: PoolIndex, asOf: IsoDate): RowContext {
  const withRole = (list: PoolAuditor[]): Candidates => {
    const auditors = list.filter((auditor) => holdsRowRole(auditor, row));
    return { auditors, people: Int32Array.from(auditors, (auditor) => index.personNumbers.get(auditor.id)!) };
  };
  const from = row.rules.auditorFrom;
  // By the child's team (own team) or service (from outside it), or one list for all (any): numbers, -1 for none.
  const keyOf = from === 'own_team' ? index.teamOf : from === 'outside_service' ? index.serviceOf : null;
  const cache = new Map<number, Candidates>();
  const candidatesAt = (place: number) => {
    const key = keyOf ? keyOf[place]! : 0;
    let candidates = cache.get(key);
    if (!candidates) {
      const child = index.children[place]!;
      candidates = from === 'own_team' ? withRole(child.teamId ? index.auditorsByTeam.get(child.teamId) ?? [] : [])
        : from === 'outside_service' ? withRole(index.auditors.filter((auditor) => auditor.serviceId !== null && auditor.serviceId !== child.serviceId))
          : withRole(index.auditors);
      cache.set(key, candidates);
    }
    return candidates;
  };
  return { row, index, childRules: childRulesOf(index, row.rules, boundsOf(row.rules, asOf)), candidatesAt };
}

/** May one of the candidates (numbers) audit the child (a place): neither the case-holder nor someone who audited the child before. */
function anyAllowed(index: PoolIndex, place: number, people: Int32Array): boolean {
  for (const person of people) if (person !== index.holderOf[place] && !auditedBefore(index, place, person)) return true;
  return false;
}

const allowedOf = (child: PoolChild, candidates: PoolAuditor[]) => candidates.filter((auditor) => auditor.id !== child.caseHolderId && !child.pastAuditorIds.includes(auditor.id));

/**
 * For a unit that is an auditor: the rule that leaves a child out because of that auditor —
 * the case-holder or a past auditor — as auditorExclusion decides it, on numbers. As there,
 * the place rule (own team, outside the service) is decided first, and a child it would refuse
 * is not left out (the unit's reach already keeps to it).
 */
function unitAuditorRule(index: PoolIndex, row: DrawRow, auditor: PoolAuditor): (place: number) => ExclusionRule | null {
  if (!holdsRowRole(auditor, row)) return () => null;
  const team = auditor.teamId === null ? -1 : index.teamNumbers.get(auditor.teamId)!;
  const service = auditor.serviceId === null ? -1 : index.serviceNumbers.get(auditor.serviceId)!;
  const person = index.personNumbers.get(auditor.id)!;
  const from = row.rules.auditorFrom;
  return (place) => {
    if (from === 'own_team' && (team < 0 || team !== index.teamOf[place])) return null;
    if (from === 'outside_service' && (service < 0 || service === index.serviceOf[place])) return null;
    if (person === index.holderOf[place]) return 'auditor_is_case_holder';
    if (auditedBefore(index, place, person)) return 'previous_auditor';
    return null;
  };
}

/**
 * Working space a round's draw reuses from unit to unit, so that a unit allocates little more
 * than the lists it returns: by place, the children chosen in the round so far (the same as
 * `state.chosen`, without a lookup by id); a unit's eligible children; the order and the
 * children taken of CandidateGroups; and its group of each status and case-holder.
 */
type RoundScratch = { taken: Uint8Array; eligible: Int32Array; order: Int32Array; drawn: Uint8Array; groupOf: Int32Array };

function roundScratch(index: PoolIndex): RoundScratch {
  const count = index.children.length;
  return {
    taken: new Uint8Array(count),
    eligible: new Int32Array(count),
    order: new Int32Array(count),
    drawn: new Uint8Array(count),
    groupOf: new Int32Array((index.people.length + 1) * index.statuses.length).fill(-1),
  };
}

/**
 * Draws one unit: applies the exclusions, then picks `expected` children one by one —
 * only among children whose case-holder is not yet in the round while there are any
 * (vary case-holders), from the legal status chosen least so far among those present, the
 * status and then the child drawn uniformly (stratify legal status).
 */
function drawUnit(unit: Unit, context: RowContext, expected: number, state: RoundState, round: RoundScratch, rng: RandomGenerator): UnitResult {
  const { row, index, childRules } = context;
  const { children, ids } = index;
  const { taken, eligible } = round;
  const { scope } = unit;
  const auditorExclusions: Partial<Record<AuditorRule, string[]>> = {};
  // Each child's verdict (0: eligible, else its rule in UNIT_RULES), how many each has, and the rules in the order first met.
  const verdicts = new Uint8Array(scope.length);
  const counts = new Array<number>(UNIT_RULES.length).fill(0);
  const rulesMet: number[] = [];
  let eligibleCount = 0;
  const auditorRule = unit.auditor ? unitAuditorRule(index, row, unit.auditor) : null;
  for (let at = 0; at < scope.length; at++) {
    const place = scope[at]!;
    let rule = CHILD_RULES[childRules[place]!] ?? (taken[place] ? 'chosen_in_round' : null);
    if (rule === null && auditorRule) rule = auditorRule(place);
    else if (rule === null) {
      const candidates = context.candidatesAt(place);
      // More candidates than the case-holder and past auditors together: someone is left, chosen when the child is.
      if (candidates.people.length <= 1 + index.pastFrom[place + 1]! - index.pastFrom[place]! && !anyAllowed(index, place, candidates.people)) {
        // Nobody is left: say which rule left out whom, over everyone who may audit.
        rule = 'no_auditor';
        const { excluded: byRule } = auditorsFor(children[place]!, row, index.auditors);
        for (const [auditorRule, ids] of Object.entries(byRule) as [AuditorRule, string[]][]) {
          const list = (auditorExclusions[auditorRule] ??= []);
          for (const id of ids) if (!list.includes(id)) list.push(id);
        }
      }
    }
    if (rule !== null) {
      const verdict = UNIT_RULES.indexOf(rule);
      verdicts[at] = verdict;
      if (counts[verdict]!++ === 0) rulesMet.push(verdict);
      continue;
    }
    eligible[eligibleCount++] = place;
  }
  // The lists of ids, from the verdicts, when first read.
  const listed = (verdict: number) => {
    const list: string[] = [];
    for (let at = 0; at < scope.length; at++) if (verdicts[at] === verdict) list.push(ids[scope[at]!]!);
    return list;
  };
  let eligibleIds: string[] | undefined;
  let excluded: Partial<Record<ExclusionRule, string[]>> | undefined;
  const picks: Choice[] = [];
  const draw = expected > 0 ? new CandidateGroups(eligible.subarray(0, eligibleCount), index, round) : null;
  const statusCounts = new Map<LegalStatus, number>();
  while (draw && picks.length < expected) {
    const place = draw.choose(row.rules, state, statusCounts, rng);
    if (place < 0) break;
    const child = children[place]!;
    const auditor = unit.auditor ?? chooseAuditor(allowedOf(child, context.candidatesAt(place).auditors), state, rng);
    const caseHolderRepeated = child.caseHolderId !== null && state.caseHolders.has(child.caseHolderId);
    picks.push({ childId: child.id, auditorId: auditor.id, caseHolderRepeated });
    state.chosen.add(child.id);
    round.taken[place] = 1;
    if (child.caseHolderId) state.caseHolders.add(child.caseHolderId);
    state.auditorLoad.set(auditor.id, (state.auditorLoad.get(auditor.id) ?? 0) + 1);
    statusCounts.set(child.legalStatus, (statusCounts.get(child.legalStatus) ?? 0) + 1);
  }
  return {
    key: `${row.id}:${unit.kind}:${unit.id}`,
    kind: unit.kind,
    unitId: unit.id,
    expected,
    scopeSize: scope.length,
    eligibleCount,
    get eligibleIds() {
      return (eligibleIds ??= listed(0));
    },
    excludedCounts: Object.fromEntries(rulesMet.map((verdict) => [UNIT_RULES[verdict], counts[verdict]])),
    get excluded() {
      return (excluded ??= Object.fromEntries(rulesMet.map((verdict) => [UNIT_RULES[verdict], listed(verdict)])));
    },
    auditorExclusions,
    picks,
    shortfall: expected - picks.length,
  };
}

/**
 * A unit's candidates grouped by legal status and case-holder, so that drawing many children
 * from a large unit (a percentage of a service's open cases) costs a pass over the groups per
 * child rather than over the children. The choice is chooseChild's: among children whose
 * case-holder is not yet in the round while there are any, from a status chosen least so far
 * among those present, uniformly; and the generator is asked the same questions in the same
 * order as it always has been, so a round stored earlier replays to the same proposal.
 *
 * The children a draw counts through are, in order: the statuses in sorted order; within a
 * status, its case-holders in the order their first child appears (id order); within a
 * case-holder, their children in id order. They sit in that order in `order`, each group a
 * stretch of it; a child drawn is marked in `drawn` and the group's count goes down.
 */
class CandidateGroups {
  /** In order of status, then of first appearance: the case-holder (-1: none), the stretch of `order`, and how many are left. */
  private readonly groups: { status: number; holder: number; start: number; end: number; left: number }[] = [];
  private readonly index: PoolIndex;
  private readonly order: Int32Array;
  private readonly drawn: Uint8Array;

  constructor(eligible: Int32Array, index: PoolIndex, round: RoundScratch) {
    this.index = index;
    this.order = round.order;
    this.drawn = round.drawn;
    const statusCount = index.statuses.length;
    const { groupOf } = round;
    // Each status and case-holder's group, in the order its first child comes, and its size.
    const met: { key: number; status: number; holder: number; start: number; end: number; left: number }[] = [];
    for (const place of eligible) {
      const key = (index.holderOf[place]! + 1) * statusCount + index.statusOf[place]!;
      let group = groupOf[key]!;
      if (group < 0) {
        groupOf[key] = group = met.length;
        met.push({ key, status: index.statusOf[place]!, holder: index.holderOf[place]!, start: 0, end: 0, left: 0 });
      }
      met[group]!.left++;
    }
    // Statuses in order, each status's groups as they were met (the sort is stable), and each group's stretch.
    let start = 0;
    for (const group of [...met].sort((a, b) => a.status - b.status)) {
      group.start = group.end = start;
      start += group.left;
      this.groups.push(group);
    }
    for (const place of eligible) {
      const group = met[groupOf[(index.holderOf[place]! + 1) * statusCount + index.statusOf[place]!]!]!;
      this.order[group.end++] = place;
    }
    for (const group of met) groupOf[group.key] = -1;
    this.drawn.fill(0, 0, start);
  }

  /** The place of the child chosen, or -1 when none is left. */
  choose(rules: SamplingRules, state: RoundState, statusCounts: Map<LegalStatus, number>, rng: RandomGenerator): number {
    const { people, statuses } = this.index;
    const fresh = (holder: number) => holder < 0 || !state.caseHolders.has(people[holder]!);
    // One pass over the groups: each status's children left, and those whose case-holder is not yet in the round.
    const left = new Array<number>(statuses.length).fill(0);
    const freshLeft = new Array<number>(statuses.length).fill(0);
    let anyFresh = false;
    for (const group of this.groups) {
      if (!group.left) continue;
      left[group.status]! += group.left;
      if (fresh(group.holder)) {
        freshLeft[group.status]! += group.left;
        anyFresh = true;
      }
    }
    const freshOnly = rules.varyCaseHolders && anyFresh;
    const count = freshOnly ? freshLeft : left;
    let chosenStatuses = statuses.map((_, status) => status).filter((status) => count[status]! > 0);
    if (!chosenStatuses.length) return -1;
    if (rules.stratifyLegalStatus) {
      const least = Math.min(...chosenStatuses.map((status) => statusCounts.get(statuses[status]!) ?? 0));
      const tied = chosenStatuses.filter((status) => (statusCounts.get(statuses[status]!) ?? 0) === least);
      chosenStatuses = [tied[pickIndex(rng, tied.length)]!];
    }
    let index = pickIndex(rng, chosenStatuses.reduce((sum, status) => sum + count[status]!, 0));
    for (const group of this.groups) {
      if (!chosenStatuses.includes(group.status) || !group.left || (freshOnly && !fresh(group.holder))) continue;
      if (index < group.left) return this.take(group, index);
      index -= group.left;
    }
    return -1;
  }

  /** The group's index-th child not yet drawn, now drawn. */
  private take(group: CandidateGroups['groups'][number], index: number): number {
    let at = group.start;
    for (let skip = index; ; at++) if (!this.drawn[at] && skip-- === 0) break;
    this.drawn[at] = 1;
    group.left--;
    return this.order[at]!;
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
function openCasesIn(unit: Unit, index: PoolIndex, asOf: IsoDate): number {
  let open = index.openCases.get(unit.scope);
  if (open === undefined) {
    open = 0;
    for (const place of unit.scope) {
      const child = index.children[place]!;
      if (child.closeDate === null && (child.openDate === null || child.openDate <= asOf)) open++;
    }
    index.openCases.set(unit.scope, open);
  }
  return open;
}

/**
 * The versions of the draw. A round stores the version it was proposed with and is replayed
 * with it, so a round keeps its children when the draw is corrected. 1: the first draw. 2: in a
 * per-auditor row whose auditor must come from outside the child's service, an auditor with no
 * service has no children in reach (1 gave them every child, unchecked for case-holder and
 * previous auditor).
 */
export const DRAW_VERSIONS = [1, 2] as const;
export type DrawVersion = (typeof DRAW_VERSIONS)[number];
/** The version new rounds are proposed with. */
export const DRAW_VERSION: DrawVersion = 2;

/**
 * The proposal of a round: for each row, each unit's expected audits drawn from its eligible
 * children with the seeded generator. A unit with fewer eligible children than expected
 * proposes what it can and names the shortfall.
 */
export function proposeRound(input: { snapshot: PoolSnapshot; rows: DrawRow[]; seed: number; months: number; drawVersion?: DrawVersion }): Proposal {
  const drawVersion = input.drawVersion ?? DRAW_VERSION;
  const rng = generator(input.seed);
  const state = emptyRoundState();
  const index = poolIndex(input.snapshot);
  const round = roundScratch(index);
  const rows = [...input.rows].sort((a, b) => a.position - b.position).map((row): RowResult => {
    const context = rowContext(row, index, input.snapshot.asOf);
    const units = unitsOf(row, index, drawVersion).map((unit) => drawUnit(unit, context, expectedPerUnit(row, input.months, row.per === 'open_cases_percent' ? openCasesIn(unit, index, input.snapshot.asOf) : 0), state, round, rng));
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
export function replayRound(input: { snapshot: PoolSnapshot; rows: DrawRow[]; seed: number; months: number; drawVersion: DrawVersion; replacements: Replacement[] }): Proposal {
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

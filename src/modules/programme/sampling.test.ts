import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LegalStatus, Role } from '../../db/types.ts';
import { addCalendarMonths, addDays } from '../../platform/working-days.ts';
import {
  allPicks,
  applyReplacement,
  auditorExclusion,
  childExclusion,
  DRAW_VERSION,
  proposeRound,
  replayRound,
  type DrawRow,
  type PoolAuditor,
  type PoolChild,
  type PoolSnapshot,
} from './sampling.ts';
import { DEFAULT_SAMPLING_RULES, type SamplingRules } from './schedule.ts';

const AS_OF = '2026-12-01';
const STATUSES: LegalStatus[] = ['early_help', 'cin', 'cp', 'plo', 'child_in_care', 'care_leaver'];
const id = (prefix: string, n: number) => `${prefix}-${String(n).padStart(4, '0')}`;

function child(n: number, values: Partial<PoolChild> = {}): PoolChild {
  return {
    id: id('child', n), externalId: `C${n}`, initials: 'AB', legalStatus: 'cin', teamId: 'team-1', serviceId: 'service-1', caseHolderId: null,
    openDate: '2025-01-01', closeDate: null, lastAuditedOn: null, hasOpenAudit: false, pastAuditorIds: [], ...values,
  };
}

function row(values: Partial<DrawRow> = {}, rules: Partial<SamplingRules> = {}): DrawRow {
  return { id: 'row-1', position: 0, label: 'Case file audit', serviceId: null, quantity: 1, per: 'team', periodMonths: 1, auditorRoles: [], rules: { ...DEFAULT_SAMPLING_RULES, ...rules }, ...values };
}

const TEAMS = [{ id: 'team-1', name: 'Team 1', serviceId: 'service-1' }, { id: 'team-2', name: 'Team 2', serviceId: 'service-1' }, { id: 'team-3', name: 'Team 3', serviceId: 'service-2' }];
const SERVICES = [{ id: 'service-1', name: 'Service 1' }, { id: 'service-2', name: 'Service 2' }];

/** A generated register: children, auditors and case-holders spread over three teams in two services; an auditor of team -1 is in no team or service (a QA officer, say). */
const snapshotArbitrary = fc.record({
  auditors: fc.array(fc.record({ team: fc.integer({ min: -1, max: 2 }), roles: fc.subarray<Role>(['auditor', 'moderator', 'qa_lead'], { minLength: 1 }) }), { maxLength: 6 }),
  children: fc.array(fc.record({
    team: fc.integer({ min: 0, max: 2 }),
    status: fc.constantFrom(...STATUSES),
    caseHolder: fc.integer({ min: -1, max: 7 }),
    closedDaysAgo: fc.option(fc.integer({ min: 0, max: 120 })),
    auditedMonthsAgo: fc.option(fc.integer({ min: 0, max: 30 })),
    openAudit: fc.boolean(),
    pastAuditors: fc.subarray([0, 1, 2, 3, 4, 5]),
  }), { maxLength: 40 }),
}).map(({ auditors, children }): PoolSnapshot => {
  const staff: PoolAuditor[] = auditors.map((auditor, n) => ({ id: id('staff', n), name: `Staff ${n}`, teamId: TEAMS[auditor.team]?.id ?? null, serviceId: TEAMS[auditor.team]?.serviceId ?? null, roles: auditor.roles }));
  return {
    asOf: AS_OF,
    auditors: staff,
    teams: TEAMS,
    services: SERVICES,
    children: children.map((generated, n) => child(n, {
      teamId: TEAMS[generated.team]!.id,
      serviceId: TEAMS[generated.team]!.serviceId,
      legalStatus: generated.status,
      // Case-holders are staff 0–7: some of them auditors, some not.
      caseHolderId: generated.caseHolder < 0 ? null : id('staff', generated.caseHolder),
      closeDate: generated.closedDaysAgo === null ? null : addDays(AS_OF, -generated.closedDaysAgo),
      lastAuditedOn: generated.auditedMonthsAgo === null ? null : addCalendarMonths(AS_OF, -generated.auditedMonthsAgo),
      hasOpenAudit: generated.openAudit,
      pastAuditorIds: generated.pastAuditors.filter((index) => index < staff.length).map((index) => id('staff', index)),
    })),
  };
});

const rulesArbitrary: fc.Arbitrary<SamplingRules> = fc.record({
  openWithinWeeks: fc.integer({ min: 1, max: 12 }),
  legalStatuses: fc.subarray(STATUSES),
  excludeAuditedWithinMonths: fc.integer({ min: 0, max: 24 }),
  excludeOpenAudit: fc.boolean(),
  varyCaseHolders: fc.boolean(),
  stratifyLegalStatus: fc.boolean(),
  auditorFrom: fc.constantFrom('own_team' as const, 'outside_service' as const, 'any' as const),
});

const rowsArbitrary = fc.array(fc.record({
  per: fc.constantFrom('auditor' as const, 'team' as const, 'service' as const, 'open_cases_percent' as const),
  quantity: fc.integer({ min: 1, max: 6 }),
  periodMonths: fc.constantFrom(1, 2, 3, 12),
  service: fc.option(fc.constantFrom('service-1', 'service-2')),
  roles: fc.subarray<Role>(['auditor', 'moderator']),
  rules: rulesArbitrary,
}), { minLength: 1, maxLength: 3 }).map((rows) => rows.map((generated, n): DrawRow => row({
  id: id('row', n), position: n, per: generated.per, quantity: generated.per === 'open_cases_percent' ? generated.quantity * 10 : generated.quantity,
  periodMonths: generated.periodMonths, serviceId: generated.service, auditorRoles: generated.roles, rules: generated.rules,
})));

describe('sampling rules: properties over generated registers', () => {
  it('no rule is ever broken: every proposed child is eligible, chosen once, and has an auditor the rules allow', () => {
    fc.assert(fc.property(snapshotArbitrary, rowsArbitrary, fc.integer(), (snapshot, rows, seed) => {
      const proposal = proposeRound({ snapshot, rows, seed, months: 1 });
      const children = new Map(snapshot.children.map((c) => [c.id, c]));
      const auditors = new Map(snapshot.auditors.map((a) => [a.id, a]));
      const picks = allPicks(proposal);
      expect(new Set(picks.map((pick) => pick.childId)).size).toBe(picks.length);
      for (const pick of picks) {
        const drawRow = rows.find((candidate) => candidate.id === pick.rowId)!;
        const pickedChild = children.get(pick.childId)!;
        expect(childExclusion(pickedChild, drawRow.rules, AS_OF)).toBeNull();
        // The auditor is never the case-holder, never audited the child before, and comes from where the row says.
        expect(auditorExclusion(auditors.get(pick.auditorId)!, pickedChild, drawRow)).toBeNull();
      }
      for (const rowResult of proposal.rows) for (const unit of rowResult.units) {
        expect(unit.picks.length).toBeLessThanOrEqual(unit.expected);
        expect(unit.shortfall).toBe(unit.expected - unit.picks.length);
        // A shortfall only when every eligible child was proposed.
        if (unit.shortfall > 0) expect(unit.picks.length).toBe(unit.eligibleIds.length);
        // Every child in reach is either eligible or excluded by exactly one named rule.
        const excludedCount = Object.values(unit.excluded).reduce((sum, ids) => sum + ids.length, 0);
        expect(excludedCount + unit.eligibleIds.length).toBe(unit.scopeSize);
      }
    }), { numRuns: 300, seed: 14 });
  });

  it('varies case-holders: a case-holder comes twice in a round only when no child with another case-holder was eligible', () => {
    fc.assert(fc.property(snapshotArbitrary, rowsArbitrary, fc.integer(), (snapshot, generatedRows, seed) => {
      const rows = generatedRows.map((r) => ({ ...r, rules: { ...r.rules, varyCaseHolders: true } }));
      const proposal = proposeRound({ snapshot, rows, seed, months: 1 });
      const children = new Map(snapshot.children.map((c) => [c.id, c]));
      const chosen = new Set<string>();
      const caseHolders = new Set<string>();
      for (const rowResult of proposal.rows) for (const unit of rowResult.units) for (const pick of unit.picks) {
        const holder = children.get(pick.childId)!.caseHolderId;
        if (holder && caseHolders.has(holder)) {
          const fresh = unit.eligibleIds.filter((candidate) => !chosen.has(candidate)).map((candidate) => children.get(candidate)!)
            .filter((candidate) => candidate.caseHolderId === null || !caseHolders.has(candidate.caseHolderId));
          expect(fresh).toEqual([]);
          expect(pick.caseHolderRepeated).toBe(true);
        }
        chosen.add(pick.childId);
        if (holder) caseHolders.add(holder);
      }
    }), { numRuns: 300, seed: 15 });
  });

  it('stratifies legal status: each pick comes from a status chosen least so far among those still eligible', () => {
    fc.assert(fc.property(snapshotArbitrary, rowsArbitrary, fc.integer(), (snapshot, generatedRows, seed) => {
      const rows = generatedRows.map((r) => ({ ...r, rules: { ...r.rules, varyCaseHolders: false, stratifyLegalStatus: true } }));
      const proposal = proposeRound({ snapshot, rows, seed, months: 1 });
      const children = new Map(snapshot.children.map((c) => [c.id, c]));
      for (const rowResult of proposal.rows) for (const unit of rowResult.units) {
        const counts = new Map<LegalStatus, number>();
        const taken = new Set<string>();
        for (const pick of unit.picks) {
          const status = children.get(pick.childId)!.legalStatus;
          const present = new Set(unit.eligibleIds.filter((candidate) => !taken.has(candidate)).map((candidate) => children.get(candidate)!.legalStatus));
          for (const other of present) expect(counts.get(status) ?? 0).toBeLessThanOrEqual(counts.get(other) ?? 0);
          counts.set(status, (counts.get(status) ?? 0) + 1);
          taken.add(pick.childId);
        }
      }
    }), { numRuns: 300, seed: 16 });
  });

  it('the same seed and register give the same proposal, whatever order the register was read in', () => {
    fc.assert(fc.property(snapshotArbitrary, rowsArbitrary, fc.integer(), (snapshot, rows, seed) => {
      const first = proposeRound({ snapshot, rows, seed, months: 1 });
      const shuffled = { ...snapshot, children: [...snapshot.children].reverse(), auditors: [...snapshot.auditors].reverse() };
      expect(proposeRound({ snapshot: shuffled, rows: [...rows].reverse(), seed, months: 1 })).toEqual(first);
    }), { numRuns: 200, seed: 17 });
  });

  it('a replacement is drawn by the same rules, never a child already in the round, and replays to the same proposal', () => {
    fc.assert(fc.property(snapshotArbitrary, rowsArbitrary, fc.integer(), fc.integer(), (snapshot, rows, seed, drawSeed) => {
      const proposal = proposeRound({ snapshot, rows, seed, months: 1 });
      const picks = allPicks(proposal);
      fc.pre(picks.length > 0);
      const target = picks[0]!;
      const replacement = { kind: 'child' as const, unitKey: target.unitKey, childId: target.childId, reason: 'Subject to care proceedings', handPickedChildId: null, drawSeed };
      const outcome = applyReplacement(proposal, snapshot, rows, replacement, new Set());
      if (!outcome.ok) return;
      const drawRow = rows.find((candidate) => candidate.id === target.rowId)!;
      const newChild = snapshot.children.find((c) => c.id === outcome.pick.childId)!;
      expect(newChild.id).not.toBe(target.childId);
      expect(picks.map((pick) => pick.childId)).not.toContain(newChild.id);
      expect(childExclusion(newChild, drawRow.rules, AS_OF)).toBeNull();
      expect(auditorExclusion(snapshot.auditors.find((a) => a.id === outcome.pick.auditorId)!, newChild, drawRow)).toBeNull();
      expect(replayRound({ snapshot, rows, seed, months: 1, drawVersion: DRAW_VERSION, replacements: [replacement] })).toEqual(outcome.proposal);
    }), { numRuns: 200, seed: 18 });
  });
});

describe('sampling rules: examples', () => {
  const auditor = (n: number, team = 'team-1', service = 'service-1'): PoolAuditor => ({ id: id('staff', n), name: `Staff ${n}`, teamId: team, serviceId: service, roles: ['auditor'] });
  const snapshot = (children: PoolChild[], auditors: PoolAuditor[] = [auditor(1)]): PoolSnapshot => ({ asOf: AS_OF, children, auditors, teams: TEAMS, services: SERVICES });

  it('counts a child open now or closed within the window as open to the team, and one closed before it as not', () => {
    const rules = row().rules; // 4 weeks
    expect(childExclusion(child(1), rules, AS_OF)).toBeNull();
    expect(childExclusion(child(2, { closeDate: addDays(AS_OF, -28) }), rules, AS_OF)).toBeNull();
    expect(childExclusion(child(3, { closeDate: addDays(AS_OF, -29) }), rules, AS_OF)).toBe('open_to_team');
    expect(childExclusion(child(4, { openDate: addDays(AS_OF, 1) }), rules, AS_OF)).toBe('open_to_team');
  });

  it('a row asking for more audits than there are eligible children proposes what it can and names the shortfall', () => {
    const children = [child(1), child(2), child(3, { hasOpenAudit: true })];
    const proposal = proposeRound({ snapshot: snapshot(children), rows: [row({ quantity: 5, serviceId: 'service-1' })], seed: 1, months: 1 });
    const team1 = proposal.rows[0]!.units.find((unit) => unit.unitId === 'team-1')!;
    expect(team1.picks.map((pick) => pick.childId).sort()).toEqual([id('child', 1), id('child', 2)]);
    expect(team1.shortfall).toBe(3);
    expect(team1.excluded.open_audit).toEqual([id('child', 3)]);
  });

  it('a rule set that leaves no auditor says which rule excluded whom', () => {
    // The only auditor of team 1 holds one case and audited the other child before.
    const children = [child(1, { caseHolderId: id('staff', 1) }), child(2, { pastAuditorIds: [id('staff', 1)] })];
    const proposal = proposeRound({ snapshot: snapshot(children, [auditor(1), auditor(2, 'team-3', 'service-2')]), rows: [row({ serviceId: 'service-1' })], seed: 1, months: 1 });
    const team1 = proposal.rows[0]!.units.find((unit) => unit.unitId === 'team-1')!;
    expect(team1.excluded.no_auditor?.sort()).toEqual([id('child', 1), id('child', 2)]);
    expect(team1.auditorExclusions).toEqual({ auditor_is_case_holder: [id('staff', 1)], previous_auditor: [id('staff', 1)], auditor_from: [id('staff', 2)] });
    expect(team1.shortfall).toBe(1);
  });

  it('Lambeth: the auditor comes from outside the child\'s service', () => {
    const proposal = proposeRound({ snapshot: snapshot([child(1)], [auditor(1), auditor(2, 'team-3', 'service-2')]), rows: [row({ per: 'service', serviceId: 'service-1' }, { auditorFrom: 'outside_service' })], seed: 3, months: 1 });
    expect(allPicks(proposal)).toEqual([expect.objectContaining({ childId: id('child', 1), auditorId: id('staff', 2) })]);
  });

  it('a row per auditor gives each manager a child open to their own team', () => {
    const children = [child(1), child(2, { teamId: 'team-2' }), child(3, { teamId: 'team-2' })];
    const proposal = proposeRound({ snapshot: snapshot(children, [auditor(1), auditor(2, 'team-2')]), rows: [row({ per: 'auditor', periodMonths: 2 })], seed: 9, months: 1 });
    const picks = allPicks(proposal);
    expect(picks.find((pick) => pick.auditorId === id('staff', 1))?.childId).toBe(id('child', 1));
    expect([id('child', 2), id('child', 3)]).toContain(picks.find((pick) => pick.auditorId === id('staff', 2))?.childId);
  });
});

/**
 * Fairness: over 6,000 rounds at the fixed seeds 0–5,999, how often each eligible child is
 * chosen is compared with the frequency the rules imply by Pearson's chi-square. The seeds are
 * fixed, so the test is exact and never flaky; the tolerance is the 0.1% critical value of the
 * chi-square distribution (a fair draw would exceed it once in a thousand seed sets).
 */
describe('sampling rules: every eligible child is chosen with the expected frequency', () => {
  const ROUNDS = 6000;
  /** Chi-square critical values at p = 0.001 for the degrees of freedom used here. */
  const CRITICAL_001: Record<number, number> = { 23: 49.73, 29: 58.3 };

  function chiSquare(counts: Map<string, number>, expected: Map<string, number>): number {
    let statistic = 0;
    for (const [key, e] of expected) statistic += ((counts.get(key) ?? 0) - e) ** 2 / e;
    return statistic;
  }

  function frequencies(register: PoolChild[], drawRow: DrawRow) {
    const counts = new Map<string, number>();
    for (let seed = 0; seed < ROUNDS; seed++) {
      const proposal = proposeRound({ snapshot: { asOf: AS_OF, children: register, auditors: [{ id: 'staff-a', name: 'A', teamId: 'team-1', serviceId: 'service-1', roles: ['auditor'] }], teams: TEAMS, services: SERVICES }, rows: [drawRow], seed, months: 1 });
      for (const pick of allPicks(proposal)) counts.set(pick.childId, (counts.get(pick.childId) ?? 0) + 1);
    }
    return counts;
  }

  // 30 eligible children (10 in need, 5 on a protection plan, 15 in care) and 6 left out by the rules.
  const register = [
    ...Array.from({ length: 10 }, (_, n) => child(n, { legalStatus: 'cin' })),
    ...Array.from({ length: 5 }, (_, n) => child(10 + n, { legalStatus: 'cp' })),
    ...Array.from({ length: 15 }, (_, n) => child(15 + n, { legalStatus: 'child_in_care' })),
    ...Array.from({ length: 6 }, (_, n) => child(30 + n, { hasOpenAudit: true })),
  ];
  const eligible = register.filter((c) => !c.hasOpenAudit);

  it('without stratification, uniformly: each of 30 eligible children in 1/30 of rounds, the others never', () => {
    const counts = frequencies(register, row({ serviceId: 'service-1' }, { stratifyLegalStatus: false }));
    const expected = new Map(eligible.map((c) => [c.id, ROUNDS / eligible.length]));
    expect(chiSquare(counts, expected)).toBeLessThan(CRITICAL_001[29]!);
    for (const c of register.filter((candidate) => candidate.hasOpenAudit)) expect(counts.get(c.id)).toBeUndefined();
  });

  it('stratified: each legal status in a third of rounds, each child uniformly within its status', () => {
    const counts = frequencies(register, row({ serviceId: 'service-1' }));
    const sizes = new Map<LegalStatus, number>([['cin', 10], ['cp', 5], ['child_in_care', 15]]);
    const expected = new Map(eligible.map((c) => [c.id, ROUNDS / 3 / sizes.get(c.legalStatus)!]));
    expect(chiSquare(counts, expected)).toBeLessThan(CRITICAL_001[29]!);
  });

  it('two per round without replacement: each child in 2/24 of rounds', () => {
    const small = Array.from({ length: 24 }, (_, n) => child(n));
    const counts = frequencies(small, row({ serviceId: 'service-1', quantity: 2 }, { stratifyLegalStatus: false }));
    const expected = new Map(small.map((c) => [c.id, (ROUNDS * 2) / 24]));
    // 24 cells whose counts sum to a fixed total: 23 degrees of freedom.
    expect(chiSquare(counts, expected)).toBeLessThan(CRITICAL_001[23]!);
  });
});

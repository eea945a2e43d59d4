import { createHash } from 'node:crypto';
import { unsafeUniformIntDistribution, xoroshiro128plus } from 'pure-rand';
import { describe, expect, it } from 'vitest';
import type { LegalStatus, ProgrammePer, Role } from '../../db/types.ts';
import { addCalendarMonths, addDays } from '../../platform/working-days.ts';
import { DRAW_VERSIONS, proposeRound, type DrawRow, type DrawVersion, type PoolAuditor, type PoolChild, type PoolSnapshot, type Proposal } from './sampling.ts';
import { DEFAULT_SAMPLING_RULES, type SamplingRules } from './schedule.ts';

/**
 * A stored round is replayed from its seed and pool whenever it is shown or confirmed, and the
 * replay must give the proposal it stored. So the draw must not change under rounds already
 * stored: the same pool, rows and seed must always give the same children, auditors, pools and
 * exclusions. This test pins the draw to a fingerprint of its proposals over a generated
 * register of 3,000 children and every way of counting and every rule. If it fails, the draw
 * has changed: keep the draw as it was for the rounds stored with it (a version on the round),
 * rather than changing the fingerprint.
 */

const AS_OF = '2026-12-01';
const STATUSES: LegalStatus[] = ['early_help', 'cin', 'cp', 'plo', 'child_in_care', 'care_leaver'];
const id = (prefix: string, n: number) => `${prefix}-${String(n).padStart(5, '0')}`;

/** A register made by a seeded generator: the same every time. */
function register(): PoolSnapshot {
  const rng = xoroshiro128plus(20261207);
  const int = (from: number, to: number) => unsafeUniformIntDistribution(from, to, rng);
  const services = [0, 1, 2].map((n) => ({ id: id('service', n), name: `Service ${n}` }));
  const teams = [0, 1, 2, 3, 4, 5, 6].map((n) => ({ id: id('team', n), name: `Team ${n}`, serviceId: services[n % 3]!.id }));
  const roles: Role[][] = [['auditor'], ['moderator'], ['auditor', 'moderator'], ['qa_lead'], ['qa_coordinator']];
  const auditors: PoolAuditor[] = Array.from({ length: 24 }, (_, n) => {
    const team = n < 21 ? teams[n % teams.length]! : null;
    return { id: id('staff', n * 3), name: `Staff ${n}`, teamId: team?.id ?? null, serviceId: team?.serviceId ?? (n === 21 ? services[0]!.id : null), roles: roles[n % roles.length]! };
  });
  const children: PoolChild[] = Array.from({ length: 3000 }, (_, n) => {
    const team = teams[int(0, teams.length - 1)]!;
    const audited = int(0, 3);
    return {
      id: id('child', (n * 7919) % 100_000),
      externalId: `C${n}`,
      initials: 'AB',
      legalStatus: STATUSES[int(0, STATUSES.length - 1)]!,
      teamId: team.id,
      serviceId: team.serviceId,
      // Staff 0–89: every third an auditor, the others case-holders only.
      caseHolderId: int(0, 9) === 0 ? null : id('staff', int(0, 89)),
      openDate: int(0, 9) === 0 ? null : addDays(AS_OF, -int(-5, 1500)),
      closeDate: int(0, 4) === 0 ? addDays(AS_OF, -int(-3, 90)) : null,
      lastAuditedOn: audited ? addCalendarMonths(AS_OF, -int(0, 30)) : null,
      hasOpenAudit: audited > 0 && int(0, 5) === 0,
      pastAuditorIds: [...new Set(Array.from({ length: audited }, () => id('staff', 3 * int(0, 23))))].sort(),
    };
  });
  return { asOf: AS_OF, auditors, teams, services, children };
}

function rows(): DrawRow[] {
  const kinds: { per: ProgrammePer; quantity: number; serviceId: string | null; auditorRoles: Role[]; rules: Partial<SamplingRules> }[] = [
    { per: 'team', quantity: 2, serviceId: null, auditorRoles: [], rules: {} },
    { per: 'auditor', quantity: 1, serviceId: id('service', 1), auditorRoles: ['auditor'], rules: {} },
    { per: 'service', quantity: 5, serviceId: null, auditorRoles: [], rules: { auditorFrom: 'outside_service', legalStatuses: ['cin', 'cp', 'plo'] } },
    { per: 'open_cases_percent', quantity: 3, serviceId: id('service', 2), auditorRoles: ['moderator', 'qa_lead'], rules: { auditorFrom: 'any', stratifyLegalStatus: false } },
    { per: 'team', quantity: 3, serviceId: id('service', 0), auditorRoles: [], rules: { varyCaseHolders: false, excludeOpenAudit: false, excludeAuditedWithinMonths: 0 } },
    { per: 'auditor', quantity: 2, serviceId: null, auditorRoles: [], rules: { auditorFrom: 'outside_service', openWithinWeeks: 12 } },
    { per: 'auditor', quantity: 1, serviceId: null, auditorRoles: ['qa_coordinator', 'qa_lead'], rules: { auditorFrom: 'any', excludeAuditedWithinMonths: 24 } },
    { per: 'service', quantity: 40, serviceId: id('service', 1), auditorRoles: [], rules: { auditorFrom: 'own_team' } },
  ];
  return kinds.map((kind, n) => ({ id: id('row', n), position: n, label: `Row ${n}`, periodMonths: 3, ...kind, rules: { ...DEFAULT_SAMPLING_RULES, ...kind.rules } }));
}

/** What a stored round depends on, in a fixed shape: each unit's pool, exclusions, picks and shortfall. */
function fingerprint(proposal: Proposal): string {
  const shape = proposal.rows.map((row) => [row.rowId, row.expected, row.proposed, row.note, row.units.map((unit) => [
    unit.key, unit.expected, unit.scopeSize, unit.eligibleIds, Object.entries(unit.excluded), Object.entries(unit.auditorExclusions), unit.picks.map((pick) => [pick.childId, pick.auditorId, pick.caseHolderRepeated]), unit.shortfall,
  ])]);
  return createHash('sha256').update(JSON.stringify(shape)).digest('hex');
}

describe('the draw rounds are stored with', () => {
  it.each(DRAW_VERSIONS)('gives the proposals it always has for the same pool, rows and seed (draw %i)', (drawVersion) => {
    const snapshot = register();
    const drawRows = rows();
    const fingerprints = [0, 1, 2, 99, 20261207, -5].map((seed) => fingerprint(proposeRound({ snapshot, rows: drawRows, seed, months: 3, drawVersion })).slice(0, 16));
    expect(fingerprints).toEqual(FINGERPRINTS[drawVersion]);
    // The register is large enough for the rules to bite: children chosen, left out and short.
    const proposal = proposeRound({ snapshot, rows: drawRows, seed: 0, months: 3, drawVersion });
    const units = proposal.rows.flatMap((row) => row.units);
    expect(units.reduce((sum, unit) => sum + unit.picks.length, 0)).toBeGreaterThan(150);
    for (const rule of ['open_to_team', 'legal_status', 'audited_recently', 'open_audit', 'chosen_in_round', 'auditor_is_case_holder', 'previous_auditor'] as const) {
      expect(units.some((unit) => (unit.excluded[rule]?.length ?? 0) > 0), rule).toBe(true);
    }
  });
});

/**
 * Fingerprints of each version of the draw, as rounds are stored with it: version 1 since
 * sampling rounds began, version 2 since an auditor with no service stopped reaching every
 * child in a per-auditor row that wants an auditor from outside the child's service (the
 * register above has two such auditors, and row 5 is such a row). Never change a version's
 * fingerprints: add a version.
 */
const FINGERPRINTS: Record<DrawVersion, string[]> = {
  1: ['115b5aa1382e3939', '95ed155061b81fcb', 'fb62ce23ca62ef4d', '46063bee446d0bb6', '6a3394a390e7f3b2', 'bb2f091b44e5778f'],
  2: ['45dff343b6e35a13', '6ecb31a955e25f43', 'e0db4ef24c70edad', '38df6fa85a801c1c', '46c8268cfbeaa1e4', 'f6179e3784436ba8'],
};

import { describe, expect, it } from 'vitest';
import {
  DEMO_PASSWORD,
  DEMO_SIGN_INS,
  ageOn,
  generateDemoCouncil,
  type LegalStatus,
  type Role,
} from './data.ts';

const TODAY = '2026-11-24';
const council = generateDemoCouncil({ today: TODAY });

const ROLES: Role[] = ['practitioner', 'auditor', 'moderator', 'qa_coordinator', 'qa_lead', 'senior_leader', 'administrator'];
const STATUSES: LegalStatus[] = ['early_help', 'cin', 'cp', 'plo', 'child_in_care', 'care_leaver'];

const staffByKey = new Map(council.staff.map((s) => [s.key, s]));
const teamByKey = new Map(council.teams.map((t) => [t.key, t]));

describe('generateDemoCouncil', () => {
  it('is deterministic', () => {
    expect(generateDemoCouncil({ today: TODAY })).toEqual(council);
    expect(generateDemoCouncil({ today: TODAY, seed: 7 })).toEqual(generateDemoCouncil({ today: TODAY, seed: 7 }));
    expect(generateDemoCouncil({ today: TODAY, seed: 7 }).children).not.toEqual(council.children);
  });

  it('keeps staff the same whatever the number of children', () => {
    expect(generateDemoCouncil({ today: TODAY, children: 20 }).staff).toEqual(council.staff);
  });

  it('builds a fictional council with the expected structure', () => {
    expect(council.organisation).toEqual({ name: 'Avonford City Council', slug: 'avonford' });
    expect(council.localities.map((l) => l.name)).toEqual(['North', 'South', 'East Central']);
    expect(council.services).toHaveLength(10);
    expect(council.teams.length).toBeGreaterThanOrEqual(16);
    expect(council.teams.length).toBeLessThanOrEqual(20);
    const serviceKeys = new Set(council.services.map((s) => s.key));
    const localityKeys = new Set(council.localities.map((l) => l.key));
    for (const team of council.teams) {
      expect(serviceKeys.has(team.serviceKey)).toBe(true);
      if (team.localityKey !== null) expect(localityKeys.has(team.localityKey)).toBe(true);
    }
    for (const service of council.services) {
      if (service.localityKey !== null) expect(localityKeys.has(service.localityKey)).toBe(true);
    }
    for (const list of [council.localities, council.services, council.teams]) {
      expect(new Set(list.map((x) => x.key)).size).toBe(list.length);
      expect(new Set(list.map((x) => x.name)).size).toBe(list.length);
    }
  });

  it('has about 60 staff with unique numbers and e-mails', () => {
    expect(council.staff.length).toBeGreaterThanOrEqual(55);
    expect(council.staff.length).toBeLessThanOrEqual(70);
    expect(new Set(council.staff.map((s) => s.key)).size).toBe(council.staff.length);
    expect(new Set(council.staff.map((s) => s.staffNumber)).size).toBe(council.staff.length);
    expect(new Set(council.staff.map((s) => s.email)).size).toBe(council.staff.length);
    for (const s of council.staff) {
      expect(s.staffNumber).toMatch(/^S\d{4}$/);
      expect(s.email).toMatch(/^[a-z]+\.[a-z]+@avonford\.example$/);
      expect(teamByKey.has(s.teamKey)).toBe(true);
      expect(s.startDate >= '2012-01-01' && s.startDate <= TODAY).toBe(true);
      if (s.leavingDate !== null) expect(s.leavingDate > s.startDate && s.leavingDate < TODAY).toBe(true);
    }
    expect(council.staff.filter((s) => s.leavingDate !== null).length).toBeGreaterThanOrEqual(2);
    const titles = council.staff.map((s) => s.jobTitle);
    expect(titles.filter((t) => t === 'Head of Service')).toHaveLength(2);
    expect(titles.filter((t) => t === 'Team Manager').length).toBeGreaterThanOrEqual(15);
  });

  it('has coherent line management with no cycles', () => {
    for (const s of council.staff) {
      if (s.lineManagerKey !== null) {
        expect(staffByKey.has(s.lineManagerKey), `${s.key} → ${s.lineManagerKey}`).toBe(true);
        expect(s.lineManagerKey).not.toBe(s.key);
      }
      const seen = new Set<string>();
      let current: string | null = s.key;
      while (current !== null) {
        expect(seen.has(current), `cycle through ${current}`).toBe(false);
        seen.add(current);
        current = staffByKey.get(current)?.lineManagerKey ?? null;
      }
    }
    const top = council.staff.filter((s) => s.lineManagerKey === null);
    expect(top.every((s) => s.jobTitle === 'Head of Service')).toBe(true);

    for (const s of council.staff.filter((x) => x.jobTitle === 'Social Worker')) {
      const tm = staffByKey.get(s.lineManagerKey ?? '');
      const sm = staffByKey.get(tm?.lineManagerKey ?? '');
      const hos = staffByKey.get(sm?.lineManagerKey ?? '');
      expect(tm?.jobTitle).toBe('Team Manager');
      expect(tm?.teamKey).toBe(s.teamKey);
      expect(sm?.jobTitle).toBe('Service Manager');
      expect(hos?.jobTitle).toBe('Head of Service');
    }
    for (const s of council.staff.filter((x) => x.teamKey === 'qa' && x.jobTitle !== 'QA Service Manager')) {
      expect(staffByKey.get(s.lineManagerKey ?? '')?.jobTitle).toBe('QA Service Manager');
    }
    // Line managers are current staff.
    for (const s of council.staff) {
      if (s.lineManagerKey) expect(staffByKey.get(s.lineManagerKey)?.leavingDate).toBeNull();
    }
  });

  it('has exactly one demo user per role, with valid grants and fitting job titles', () => {
    expect(council.users).toHaveLength(ROLES.length);
    const roles = council.users.flatMap((u) => u.grants.map((g) => g.role));
    expect([...roles].sort()).toEqual([...ROLES].sort());
    expect(new Set(council.users.map((u) => u.email)).size).toBe(council.users.length);

    const expectedTitle: Record<Role, string | null> = {
      practitioner: 'Social Worker',
      auditor: 'Team Manager',
      moderator: 'Service Manager',
      qa_coordinator: 'QA Social Worker',
      qa_lead: 'QA Service Manager',
      senior_leader: 'Head of Service',
      administrator: null,
    };
    for (const user of council.users) {
      expect(user.password).toBe(DEMO_PASSWORD);
      expect(user.grants).toHaveLength(1);
      const grant = user.grants[0]!;
      expect(ROLES).toContain(grant.role);
      expect(['team', 'service', 'organisation']).toContain(grant.scope);
      const member = user.staffKey === null ? null : staffByKey.get(user.staffKey);
      if (expectedTitle[grant.role] === null) {
        expect(user.staffKey).toBeNull();
      } else {
        expect(member?.jobTitle).toBe(expectedTitle[grant.role]);
        expect(member?.leavingDate).toBeNull();
        expect(user.displayName).toBe(member?.fullName);
      }
      // Scope references match the DB constraints: team_id iff team scope, service_id iff service scope.
      expect(grant.teamKey !== null).toBe(grant.scope === 'team');
      expect(grant.serviceKey !== null).toBe(grant.scope === 'service');
      if (grant.teamKey !== null) expect(grant.teamKey).toBe(member?.teamKey);
      if (grant.serviceKey !== null) expect(grant.serviceKey).toBe(teamByKey.get(member?.teamKey ?? '')?.serviceKey);
    }
    const byRole = new Map(council.users.map((u) => [u.grants[0]!.role, u]));
    expect(byRole.get('practitioner')?.grants[0]?.scope).toBe('team');
    expect(byRole.get('auditor')?.grants[0]?.scope).toBe('team');
    expect(byRole.get('moderator')?.grants[0]?.scope).toBe('service');
    for (const role of ['qa_coordinator', 'qa_lead', 'senior_leader', 'administrator'] as const) {
      expect(byRole.get(role)?.grants[0]?.scope).toBe('organisation');
    }
    // The demo practitioner holds cases and the auditor manages their team.
    const practitioner = byRole.get('practitioner')!;
    expect(council.children.some((c) => c.workerKey === practitioner.staffKey)).toBe(true);
    expect(staffByKey.get(practitioner.staffKey!)?.lineManagerKey).toBe(byRole.get('auditor')?.staffKey);
  });

  it('documents the demo sign-ins to match the users', () => {
    expect(DEMO_SIGN_INS.map((s) => s.email)).toEqual(council.users.map((u) => u.email));
    expect(DEMO_SIGN_INS.map((s) => s.role)).toEqual(council.users.map((u) => u.grants[0]?.role));
    expect(DEMO_SIGN_INS.map((s) => s.email)).toEqual([
      'practitioner@avonford.example',
      'auditor@avonford.example',
      'moderator@avonford.example',
      'qa.coordinator@avonford.example',
      'qa.lead@avonford.example',
      'senior.leader@avonford.example',
      'admin@avonford.example',
    ]);
    for (const [i, signIn] of DEMO_SIGN_INS.entries()) {
      const user = council.users[i]!;
      if (user.staffKey !== null) expect(signIn.description).toContain(user.displayName);
    }
    expect(DEMO_PASSWORD).toBe('Assure-demo-2026!');
  });

  it('generates 500 children with unique external ids and 2-letter initials', () => {
    expect(council.children).toHaveLength(500);
    expect(new Set(council.children.map((c) => c.externalId)).size).toBe(500);
    for (const c of council.children) {
      expect(c.externalId).toMatch(/^LCS-\d{6}$/);
      expect(c.initials).toMatch(/^[A-Z]{2}$/);
      expect(['male', 'female', 'other', 'unknown']).toContain(c.gender);
      expect(c.ethnicity).toMatch(/^[A-Z]{4}$/);
      expect(c.referralFactors.length).toBeGreaterThanOrEqual(1);
      expect(c.referralFactors.length).toBeLessThanOrEqual(3);
      expect(new Set(c.referralFactors).size).toBe(c.referralFactors.length);
    }
  });

  it('spreads legal statuses roughly as specified', () => {
    const counts = new Map<LegalStatus, number>();
    for (const c of council.children) counts.set(c.legalStatus, (counts.get(c.legalStatus) ?? 0) + 1);
    for (const status of STATUSES) expect(counts.get(status) ?? 0, status).toBeGreaterThan(0);
    expect(counts.get('cin')).toBe(175);
    expect(counts.get('care_leaver')).toBe(25);
    expect(generateDemoCouncil({ today: TODAY, children: 37 }).children).toHaveLength(37);
    expect(generateDemoCouncil({ today: TODAY, children: 0 }).children).toHaveLength(0);
  });

  it('allocates each child to a current case-holding worker in the child team, fitting the status', () => {
    const fits: Record<LegalStatus, (teamKey: string) => boolean> = {
      early_help: (t) => t.startsWith('fif-'),
      cin: (t) => /unit-\d$/.test(t) || t.startsWith('first-response-') || t === 'disabled-children',
      cp: (t) => /unit-\d$/.test(t) || t.startsWith('first-response-') || t === 'disabled-children',
      plo: (t) => /unit-\d$/.test(t),
      child_in_care: (t) => /unit-\d$/.test(t) || t === 'through-care' || t === 'disabled-children',
      care_leaver: (t) => t === 'leaving-care',
    };
    for (const c of council.children) {
      const worker = staffByKey.get(c.workerKey);
      expect(worker, c.externalId).toBeDefined();
      expect(worker?.teamKey).toBe(c.teamKey);
      expect(worker?.leavingDate).toBeNull();
      expect(fits[c.legalStatus](c.teamKey), `${c.legalStatus} in ${c.teamKey}`).toBe(true);
    }
    expect(council.children.some((c) => c.teamKey === 'disabled-children')).toBe(true);
  });

  it('gives plausible ages and dates', () => {
    let closed = 0;
    for (const c of council.children) {
      const age = ageOn(c.dateOfBirth, TODAY);
      if (c.legalStatus === 'care_leaver') {
        expect(age, c.externalId).toBeGreaterThanOrEqual(18);
        expect(age, c.externalId).toBeLessThanOrEqual(24);
      } else {
        expect(age, c.externalId).toBeGreaterThanOrEqual(0);
        expect(age, c.externalId).toBeLessThanOrEqual(17);
      }
      expect(c.dateOfBirth <= c.openDate).toBe(true);
      expect(c.openDate >= '2023-11-24' && c.openDate <= TODAY).toBe(true);
      if (c.closeDate !== null) {
        closed++;
        expect(c.closeDate >= c.openDate).toBe(true);
        expect(c.closeDate <= TODAY).toBe(true);
      }
    }
    expect(closed).toBeGreaterThan(15);
    expect(closed).toBeLessThan(70);
  });

  it('handles a leap-day today', () => {
    const leap = generateDemoCouncil({ today: '2028-02-29', children: 300 });
    for (const c of leap.children) {
      const age = ageOn(c.dateOfBirth, '2028-02-29');
      expect(age).toBeLessThanOrEqual(c.legalStatus === 'care_leaver' ? 24 : 17);
      expect(age).toBeGreaterThanOrEqual(c.legalStatus === 'care_leaver' ? 18 : 0);
    }
  });

  it('rejects bad options', () => {
    expect(() => generateDemoCouncil({ today: '2026-02-30' })).toThrow(RangeError);
    expect(() => generateDemoCouncil({ today: '24/11/2026' })).toThrow(RangeError);
    expect(() => generateDemoCouncil({ today: TODAY, children: -1 })).toThrow(RangeError);
    expect(() => generateDemoCouncil({ today: TODAY, children: 1.5 })).toThrow(RangeError);
  });
});

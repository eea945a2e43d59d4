import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/index.ts';
import type { LegalStatus } from '../src/db/types.ts';
import { createApiToken } from '../src/modules/account/service.ts';
import { compactProposal, readSnapshot, replayStoredRound, storedRound } from '../src/modules/programme/rounds.ts';
import { DRAW_VERSION, proposeRound, type DrawVersion } from '../src/modules/programme/sampling.ts';
import { loadPrincipal } from '../src/platform/auth/queries.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createAudit, createAuditTool } from './support/audits.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';

/** A schedule in force since 2000 with one row: 2 audits per team of Area Social Work each month, chosen at random. */
async function createSchedule(db: Db, council: SmallCouncil, toolId: string, sampling: Record<string, unknown> = {}) {
  const org = council.organisation.id;
  const version = await db.insertInto('programme_schedule_versions').values({ organisation_id: org, applies_from: '2000-01-01' }).returning('id').executeTakeFirstOrThrow();
  const row = await db.insertInto('programme_schedule_rows').values({
    organisation_id: org, schedule_version_id: version.id, position: 0, service_id: council.services.area.id, activity: 'case_audit', activity_label: 'Case file audit',
    tool_id: toolId, quantity: 2, per: 'team', period_months: 1, auditor_roles: JSON.stringify([]), selected_by: 'random', sampling: JSON.stringify(sampling),
  }).returning('id').executeTakeFirstOrThrow();
  // A row chosen by the auditor is not for a round.
  await db.insertInto('programme_schedule_rows').values({
    organisation_id: org, schedule_version_id: version.id, position: 1, service_id: null, activity: 'case_audit', activity_label: 'Chosen by the auditor',
    quantity: 1, per: 'auditor', period_months: 2, selected_by: 'auditor',
  }).execute();
  return row.id;
}

async function child(db: Db, org: string, values: { externalId: string; initials: string; teamId: string; workerId: string | null; legalStatus?: LegalStatus; closeDate?: string | null }) {
  return db.insertInto('children').values({
    organisation_id: org, external_id: values.externalId, initials: values.initials, legal_status: values.legalStatus ?? 'cin',
    allocated_team_id: values.teamId, allocated_worker_id: values.workerId, open_date: '2020-01-01', close_date: values.closeDate ?? null,
  }).returning('id').executeTakeFirstOrThrow();
}

const count = async (db: Db, table: 'audits' | 'email_outbox' | 'programme_round_audits') => Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

describe.each(testDrivers())('sampling rounds through HTTP on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let org: string;
  let rowId: string;
  let coordinator: TestClient;
  let token: string;

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    org = council.organisation.id;
    const tool = await createAuditTool(t.db, org);
    rowId = await createSchedule(t.db, council, tool.toolId);
    const { unit1, unit2 } = council.teams;
    const { worker1, worker2, manager1 } = council.staff;
    // North Unit 1: six children in need or protected, one with an audit open, one closed years ago.
    for (const [n, status] of (['cin', 'cp', 'cin', 'cp', 'child_in_care'] as LegalStatus[]).entries()) {
      await child(t.db, org, { externalId: `U1-${n}`, initials: `A${n}`, teamId: unit1.id, workerId: n % 2 ? worker1.id : manager1.id, legalStatus: status });
    }
    const busy = await child(t.db, org, { externalId: 'U1-OPEN', initials: 'OP', teamId: unit1.id, workerId: worker1.id });
    await createAudit(t.db, { organisationId: org, childId: busy.id, toolEditionId: tool.editionId, auditorId: manager1.id, allocatedOn: '2020-03-02', due: '2020-03-16' });
    await child(t.db, org, { externalId: 'U1-OLD', initials: 'OL', teamId: unit1.id, workerId: worker1.id, closeDate: '2019-01-01' });
    // North Unit 2: two children and nobody in the team who may audit.
    await child(t.db, org, { externalId: 'U2-1', initials: 'NA', teamId: unit2.id, workerId: worker2.id });
    await child(t.db, org, { externalId: 'U2-2', initials: 'NB', teamId: unit2.id, workerId: worker2.id });
    coordinator = new TestClient(t.app);
    await coordinator.signIn(council.users.qa_coordinator.email, PASSWORD);
    token = await createApiToken(t.db, { userId: council.users.qa_coordinator.id, organisationId: org, name: 'rounds' });
  }, 120_000);
  afterAll(async () => t?.close());

  async function propose(seed = '42') {
    await coordinator.get('/programme/rounds');
    const response = await coordinator.post('/programme/rounds', { periodFrom: '2026-12-01', periodTo: '2026-12-31', rowIds: [rowId], seed });
    expect(response.statusCode).toBe(303);
    return String(response.headers.location).split('/').pop()!;
  }

  it('proposes a round from the schedule: pool, exclusions by rule, the chosen children and auditors, the shortfall', async () => {
    const start = pageText((await coordinator.get('/programme/rounds')).body);
    expect(start).toContain('Case file audit: 2 per team every 1 month');
    expect(start).not.toContain('Chosen by the auditor');
    const roundId = await propose();
    const page = pageText((await coordinator.get(`/programme/rounds/${roundId}`)).body);
    expect(page).toContain('Seed 42');
    expect(page).toMatch(/Team: North Unit 1 In reach: 6\. Eligible after the rules: 5\. Expected: 2\./);
    expect(page).toContain('Has an audit open: 1 — OP (U1-OPEN)');
    // Unit 2 has no auditor: the rule that left out each person is named.
    expect(page).toMatch(/Team: North Unit 2 In reach: 2\. Eligible after the rules: 0\. Expected: 2\. Short by 2\./);
    expect(page).toContain('No auditor is left for the child: 2 — NA (U2-1), NB (U2-2)');
    expect(page).toMatch(/Not in the child's team\s*: .*Tina Manager/);
    expect(page).toContain('Shortfall of 2');
    expect(page).toContain('give this proposal again');
    // Two children of unit 1, each audited by Tina Manager or Sam Service, never the case-holder.
    const round = await t.app.inject({ method: 'GET', url: `/api/v1/programme/rounds/${roundId}`, headers: { authorization: `Bearer ${token}` } });
    const unit1 = round.json().rows[0].units.find((unit: { name: string }) => unit.name === 'North Unit 1');
    expect(unit1.picks).toHaveLength(2);
    for (const pick of unit1.picks) {
      expect(['Tina Manager', 'Sam Service']).toContain(pick.auditor);
      expect(pick.auditor).not.toBe(pick.caseHolder);
    }
    // The same seed over the same register proposes the same children.
    const again = await t.app.inject({ method: 'GET', url: `/api/v1/programme/rounds/${await propose()}`, headers: { authorization: `Bearer ${token}` } });
    expect(again.json().rows).toEqual(round.json().rows);
  });

  it('a replacement needs a reason, is drawn by the rules and is shown with who made it and why', async () => {
    const roundId = await propose('7');
    const view = (await t.app.inject({ method: 'GET', url: `/api/v1/programme/rounds/${roundId}`, headers: { authorization: `Bearer ${token}` } })).json();
    const unit = view.rows[0].units.find((candidate: { name: string }) => candidate.name === 'North Unit 1');
    const first = unit.picks[0];
    const form = await coordinator.get(`/programme/rounds/${roundId}/replace?unit=${encodeURIComponent(unit.key)}&child=${first.childId}`);
    expect(pageText(form.body)).toContain(`Replace ${first.child} or the auditor`);
    const refused = await coordinator.post(`/programme/rounds/${roundId}/replacements`, { unitKey: unit.key, childId: first.childId, choice: 'draw', reason: ' ' });
    expect(refused.statusCode).toBe(400);
    expect(pageText(refused.body)).toContain('Enter the reason for the replacement');
    const done = await coordinator.post(`/programme/rounds/${roundId}/replacements`, { unitKey: unit.key, childId: first.childId, choice: 'draw', reason: 'Care proceedings start this week' });
    expect(done.statusCode).toBe(303);
    const page = pageText((await coordinator.get(`/programme/rounds/${roundId}`)).body);
    expect(page).toMatch(new RegExp(`Child: ${first.child.replace(/[()]/g, '\\$&')} replaced by .* \\(drawn again by the rules \\(seed -?\\d+\\)\\) Care proceedings start this week Quinn QA`));
    const after = (await t.app.inject({ method: 'GET', url: `/api/v1/programme/rounds/${roundId}`, headers: { authorization: `Bearer ${token}` } })).json();
    const picks = after.rows[0].units.find((candidate: { name: string }) => candidate.name === 'North Unit 1').picks.map((pick: { childId: string }) => pick.childId);
    expect(picks).not.toContain(first.childId);
    expect(picks).toHaveLength(2);
  });

  it('replays the round from its seed and stored pool after the register has changed', async () => {
    const roundId = await propose('99');
    const principal = (await loadPrincipal(t.db, council.users.qa_coordinator.id))!;
    const before = await replayStoredRound(t.db, principal, roundId);
    // The register changes: every child of unit 1 moves to unit 2 with a new case-holder.
    const moved = await t.db.selectFrom('children').select(['id', 'allocated_worker_id']).where('organisation_id', '=', org).where('allocated_team_id', '=', council.teams.unit1.id).execute();
    await t.db.updateTable('children').set({ allocated_team_id: council.teams.unit2.id, allocated_worker_id: council.staff.worker2.id }).where('id', 'in', moved.map((row) => row.id)).execute();
    try {
      const replay = await replayStoredRound(t.db, principal, roundId);
      expect(replay.matches).toBe(true);
      expect(replay.replayed).toEqual(before.replayed);
      expect(replay.stored).toEqual(before.stored);
      // Drawn afresh with the same seed, the changed register gives a different proposal.
      const fresh = (await t.app.inject({ method: 'GET', url: `/api/v1/programme/rounds/${await propose('99')}`, headers: { authorization: `Bearer ${token}` } })).json();
      expect(fresh.rows[0].units.find((unit: { name: string }) => unit.name === 'North Unit 1').picks).toEqual([]);
    } finally {
      for (const row of moved) await t.db.updateTable('children').set({ allocated_team_id: council.teams.unit1.id, allocated_worker_id: row.allocated_worker_id }).where('id', '=', row.id).execute();
    }
  });

  it('replays a round stored before rounds kept their children apart (every child in its snapshot)', async () => {
    const roundId = await propose('7');
    const principal = (await loadPrincipal(t.db, council.users.qa_coordinator.id))!;
    const before = await replayStoredRound(t.db, principal, roundId);
    const stored = await t.db.selectFrom('programme_rounds').select(['snapshot', 'snapshot_children']).where('id', '=', roundId).executeTakeFirstOrThrow();
    expect(stored.snapshot_children).not.toBeNull();
    // Written back as rounds were stored before: each child an array of values in the order childKeys names.
    const { children, ...rest } = await readSnapshot(stored);
    const childKeys = ['id', 'externalId', 'initials', 'legalStatus', 'teamId', 'serviceId', 'caseHolderId', 'openDate', 'closeDate', 'lastAuditedOn', 'hasOpenAudit', 'pastAuditorIds'] as const;
    await t.db.updateTable('programme_rounds')
      .set({ snapshot: JSON.stringify({ ...rest, childKeys, children: children.map((pooled) => childKeys.map((key) => pooled[key])) }), snapshot_children: null })
      .where('id', '=', roundId).execute();
    const replay = await replayStoredRound(t.db, principal, roundId);
    expect(replay.matches).toBe(true);
    expect(replay.replayed).toEqual(before.replayed);
    const page = pageText((await coordinator.get(`/programme/rounds/${roundId}`)).body);
    expect(page).toContain('The stored pool and seed, with the replacements in order, give this proposal again');
    // The chosen children are named from the stored pool.
    const chosen = before.replayed.rows.flatMap((row) => row.units.flatMap((unit) => unit.picks)).map((pick) => children.find((pooled) => pooled.id === pick.childId)!);
    expect(chosen.length).toBeGreaterThan(0);
    for (const pooled of chosen) expect(page).toContain(`${pooled.initials} (${pooled.externalId})`);
  });

  it('replays a round with the version of the draw it was proposed with, after the draw has been corrected', async () => {
    const roundId = await propose('5');
    const principal = (await loadPrincipal(t.db, council.users.qa_coordinator.id))!;
    const round = await t.db.selectFrom('programme_rounds').selectAll().where('id', '=', roundId).executeTakeFirstOrThrow();
    expect(round.draw_version).toBe(DRAW_VERSION);
    // A row the QA officer (in no team or service) audits, from outside each child's service:
    // draw 1 gave them every child; draw 2 gives them none, as the auditor rule says.
    const { rows, snapshot, months } = await storedRound(round);
    const perAuditor = rows.map((row) => ({ ...row, per: 'auditor' as const, serviceId: null, auditorRoles: ['qa_coordinator' as const], rules: { ...row.rules, auditorFrom: 'outside_service' as const } }));
    const drawn = (drawVersion: DrawVersion) => compactProposal(proposeRound({ snapshot, rows: perAuditor, seed: round.seed, months, drawVersion }));
    expect(drawn(1).rows[0]!.proposed).toBeGreaterThan(0);
    expect(drawn(2).rows[0]!.proposed).toBe(0);
    // Stored as a round proposed before the correction was.
    await t.db.updateTable('programme_rounds').set({ draw_rows: JSON.stringify(perAuditor), proposal: JSON.stringify(drawn(1)), draw_version: 1 }).where('id', '=', roundId).execute();
    expect((await replayStoredRound(t.db, principal, roundId)).matches).toBe(true);
    expect(pageText((await coordinator.get(`/programme/rounds/${roundId}`)).body)).toContain('The stored pool and seed, with the replacements in order, give this proposal again');
  });

  it('a round confirmed twice at once allocates once, each audit with its e-mail', async () => {
    const roundId = await propose('5');
    const before = { audits: await count(t.db, 'audits'), emails: await count(t.db, 'email_outbox') };
    const confirm = () => t.app.inject({ method: 'POST', url: `/api/v1/programme/rounds/${roundId}/confirm`, headers: { authorization: `Bearer ${token}` } });
    const [first, second] = await Promise.all([confirm(), confirm()]);
    expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
    expect([first.json().alreadyConfirmed, second.json().alreadyConfirmed].sort()).toEqual([false, true]);
    const proposed = (await t.app.inject({ method: 'GET', url: `/api/v1/programme/rounds/${roundId}`, headers: { authorization: `Bearer ${token}` } })).json();
    const picks = proposed.rows.flatMap((row: { units: { picks: unknown[] }[] }) => row.units.flatMap((unit) => unit.picks));
    expect(picks.length).toBeGreaterThan(0);
    expect(await count(t.db, 'audits')).toBe(before.audits + picks.length);
    expect(await count(t.db, 'email_outbox')).toBe(before.emails + picks.length);
    expect(proposed.status).toBe('confirmed');
    expect(proposed.confirmedBy).toBe('Quinn QA');
    const page = pageText((await coordinator.get(`/programme/rounds/${roundId}`)).body);
    expect(page).toMatch(/Confirmed .* by Quinn QA/);
    expect(page).toMatch(/Audit \d+\s*, due/);
    // The auditors find their audits.
    const auditor = new TestClient(t.app);
    await auditor.signIn(council.users.auditor.email, PASSWORD);
    const tina = picks.filter((pick: { auditor: string }) => pick.auditor === 'Tina Manager');
    const mine = pageText((await auditor.get('/my-audits')).body);
    for (const pick of tina) expect(mine).toContain((pick as { child: string }).child.split(' ')[0]);
  });

  it('a round that cannot be allocated whole allocates nothing and names the child', async () => {
    const roundId = await propose('11');
    const view = (await t.app.inject({ method: 'GET', url: `/api/v1/programme/rounds/${roundId}`, headers: { authorization: `Bearer ${token}` } })).json();
    const picks = view.rows[0].units.flatMap((unit: { picks: { childId: string; auditorId: string; child: string }[] }) => unit.picks);
    expect(picks.length).toBe(2);
    // Since the draw, the second child's case went to its auditor: that audit cannot be allocated.
    const last = picks[picks.length - 1];
    const original = await t.db.selectFrom('children').select('allocated_worker_id').where('id', '=', last.childId).executeTakeFirstOrThrow();
    await t.db.updateTable('children').set({ allocated_worker_id: last.auditorId }).where('id', '=', last.childId).execute();
    const before = { audits: await count(t.db, 'audits'), emails: await count(t.db, 'email_outbox') };
    await coordinator.get(`/programme/rounds/${roundId}`);
    const refused = await coordinator.post(`/programme/rounds/${roundId}/confirm`);
    expect(refused.statusCode).toBe(409);
    expect(pageText(refused.body)).toContain(`${last.child}: `);
    expect(pageText(refused.body)).toContain('holds this case and cannot audit it');
    expect(await count(t.db, 'audits')).toBe(before.audits);
    expect(await count(t.db, 'email_outbox')).toBe(before.emails);
    const status = await t.db.selectFrom('programme_rounds').select('status').where('id', '=', roundId).executeTakeFirstOrThrow();
    expect(status.status).toBe('proposed');
    await t.db.updateTable('children').set({ allocated_worker_id: original.allocated_worker_id }).where('id', '=', last.childId).execute();
  });

  it('the API names the fields of a round it cannot propose', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/api/v1/programme/rounds', headers: { authorization: `Bearer ${token}` }, payload: { periodFrom: '2026-02-30', periodTo: '2026-01-01' } });
    expect(response.statusCode).toBe(422);
    const fields = JSON.stringify(response.json());
    expect(fields).toContain('periodFrom');
    expect(fields).toContain('rowIds');
  });
});

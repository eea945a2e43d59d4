import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../src/platform/clock.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createAudit, createChild } from './support/audits.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';

/**
 * Themes against a hand count. Today is 15 November 2026, in Q3 2026–27 (October to December).
 * The tool has one judgement with a Strengths box and an Areas for improvement box; each audit
 * below says what was written in them. The expected counts were made by reading the list.
 */
type TeamKey = 'unit1' | 'unit2' | 'careTeam';
type Planned = { team: TeamKey; moderatedAt: string | null; strengths: string; areas: string };

const PLAN: Planned[] = [
  /* 1 */ { team: 'unit1', moderatedAt: '2026-10-05T10:00:00Z', strengths: 'The child was seen alone. Multi-agency working is strong.', areas: 'The chronologies were out of date.' },
  /* 2 */ { team: 'unit1', moderatedAt: '2026-10-20T10:00:00Z', strengths: 'Visits are regular.', areas: "The chronology has not been updated since the review. The father's views are not recorded." },
  // "Up to date" is not "out of date", and a strength is not an area for improvement.
  /* 3 */ { team: 'unit2', moderatedAt: '2026-11-01T10:00:00Z', strengths: 'The chronology is up to date.', areas: 'More direct work with the child is needed.' },
  /* 4 */ { team: 'careTeam', moderatedAt: '2026-11-10T10:00:00Z', strengths: 'Good work with the school.', areas: 'Chronology out of date; the plan does not say who does what by when.' },
  // The previous quarter: the only audit then marks the chronology theme.
  /* 5 */ { team: 'unit1', moderatedAt: '2026-08-15T10:00:00Z', strengths: 'Good use of the family network.', areas: 'Chronology out of date.' },
  // Not moderated: written, but not counted.
  /* 6 */ { team: 'unit1', moderatedAt: null, strengths: '', areas: 'Chronology out of date.' },
];

const TOOL = {
  key: 'themes-tool',
  name: 'Themes tool',
  sections: [
    {
      key: 'practice',
      title: 'Practice',
      answers: [{ key: 'practice_judgement', kind: 'judgement', label: 'Judgement', scale: 'ofsted', evidence: [{ key: 'practice_strengths', label: 'Strengths' }, { key: 'practice_areas', label: 'Areas for improvement' }] }],
    },
  ],
};

const TODAY = new Date('2026-11-15T12:00:00Z');

describe.each(testDrivers())('themes on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  const references: number[] = [];
  const clients = {} as Record<'lead' | 'moderator' | 'auditor' | 'practitioner', TestClient>;

  beforeAll(async () => {
    t = await createTestApp(driver, {}, fixedClock(TODAY));
    council = await createSmallCouncil(t.db);
    const org = council.organisation.id;
    const tool = await t.db.insertInto('audit_tools').values({ organisation_id: org, key: TOOL.key, name: TOOL.name }).returning('id').executeTakeFirstOrThrow();
    const edition = await t.db
      .insertInto('audit_tool_editions')
      .values({ organisation_id: org, tool_id: tool.id, edition: '2026.1', definition: JSON.stringify(TOOL), source: 'test' })
      .returning('id')
      .executeTakeFirstOrThrow();
    for (const [i, row] of PLAN.entries()) {
      const team = council.teams[row.team];
      const child = await createChild(t.db, org, { externalId: `THM-${i + 1}`, initials: 'AB', teamId: team.id });
      const audit = await createAudit(t.db, {
        organisationId: org,
        childId: child.id,
        toolEditionId: edition.id,
        auditorId: council.staff.qaOfficer.id,
        moderatorId: row.moderatedAt ? council.staff.qaOfficer.id : null,
        teamId: team.id,
        serviceId: team.service_id,
        status: row.moderatedAt ? 'moderated' : 'in_progress',
        allocatedOn: '2026-07-01',
        due: '2027-06-30',
        submittedAt: row.moderatedAt,
        moderatedAt: row.moderatedAt,
        auditorGrade: row.moderatedAt ? 'good' : null,
        finalGrade: row.moderatedAt ? 'good' : null,
      });
      await t.db
        .updateTable('audits')
        .set({ answers: JSON.stringify({ practice_judgement: 'good', practice_strengths: row.strengths, practice_areas: row.areas }) })
        .where('id', '=', audit.id)
        .execute();
      references.push(audit.reference);
    }
    const users = { lead: 'qa_lead', moderator: 'moderator', auditor: 'auditor', practitioner: 'practitioner' } as const;
    for (const [key, role] of Object.entries(users) as [keyof typeof users, (typeof users)[keyof typeof users]][]) {
      clients[key] = new TestClient(t.app);
      await clients[key].signIn(council.users[role].email, PASSWORD);
    }
  }, 120_000);
  afterAll(async () => t?.close());

  /** The cells of a theme's row in the table of a field: audits, share, previous period, direction. */
  function row(html: string, field: 'strengths' | 'areas', theme: string): string[] {
    const table = new RegExp(`<table class="govuk-table" id="themes-${field}">[\\s\\S]*?</table>`).exec(html)?.[0] ?? '';
    const body = [...table.matchAll(/<tr class="govuk-table__row">([\s\S]*?)<\/tr>/g)].map((match) => match[1]!).find((cells) => pageText(/<th[^>]*>([\s\S]*?)<\/th>/.exec(cells)?.[1] ?? '') === theme);
    return [...(body ?? '').matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((match) => pageText(match[1]!.replace(/<span class="govuk-visually-hidden">[\s\S]*?<\/span>/g, '')));
  }

  const evidenceLink = (html: string, field: 'strengths' | 'areas', theme: string) => {
    const table = new RegExp(`<table class="govuk-table" id="themes-${field}">[\\s\\S]*?</table>`).exec(html)?.[0] ?? '';
    const body = [...table.matchAll(/<tr class="govuk-table__row">([\s\S]*?)<\/tr>/g)].map((match) => match[1]!).find((cells) => cells.includes(`>${theme}</th>`));
    return /href="([^"]+)"/.exec(body ?? '')?.[1]?.replaceAll('&amp;', '&');
  };

  it('starts every council with the default themes list, kept by the QA lead alone', async () => {
    const page = await clients.lead.get('/reports/themes');
    expect(page.statusCode).toBe(200);
    for (const name of ['Chronology out of date', 'Father not engaged', 'Voice of the child', 'Plan not SMART', 'Drift and delay', 'Multi-agency working']) expect(pageText(page.body)).toContain(name);
    expect((await clients.moderator.get('/reports/themes')).statusCode).toBe(403);
    expect((await clients.practitioner.get('/reports/themes')).statusCode).toBe(403);
  });

  it('counts audits per theme in each field, in the period, and compares with the previous one', async () => {
    const html = (await clients.lead.get('/reports')).body;
    // Areas: audits 1 ("chronologies were out of date"), 2 ("has not been updated") and 4, of 4 graded: 75%; before, 1 of 1.
    expect(row(html, 'areas', 'Chronology out of date')).toEqual(['3', '75%', '1 (100%)', 'Falling']);
    // Strengths: audit 3 says "up to date", which is not the theme.
    expect(row(html, 'strengths', 'Chronology out of date')).toEqual(['0', '0%', '0 (0%)', '—']);
    expect(row(html, 'areas', 'Father not engaged')).toEqual(['1', '25%', '0 (0%)', 'New this period']);
    expect(row(html, 'strengths', 'Voice of the child')[0]).toBe('1');
    // "direct work" marks the voice of the child in audit 3's areas for improvement.
    expect(row(html, 'areas', 'Voice of the child')[0]).toBe('1');
    expect(row(html, 'strengths', 'Multi-agency working')[0]).toBe('1');
    expect(row(html, 'areas', 'Plan not SMART')[0]).toBe('1');
  });

  it('links each count to the sentences of exactly the audits counted, and logs each as viewed', async () => {
    const html = (await clients.lead.get('/reports')).body;
    const href = evidenceLink(html, 'areas', 'Chronology out of date')!;
    expect(href).toMatch(/^\/reports\/themes\/[0-9a-f-]+\/evidence\?/);
    const before = await t.db.selectFrom('activity_log').select('id').where('action', '=', 'view').where('record_type', '=', 'audit').execute();
    const page = await clients.lead.get(href);
    expect(page.statusCode).toBe(200);
    const listed = [...page.body.matchAll(/>Audit (\d+)<\/a>/g)].map((match) => Number(match[1]));
    expect(listed).toEqual([references[0], references[1], references[3]]);
    const text = pageText(page.body);
    expect(text).toContain('“The chronologies were out of date.”');
    expect(text).toContain('“The chronology has not been updated since the review.”');
    expect(text).not.toContain('father');
    const after = await t.db.selectFrom('activity_log').select('id').where('action', '=', 'view').where('record_type', '=', 'audit').execute();
    expect(after.length - before.length).toBe(3);
  });

  it('keeps each reader to their scope: the service manager sees their service, the team manager their team', async () => {
    // The moderator's service has North Unit 1 and 2: audits 1, 2 and 3, not 4 (Through Care).
    const moderatorHtml = (await clients.moderator.get('/reports')).body;
    expect(row(moderatorHtml, 'areas', 'Chronology out of date').slice(0, 2)).toEqual(['2', '66.7%']);
    const href = evidenceLink(moderatorHtml, 'areas', 'Chronology out of date')!;
    const listed = [...(await clients.moderator.get(href)).body.matchAll(/>Audit (\d+)<\/a>/g)].map((match) => Number(match[1]));
    expect(listed).toEqual([references[0], references[1]]);
    // Tina Manager's team is North Unit 1: audits 1 and 2.
    expect(row((await clients.auditor.get('/reports')).body, 'areas', 'Chronology out of date')[0]).toBe('2');
    // The lead's link, opened by the team manager, lists only what the team manager may see.
    const leadHref = evidenceLink((await clients.lead.get('/reports')).body, 'areas', 'Chronology out of date')!;
    expect([...(await clients.auditor.get(leadHref)).body.matchAll(/>Audit (\d+)<\/a>/g)].length).toBe(2);
  });

  it('refuses a theme with no phrase, or one that would mark nothing or everything, beside the field', async () => {
    await clients.lead.get('/reports/themes/new');
    const empty = await clients.lead.post('/reports/themes/new', { name: 'Empty', phrases: '  \n ' });
    expect(empty.statusCode).toBe(400);
    expect(empty.body).toMatch(/id="phrases-error"[\s\S]*Enter at least one word or phrase that marks the theme/);
    const everything = await clients.lead.post('/reports/themes/new', { name: 'Everything', phrases: 'child\nthe of' });
    expect(everything.statusCode).toBe(400);
    const text = pageText(everything.body);
    expect(text).toContain('Line 1, “child”: “child” alone is in almost every audit');
    expect(text).toContain('Line 2, “the of”: has only common words');
    // The user's text is kept.
    expect(everything.body).toContain('the of</textarea>');
    const count = await t.db.selectFrom('themes').select((eb) => eb.fn.countAll<number>().as('n')).where('organisation_id', '=', council.organisation.id).where('name', 'in', ['Empty', 'Everything']).executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(0);
  });

  it('adds, changes (refusing a stale save, keeping the text) and removes a theme', async () => {
    await clients.lead.get('/reports/themes/new');
    const added = await clients.lead.post('/reports/themes/new', { name: 'School attendance', phrases: 'school attendance\nwork with the school' });
    expect(added.statusCode).toBe(303);
    const theme = await t.db.selectFrom('themes').select(['id', 'version']).where('name', '=', 'School attendance').executeTakeFirstOrThrow();
    expect(row((await clients.lead.get('/reports')).body, 'strengths', 'School attendance')[0]).toBe('1');
    // Two people open the form; the first saves, the second is refused with their text kept.
    await clients.lead.get(`/reports/themes/${theme.id}/edit`);
    expect((await clients.lead.post(`/reports/themes/${theme.id}/edit`, { name: 'School', phrases: 'school attendance', version: String(theme.version) })).statusCode).toBe(303);
    const stale = await clients.lead.post(`/reports/themes/${theme.id}/edit`, { name: 'Attendance', phrases: 'attendance at school', version: String(theme.version) });
    expect(stale.statusCode).toBe(409);
    expect(pageText(stale.body)).toContain('Someone else changed this record since you opened it');
    expect(stale.body).toContain('attendance at school</textarea>');
    const page = await clients.lead.get(`/reports/themes/${theme.id}/remove`);
    expect(page.statusCode).toBe(200);
    expect((await clients.lead.post(`/reports/themes/${theme.id}/remove`, { version: String(theme.version) })).statusCode).toBe(409);
    expect((await clients.lead.post(`/reports/themes/${theme.id}/remove`, { version: String(theme.version + 1) })).statusCode).toBe(303);
    expect(pageText((await clients.lead.get('/reports/themes')).body)).not.toContain('School');
    const logged = await t.db.selectFrom('activity_log').select('action').where('record_type', '=', 'theme').where('record_id', '=', theme.id).orderBy('at').execute();
    expect(logged.map((entry) => entry.action)).toEqual(['create', 'update', 'delete']);
  });
});

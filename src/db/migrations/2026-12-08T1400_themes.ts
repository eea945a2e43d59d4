import { sql, type Kysely } from 'kysely';

/**
 * The themes a council looks for in the strengths and areas for improvement of its audits: a
 * name and the words and phrases that mark it. Every organisation starts with the default list
 * below, drawn from the councils' own forms (existing ones now, new ones as they are created,
 * by a trigger, so no code path can forget it); the QA lead then keeps it.
 */
const DEFAULT_THEMES: readonly { name: string; phrases: readonly string[] }[] = [
  { name: 'Chronology out of date', phrases: ['chronology out of date', 'chronology not updated', 'chronology not up to date', 'no chronology', 'chronology incomplete'] },
  { name: 'Father not engaged', phrases: ['father not engaged', "father's views not recorded", 'father not seen', 'father not involved', 'father not invited', 'absent father'] },
  { name: 'Voice of the child', phrases: ['voice of the child', "child's voice", 'wishes and feelings', 'seen alone', 'in their own words', 'direct work'] },
  { name: 'Supervision not recorded', phrases: ['supervision not recorded', 'no supervision', 'no management oversight', 'oversight not recorded', 'supervision lapsed'] },
  { name: 'Management oversight', phrases: ['management oversight', 'manager oversight', 'reflective supervision', 'supervision recorded'] },
  { name: 'Plan not SMART', phrases: ['plan not SMART', 'not SMART', 'who does what by when', 'actions without owners', 'actions without dates', 'no contingency plan'] },
  { name: 'Drift and delay', phrases: ['drift and delay', 'drift', 'delay', 'visits late', 'visits lapsed', 'not reviewed since', 'out of timescale'] },
  { name: 'Multi-agency working', phrases: ['multi-agency working', 'multi-agency', 'partner agencies', 'share information', 'core group', 'school and health'] },
  { name: 'Family network', phrases: ['family network', 'family network meeting', 'wider family', 'grandparents', 'safety plan'] },
  { name: 'Assessment of risk', phrases: ['risk not assessed', 'risk assessment', 'domestic abuse', 'impact on the child', 'analysis of risk'] },
  { name: 'Identity and diversity', phrases: ['identity', 'diversity', 'culture', 'ethnicity', 'religion'] },
];

const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

export async function up(db: Kysely<any>): Promise<void> {
  const defaults = literal(JSON.stringify(DEFAULT_THEMES));
  await sql`
    create table themes (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      name text not null,
      phrases jsonb not null,
      version integer not null default 1,
      created_at timestamptz not null,
      updated_at timestamptz not null
    );
    create unique index themes_name on themes (organisation_id, lower(name));
  `.execute(db);
  // The default list for an organisation, stamped with the organisation's own creation time.
  await sql
    .raw(
      `
    create function seed_default_themes() returns trigger language plpgsql as $body$
    begin
      insert into themes (organisation_id, name, phrases, created_at, updated_at)
      select new.id, t.name, t.phrases, new.created_at, new.created_at
      from jsonb_to_recordset(${defaults}::jsonb) as t(name text, phrases jsonb);
      return new;
    end
    $body$;
    create trigger organisations_default_themes after insert on organisations
      for each row execute function seed_default_themes();
    insert into themes (organisation_id, name, phrases, created_at, updated_at)
      select o.id, t.name, t.phrases, o.created_at, o.created_at
      from organisations o, jsonb_to_recordset(${defaults}::jsonb) as t(name text, phrases jsonb);
  `,
    )
    .execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop trigger organisations_default_themes on organisations;
    drop function seed_default_themes();
    drop table themes;
  `.execute(db);
}

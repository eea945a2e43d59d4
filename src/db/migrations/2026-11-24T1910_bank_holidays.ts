import { sql, type Kysely } from 'kysely';

/**
 * Bank holidays per organisation: the division whose holidays count as non-working days
 * (a council in Scotland or Northern Ireland chooses its own), and the bank-holidays.json
 * files an administrator loads from gov.uk when the bundled one runs out. A loaded file is
 * kept as loaded and never changed; the newest one is used.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table organisations add column bank_holiday_division text not null default 'england-and-wales'
      constraint organisations_bank_holiday_division check (bank_holiday_division in ('england-and-wales', 'scotland', 'northern-ireland'));

    create table bank_holiday_files (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      loaded_by uuid references users(id),
      loaded_at timestamptz not null default now(),
      file_name text not null,
      content jsonb not null,
      first_date date not null,
      last_date date not null,
      check (first_date <= last_date)
    );
    create index bank_holiday_files_newest on bank_holiday_files (organisation_id, loaded_at desc);
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop table if exists bank_holiday_files;
    alter table organisations drop column if exists bank_holiday_division;
  `.execute(db);
}

import { sql, type Kysely } from 'kysely';

/**
 * The version of the draw a sampling round was proposed with. A stored round is replayed from
 * its seed and pool whenever it is shown or confirmed, so the draw it was made with must stay
 * as it was. Version 2 gives an auditor with no service no children in a per-auditor row whose
 * auditor must come from outside the child's service (version 1 gave them every child, without
 * checking who holds the case or audited it before). Rounds stored before are version 1.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table programme_rounds add column draw_version integer not null default 1;
    alter table programme_rounds add constraint programme_rounds_draw_version check (draw_version in (1, 2));
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table programme_rounds drop column draw_version;`.execute(db);
}

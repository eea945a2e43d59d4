import { sql, type Kysely } from 'kysely';

/**
 * A sampling round over a large register (issue 14: 100,000 children proposed in under 2 s).
 *
 * - `audits_child_history`: what a round reads of each child's audits (the last allocated, any
 *   still open, who audited them) straight from the index, in child order, without reading or
 *   sorting the audits themselves.
 * - `programme_rounds.snapshot_children`: the pool's children as the draw read them, packed
 *   (ids that repeat — teams, services, case-holders, past auditors — written once and
 *   referred to by number) and deflated: a few megabytes in one value where the JSON was 26 MB
 *   for 100,000 children. Rounds proposed before keep their children in `snapshot`. Stored
 *   as it is (`external`): deflated bytes do not compress again, so the database need not try.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create index audits_child_history on audits (organisation_id, child_id, auditor_id) include (allocated_on, status);
    alter table programme_rounds add column snapshot_children bytea;
    alter table programme_rounds alter column snapshot_children set storage external;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    alter table programme_rounds drop column snapshot_children;
    drop index if exists audits_child_history;
  `.execute(db);
}

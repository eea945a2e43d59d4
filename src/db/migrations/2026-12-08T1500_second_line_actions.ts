import { sql, type Kysely } from 'kysely';

/**
 * The actions a moderator recommends on the moderation page (Lambeth's "Additional Actions
 * recommended by Second Line") are tracked with every other action, as source 'moderation', so
 * the action plan, the actions list and the exports can say who recommended them.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table actions drop constraint actions_source_check;
    alter table actions add constraint actions_source_check check (source in ('action_plan', 'case_direction', 'moderation'));
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    delete from actions where source = 'moderation';
    alter table actions drop constraint actions_source_check;
    alter table actions add constraint actions_source_check check (source in ('action_plan', 'case_direction'));
  `.execute(db);
}

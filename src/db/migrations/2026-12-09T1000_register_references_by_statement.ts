import { sql, type Kysely } from 'kysely';

/**
 * The register's references to its organisation, allocated worker and allocated team are
 * checked once per statement instead of once per row. A foreign key checks each new child on
 * its own: an import of 100,000 children was 300,000 look-ups of the same few dozen workers
 * and teams and of one organisation, about as long as writing the children themselves.
 *
 * The guarantee is the foreign keys' own, kept by triggers:
 * - after an INSERT or UPDATE of children, one statement looks up the distinct organisations,
 *   workers and teams the new rows name, locks them FOR KEY SHARE (as a foreign key does, so
 *   none can be deleted until this transaction ends) and refuses the statement if any is
 *   missing (SQLSTATE 23503, as a foreign key);
 * - deleting an organisation, staff member or team (or changing its id) that a child names is
 *   refused, as a foreign key's NO ACTION refuses it. The delete waits for the lock of any
 *   transaction that has just named it, then sees that transaction's children once it commits.
 * TRUNCATE of organisations, staff or teams is not checked (nothing in Assure truncates them).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table children
      drop constraint if exists children_organisation_id_fkey,
      drop constraint if exists children_allocated_worker_id_fkey,
      drop constraint if exists children_allocated_team_id_fkey;

    create function children_references_exist() returns trigger language plpgsql as $$
    declare
      missing text;
    begin
      with refs as materialized (select distinct organisation_id, allocated_worker_id, allocated_team_id from new_rows),
      o as materialized (select id from organisations where id in (select organisation_id from refs) for key share),
      w as materialized (select id from staff where id in (select allocated_worker_id from refs) for key share),
      t as materialized (select id from teams where id in (select allocated_team_id from refs) for key share)
      select case
        when exists (select 1 from refs r where not exists (select 1 from o where o.id = r.organisation_id)) then 'organisation'
        when exists (select 1 from refs r where r.allocated_worker_id is not null and not exists (select 1 from w where w.id = r.allocated_worker_id)) then 'allocated worker'
        when exists (select 1 from refs r where r.allocated_team_id is not null and not exists (select 1 from t where t.id = r.allocated_team_id)) then 'allocated team'
      end into missing;
      if missing is not null then
        raise foreign_key_violation using message = format('a child''s %s is not in Assure', missing);
      end if;
      return null;
    end;
    $$;
    create trigger children_references_on_insert after insert on children
      referencing new table as new_rows for each statement execute function children_references_exist();
    create trigger children_references_on_update after update on children
      referencing new table as new_rows for each statement execute function children_references_exist();

    create function children_references_kept() returns trigger language plpgsql as $$
    declare
      named boolean;
    begin
      if tg_op = 'UPDATE' and new.id = old.id then
        return new;
      end if;
      if tg_table_name = 'organisations' then
        named := exists (select 1 from children where organisation_id = old.id);
      elsif tg_table_name = 'staff' then
        named := exists (select 1 from children where allocated_worker_id = old.id);
      else
        named := exists (select 1 from children where allocated_team_id = old.id);
      end if;
      if named then
        raise foreign_key_violation using message = format('%s %s is named by children in the register', tg_table_name, old.id);
      end if;
      if tg_op = 'DELETE' then
        return old;
      end if;
      return new;
    end;
    $$;
    create trigger children_references_kept before delete or update of id on organisations for each row execute function children_references_kept();
    create trigger children_references_kept before delete or update of id on staff for each row execute function children_references_kept();
    create trigger children_references_kept before delete or update of id on teams for each row execute function children_references_kept();
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop trigger if exists children_references_kept on organisations;
    drop trigger if exists children_references_kept on staff;
    drop trigger if exists children_references_kept on teams;
    drop function if exists children_references_kept();
    drop trigger if exists children_references_on_insert on children;
    drop trigger if exists children_references_on_update on children;
    drop function if exists children_references_exist();
    alter table children
      add constraint children_organisation_id_fkey foreign key (organisation_id) references organisations(id),
      add constraint children_allocated_worker_id_fkey foreign key (allocated_worker_id) references staff(id),
      add constraint children_allocated_team_id_fkey foreign key (allocated_team_id) references teams(id);
  `.execute(db);
}

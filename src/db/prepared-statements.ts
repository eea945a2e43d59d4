import { createHash } from 'node:crypto';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

/**
 * PostgreSQL plans a statement afresh every time it is sent unnamed, and planning the app's
 * statements costs more than running them: the tracker's page of audits (eight tables joined,
 * sorted, counted) took 10–30 ms to plan and 2 ms to run over the demo council, the other pages
 * 1–6 ms of planning each. Sent as a named (prepared) statement, it is parsed once per
 * connection and, after a few runs, planned once: PostgreSQL keeps a generic plan when it costs
 * no more than planning for each set of values (`plan_cache_mode`).
 *
 * Nothing but plans is kept, by PostgreSQL, per connection: every execution reads the data as
 * it is, so no answer can be stale or reach another organisation. PostgreSQL re-plans a
 * prepared statement itself when a table it reads changes (a migration by another server, new
 * statistics). What it cannot do is change the columns a statement returns: a `select *`
 * prepared before another server added a column fails with "cached plan must not change result
 * type". That statement is then sent again unnamed (outside a transaction) and the connection is
 * closed when it goes back to the pool, so no connection keeps a stale statement.
 *
 * Only statements with parameters are named: they already use the extended protocol, which
 * allows one command per statement (a migration's several commands go unnamed, as before). A
 * connection prepares at most PREPARED_PER_CONNECTION statements; past that, new ones go
 * unnamed, so statements built with varying lists of values cannot fill the server's memory.
 */
export const PREPARED_PER_CONNECTION = 500;

type ClientState = { names: Set<string>; inTransaction: boolean; discard: boolean };

const STALE_PLAN = 'cached plan must not change result type';

export function preparingPool(pool: pg.Pool, options: { enabled: boolean }): PostgresPool {
  const wrapped = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  return {
    connect: async () => {
      const client = await pool.connect();
      let facade = wrapped.get(client);
      if (!facade) {
        facade = options.enabled ? preparingClient(client) : (client as unknown as PostgresPoolClient);
        wrapped.set(client, facade);
      }
      return facade;
    },
    end: () => pool.end(),
  };
}

function preparingClient(client: pg.PoolClient): PostgresPoolClient {
  const state: ClientState = { names: new Set(), inTransaction: false, discard: false };
  const query = async (text: string, parameters: ReadonlyArray<unknown>) => {
    if (parameters.length === 0) {
      trackTransaction(state, text);
      return client.query(text);
    }
    const values = [...parameters];
    const name = statementName(state, text);
    if (!name) return client.query(text, values);
    try {
      return await client.query({ name, text, values });
    } catch (error) {
      if (!String((error as Error).message).includes(STALE_PLAN)) throw error;
      state.discard = true;
      if (state.inTransaction) throw error;
      return client.query(text, values);
    }
  };
  return {
    query: query as unknown as PostgresPoolClient['query'],
    release: (destroy?: boolean) => {
      if (state.discard || destroy) {
        // The facade goes with its connection: the pool opens a new one, with no statements.
        state.names.clear();
        state.discard = false;
        state.inTransaction = false;
        client.release(true);
        return;
      }
      client.release();
    },
  };
}

/** The statement's name on this connection, or null when it should go unnamed (the connection is full). */
function statementName(state: ClientState, text: string): string | null {
  const name = nameOf(text);
  if (state.names.has(name)) return name;
  if (state.names.size >= PREPARED_PER_CONNECTION) return null;
  state.names.add(name);
  return name;
}

/** A statement's name is a hash of its text, remembered: hashing a long statement at every request cost more than a map look-up. */
const names = new Map<string, string>();
const NAMES_MAX = 5_000;
function nameOf(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `s${createHash('sha1').update(text).digest('base64url')}`;
    if (names.size >= NAMES_MAX) names.clear();
    names.set(text, name);
  }
  return name;
}

function trackTransaction(state: ClientState, text: string) {
  const command = text.trimStart().slice(0, 18).toLowerCase();
  if (command.startsWith('begin') || command.startsWith('start transaction')) state.inTransaction = true;
  else if (command.startsWith('commit') || command.startsWith('rollback') || command.startsWith('end')) state.inTransaction = command.startsWith('rollback to');
}


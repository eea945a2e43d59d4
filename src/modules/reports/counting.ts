import {
  AndNode,
  createQueryId,
  DummyDriver,
  Kysely,
  NoResultError,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
  WhereNode,
  type AliasedExpression,
  type Expression,
  type KyselyPlugin,
  type OperationNode,
  type RootOperationNode,
  type SelectQueryNode,
  type SqlBool,
} from 'kysely';
import type { Db } from '../../db/index.ts';
import type { Database } from '../../db/types.ts';
import type { DataScope } from '../../platform/access.ts';
import type { IsoDate } from '../../platform/working-days.ts';
import { countActions, type ActionCriteria } from '../actions/queries.ts';
import { countTrackerAuditsBy, type TrackerCriteria } from '../audits/queries.ts';
import { memoised } from './memo.ts';

/**
 * Many figures in one statement, each counted by exactly the filter of the list it links to.
 *
 * A report's figure is a count of the tracker's (or the actions list's) rows for some criteria,
 * and its link opens that list with the same criteria. The lists' queries belong to their own
 * modules. Here a list's query is built as its module builds it, on a handle that compiles and
 * never sends (Kysely's DummyDriver), and read: its rows and joins, and its filter as a list of
 * conditions. A report section then sends one statement over the list's rows for the section's
 * criteria, with one `count(*) filter (where …)` per figure holding the conditions that figure's
 * criteria add. So each filter keeps one definition — the list's — and a section with twenty
 * figures asks the database once instead of twenty times.
 */

/** Builds queries as any handle does and never sends them: nothing comes back. */
const compileOnly = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

/** A list's query for some criteria, and the conditions its filter is made of (each with a key to compare by). */
export type ListQuery = { node: SelectQueryNode; conditions: { node: OperationNode; key: string }[] };

async function listQuery(ask: (db: Db) => Promise<unknown>): Promise<ListQuery> {
  let node: RootOperationNode | undefined;
  // The list's own statement is the last built: a subquery's builder would be seen before it.
  const reader: KyselyPlugin = {
    transformQuery: (args) => (node = args.node),
    transformResult: async (args) => args.result,
  };
  try {
    await ask(compileOnly.withPlugin(reader));
  } catch (error) {
    // Nothing comes back, so a list that asks for its first row or else throws, throws.
    if (!(error instanceof NoResultError)) throw error;
  }
  if (node?.kind !== 'SelectQueryNode') throw new Error('the list built no query');
  return { node, conditions: conjuncts(node.where?.where).map((condition) => ({ node: condition, key: JSON.stringify(condition) })) };
}

function conjuncts(node: OperationNode | undefined): OperationNode[] {
  if (!node) return [];
  return AndNode.is(node) ? [...conjuncts(node.left), ...conjuncts(node.right)] : [node];
}

/** The tracker's query for these criteria (audits/queries.ts), as the tracker page sends it; built once for the same inputs. */
export const trackerQuery = memoised(
  (scope: DataScope, criteria: TrackerCriteria, today: IsoDate) => listQuery((db) => countTrackerAuditsBy(db, scope, criteria, today, [])),
  (scope, criteria, today) => JSON.stringify([scope, criteria, today]),
  500,
);

/** The actions list's query for these criteria (actions/queries.ts), as the actions page sends it; built once for the same inputs. */
export const actionsQuery = memoised(
  (scope: DataScope, criteria: ActionCriteria, today: IsoDate) => listQuery((db) => countActions(db, scope, criteria, today)),
  (scope, criteria, today) => JSON.stringify([scope, criteria, today]),
  200,
);

const asExpression = (node: OperationNode): Expression<SqlBool> => ({
  get expressionType() {
    return undefined;
  },
  toOperationNode: () => node,
});

/**
 * What `narrower` adds to `base`'s filter, as one condition: over the rows `base` finds, the
 * rows `narrower` finds. A figure narrows its section's criteria; one that dropped or changed
 * any of them could not be counted over the section's rows, and is refused.
 */
export function narrowing(base: ListQuery, narrower: ListQuery): Expression<SqlBool> {
  const kept = new Set(narrower.conditions.map((condition) => condition.key));
  if (base.conditions.some((condition) => !kept.has(condition.key))) throw new Error('a figure’s criteria must narrow its section’s, not change them');
  const inBase = new Set(base.conditions.map((condition) => condition.key));
  const added = narrower.conditions.filter((condition) => !inBase.has(condition.key)).map((condition) => asExpression(condition.node));
  return added.length ? sql<SqlBool>`(${sql.join(added, sql` and `)})` : sql<SqlBool>`true`;
}

/**
 * Runs `work` with PostgreSQL's JIT compilation off, in a transaction of its own (one the caller
 * holds already is used as it is). A statement that asks a correlated subquery of every audit in
 * reach (when each stage ended, whether a case direction was given) is costed high, and the server
 * then compiles it to machine code before running it: for a council with 666 audits that took
 * 0.4 s, to run a statement that takes 36 ms without it.
 */
export async function withoutJit<R>(db: Db, work: (db: Db) => Promise<R>): Promise<R> {
  if (db.isTransaction) return work(db);
  return db.transaction().execute(async (trx) => {
    await sql`set local jit = off`.execute(trx);
    return work(trx);
  });
}

/** `count(*) filter (where …)`: the rows of the statement that meet the condition. */
export const countWhere = (condition: Expression<SqlBool>) => sql<number>`count(*) filter (where ${condition})::int`;

/**
 * One statement over the list's rows for `base` — its joins and filter as the list has them —
 * selecting `selections`, grouped by the `groupBy` columns, and only over the rows `within`
 * when given.
 */
export async function selectOver<R>(db: Db, base: ListQuery, selections: readonly AliasedExpression<unknown, string>[], groupBy: readonly string[] = [], within?: Expression<SqlBool>): Promise<R[]> {
  const shaped = compileOnly.selectNoFrom(selections as AliasedExpression<unknown, string>[]);
  const shape = (groupBy.length ? shaped.groupBy(groupBy.map((column) => sql.ref(column))) : shaped).toOperationNode();
  const filter = base.node.where?.where;
  const where = within ? WhereNode.create(filter ? AndNode.create(filter, within.toOperationNode()) : within.toOperationNode()) : base.node.where;
  const node: SelectQueryNode = Object.freeze({ ...base.node, selections: shape.selections, groupBy: shape.groupBy, where });
  const executor = db.getExecutor();
  const queryId = createQueryId();
  const compiled = executor.compileQuery<R>(executor.transformQuery(node, queryId), queryId);
  return (await db.executeQuery(compiled)).rows;
}

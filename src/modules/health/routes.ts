import type { FastifyInstance } from 'fastify';
import type { AppDependencies } from '../../platform/http/types.ts';
import { databaseIsReachable } from '../../db/index.ts';

/** For load balancers: 200 while the database answers, 503 when it does not. */
export async function healthRoutes(app: FastifyInstance, deps: AppDependencies) {
  app.get('/health', { config: { access: 'public' } }, async (_request, reply) => {
    const up = await databaseIsReachable(deps.db);
    return reply
      .code(up ? 200 : 503)
      .header('Cache-Control', 'no-store')
      .send({ status: up ? 'ok' : 'unavailable', database: up ? 'up' : 'down' });
  });
}

import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import type { Db } from '../../src/db/index.ts';
import { systemClock, type Clock } from '../../src/platform/clock.ts';
import { openTestDatabase, type Driver } from './database.ts';

export type TestApp = { app: FastifyInstance; db: Db; config: Config; clock: Clock; close: () => Promise<void> };

export function testConfig(overrides: Record<string, string> = {}): Config {
  // MFA by role is off unless a test asks for it (test/mfa.test.ts): other tests sign in with a password alone.
  return loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATA_DIR: './data/test', MFA_REQUIRED_ROLES: '', ...overrides });
}

/** An app on a test database; pass a fixed clock to set business time for the app and its SQL together. */
export async function createTestApp(driver: Driver, overrides: Record<string, string> = {}, clock: Clock = systemClock): Promise<TestApp> {
  const handle = await openTestDatabase(driver);
  const config = testConfig(overrides);
  const app = await buildApp({ db: handle.db, config, clock });
  await app.ready();
  return {
    app,
    db: handle.db,
    config,
    clock,
    close: async () => {
      await app.close();
      await handle.close();
    },
  };
}

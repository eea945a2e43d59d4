import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { notFound } from '../../platform/errors.ts';

/** What every audit page reads from its request, in one place. The schemas are made once, not per request. */

const AUDIT_ID = z.uuid();
const VERSION = z.coerce.number().int().min(0);

/** The audit's id from the address; anything that is not an id is "not found", like an unknown audit. */
export function auditIdParam(request: FastifyRequest): string {
  const parsed = AUDIT_ID.safeParse((request.params as { id?: string }).id);
  if (!parsed.success) throw notFound('Audit');
  return parsed.data;
}

/**
 * The version of the audit the person's page was loaded at (its `_version` field). Missing or
 * malformed counts as -1, which no audit has, so the save is refused as stale, never applied blind.
 */
export function postedVersion(body: Record<string, unknown>): number {
  const parsed = VERSION.safeParse(body._version);
  return parsed.success ? parsed.data : -1;
}

import { expect } from 'vitest';
import type { Db } from '../../src/db/index.ts';
import { DETAILS_PAGE } from '../../src/modules/audits/form/answers.ts';
import { formPages } from '../../src/modules/audits/form/form.ts';
import type { AuditTool } from '../../src/modules/tools/schema.ts';
import { pageText, type TestClient } from './client.ts';
import { completeModeratorsPart, completePage } from './form-fields.ts';

/**
 * An audit taken through its pages over HTTP, as people do: the auditor fills in every page
 * and submits; the moderator moderates. Shared by the tests of the later stages.
 */

export const versionOf = (html: string) => /name="_version" value="(\d+)"/.exec(html)?.[1] ?? 'missing';

/** A built-in tool of the organisation by its key: the tool's id and its definition. */
export async function builtInTool(db: Db, organisationId: string, key: string): Promise<{ toolId: string; tool: AuditTool }> {
  const edition = await db
    .selectFrom('audit_tool_editions')
    .innerJoin('audit_tools', 'audit_tools.id', 'audit_tool_editions.tool_id')
    .select(['audit_tools.id', 'audit_tool_editions.definition'])
    .where('audit_tools.organisation_id', '=', organisationId)
    .where('audit_tools.key', '=', key)
    // The edition new audits are allocated on: the newest.
    .orderBy('audit_tool_editions.published_at', 'desc')
    .orderBy('audit_tool_editions.created_at', 'desc')
    .orderBy('audit_tool_editions.edition', 'desc')
    .executeTakeFirstOrThrow();
  return { toolId: edition.id, tool: (typeof edition.definition === 'string' ? JSON.parse(edition.definition) : edition.definition) as AuditTool };
}

/** Every page of the form filled in and saved (the overall grade as given), then submitted. */
export async function completeAndSubmit(client: TestClient, tool: AuditTool, auditId: string, fill: { staffId: string; today: string; overall?: string }) {
  for (const page of formPages(tool)) {
    const url = page === DETAILS_PAGE ? `/audits/${auditId}/form/details` : `/audits/${auditId}/form/sections/${page}`;
    const opened = await client.get(url);
    expect(opened.statusCode, url).toBe(200);
    // The details page comes prefilled from the register: keep what it shows.
    const prefilled = Object.fromEntries([...opened.body.matchAll(/name="([a-z][a-z0-9_]*)"[^>]*value="([^"]+)"/g)].map((match) => [match[1]!, match[2]!]));
    const fields = completePage(tool, page, { staffId: fill.staffId, today: fill.today });
    if (fill.overall && tool.overall && tool.overall.answer in fields) fields[tool.overall.answer] = fill.overall;
    const saved = await client.post(url, { _version: versionOf(opened.body), ...fields, ...(page === DETAILS_PAGE ? prefilled : {}) });
    expect(saved.statusCode, `${page}: ${pageText(saved.body).slice(0, 400)}`).toBe(303);
  }
  const check = await client.get(`/audits/${auditId}/form/check`);
  const submitted = await client.post(`/audits/${auditId}/form/submit`, { _version: versionOf(check.body) });
  expect(submitted.statusCode, pageText(submitted.body).slice(0, 400)).toBe(303);
}

/** The moderation form's grades as it opens: each radio's checked value. */
export function openedGrades(html: string): Record<string, string> {
  return Object.fromEntries([...html.matchAll(/name="(grade-[a-z0-9_]+)"[^>]*value="([^"]+)"[^>]*checked/g)].map((match) => [match[1]!, match[2]!]));
}

/**
 * The moderator moderates, keeping the auditor's grades except those changed (with their
 * reasons), and answering the tool's own questions for the moderator (its moderation section).
 */
export async function moderateOverHttp(client: TestClient, auditId: string, changes: Record<string, string>, part: { tool: AuditTool; staffId: string; today: string }) {
  const page = await client.get(`/audits/${auditId}/moderate`);
  expect(page.statusCode).toBe(200);
  const grades = openedGrades(page.body);
  const overall = changes['grade-overall'] ?? grades['grade-overall'];
  const theirs = completeModeratorsPart(part.tool, { ...part, ...(overall ? { overall } : {}), overallChanged: overall !== grades['grade-overall'] });
  const done = await client.post(`/audits/${auditId}/moderate`, { _version: versionOf(page.body), ...grades, ...theirs, ...changes });
  expect(done.statusCode, pageText(done.body).slice(0, 600)).toBe(303);
}

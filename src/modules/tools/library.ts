/**
 * The audit-tool library: the tools an organisation audits with, and their editions.
 *
 * An edition is loaded from its YAML file, checked in full, and stored twice over: the checked
 * definition (what the audit form reads) and the file itself, byte for byte (what the edition
 * downloads back as). A published edition never changes — the database refuses it too — so an
 * audit started on an edition keeps reading the form it was started on. A changed form is a new
 * edition; loading the same file again changes nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { inTransaction, type Db } from '../../db/index.ts';
import { logActivity, type Actor } from '../../platform/activity.ts';
import type { AuditTool } from './schema.ts';
import { parseToolFile, type ToolFileError } from './tool-file.ts';

/** Where the built-in tools ship: one file per tool edition, <key>-<edition>.yaml. */
export const BUILT_IN_TOOLS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../audit-tools/builtin');

/** A tool file is a form, not a data set: anything larger is not one. */
export const MAX_TOOL_FILE_BYTES = 2 * 1024 * 1024;

export type LoadedToolFile = { ok: true; tool: AuditTool; bytes: Buffer; fileName: string } | { ok: false; errors: ToolFileError[] };

export type ImportResult =
  | { status: 'invalid'; errors: ToolFileError[] }
  /** The same key and edition is already published with other content: refused. */
  | { status: 'conflict'; message: string; toolId: string; editionId: string }
  /** The very same file is already published: nothing to do. */
  | { status: 'unchanged'; message: string; toolId: string; editionId: string; tool: AuditTool }
  | { status: 'imported'; message: string; toolId: string; editionId: string; tool: AuditTool };

/** Reads a tool file's bytes as UTF-8 text (a byte-order mark allowed) and checks it. */
export function checkToolFile(bytes: Uint8Array, fileName: string): LoadedToolFile {
  if (bytes.byteLength === 0) return fileProblem(fileName, 'the file is empty');
  if (bytes.byteLength > MAX_TOOL_FILE_BYTES) return fileProblem(fileName, `the file is larger than ${MAX_TOOL_FILE_BYTES / 1024 / 1024} MB: a tool file is much smaller`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return fileProblem(fileName, 'the file is not UTF-8 text: save it as UTF-8 and try again');
  }
  if (text.includes('\u0000')) return fileProblem(fileName, 'the file is not a text file: it contains NUL characters');
  const parsed = parseToolFile(text.startsWith('\uFEFF') ? text.slice(1) : text, fileName);
  return parsed.ok ? { ok: true, tool: parsed.tool, bytes: Buffer.from(bytes), fileName } : parsed;
}

/** Reads and checks a tool file from disk. Touches no database. */
export function loadToolFile(filePath: string): LoadedToolFile {
  return checkToolFile(fs.readFileSync(filePath), path.basename(filePath));
}

/** One problem as a line a person reads: `sections[3].answers[2].scale (line 40): unknown scale "x"`. */
export function describeToolError(error: ToolFileError): string {
  const where = error.path || 'file';
  const line = error.line !== undefined && !error.message.includes(`(line ${error.line})`) ? ` (line ${error.line})` : '';
  return `${where}${line}: ${error.message}`;
}

/** One problem as a line on the command line: `FILE:LINE: path: message` (no line or path when unknown). */
export function toolErrorLine(fileLabel: string, error: ToolFileError): string {
  const line = error.line !== undefined ? `:${error.line}` : '';
  return `${fileLabel}${line}: ${error.path ? `${error.path}: ` : ''}${error.message}`;
}

/**
 * Checks a tool file and adds it to the organisation's library as a published edition, in one
 * transaction. The same file again is a no-op; other content under a published key and
 * edition is refused.
 */
export async function importToolEdition(db: Db, organisationId: string, yamlText: string | Uint8Array, fileName: string, actor: Actor): Promise<ImportResult> {
  const loaded = checkToolFile(typeof yamlText === 'string' ? new TextEncoder().encode(yamlText) : yamlText, fileName);
  if (!loaded.ok) return { status: 'invalid', errors: loaded.errors };
  return inTransaction(db, (trx) => storeEdition(trx, organisationId, loaded, actor));
}

async function storeEdition(trx: Db, organisationId: string, file: Extract<LoadedToolFile, { ok: true }>, actor: Actor): Promise<ImportResult> {
  const { tool } = file;
  const toolId = await findOrCreateTool(trx, organisationId, tool);
  const inserted = await trx
    .insertInto('audit_tool_editions')
    .values({
      organisation_id: organisationId,
      tool_id: toolId,
      edition: tool.edition,
      definition: JSON.stringify(tool),
      source: tool.source,
      schema_version: tool.schemaVersion,
      source_file: file.bytes,
      file_name: file.fileName,
      created_by: actor.principal?.userId ?? null,
    })
    .onConflict((oc) => oc.columns(['tool_id', 'edition']).doNothing())
    .returning('id')
    .executeTakeFirst();
  const title = `${tool.name} edition ${tool.edition}`;
  if (!inserted) return compareWithPublished(trx, toolId, file, title);
  // The tool's name and description follow the edition loaded last.
  await trx.updateTable('audit_tools').set({ name: tool.name, description: tool.description }).where('id', '=', toolId).execute();
  await logActivity(trx, actor, { action: 'import', recordType: 'audit_tool_edition', recordId: inserted.id, summary: `${title} loaded from ${file.fileName}` });
  return { status: 'imported', message: `${title} has been added to the library`, toolId, editionId: inserted.id, tool };
}

async function findOrCreateTool(trx: Db, organisationId: string, tool: AuditTool): Promise<string> {
  await trx
    .insertInto('audit_tools')
    .values({ organisation_id: organisationId, key: tool.key, name: tool.name, description: tool.description })
    .onConflict((oc) => oc.columns(['organisation_id', 'key']).doNothing())
    .execute();
  const row = await trx.selectFrom('audit_tools').select('id').where('organisation_id', '=', organisationId).where('key', '=', tool.key).executeTakeFirstOrThrow();
  return row.id;
}

async function compareWithPublished(trx: Db, toolId: string, file: Extract<LoadedToolFile, { ok: true }>, title: string): Promise<ImportResult> {
  const published = await trx
    .selectFrom('audit_tool_editions')
    .select(['id', 'source_file', 'definition'])
    .where('tool_id', '=', toolId)
    .where('edition', '=', file.tool.edition)
    .executeTakeFirstOrThrow();
  if (published.source_file && Buffer.from(published.source_file).equals(file.bytes)) {
    return { status: 'unchanged', message: `${title} is already in the library, exactly as in this file: nothing has changed`, toolId, editionId: published.id, tool: file.tool };
  }
  // jsonb keeps no key order, so the forms are compared as values.
  const sameForm = isDeepStrictEqual(published.definition, JSON.parse(JSON.stringify(file.tool)));
  const difference = sameForm ? 'a different file (the form is the same, but its layout or comments differ)' : 'different content';
  return {
    status: 'conflict',
    message: `${title} is already published with ${difference}. A published edition never changes: give the changed file a new edition (for example "${file.tool.edition}.1") and load that`,
    toolId,
    editionId: published.id,
  };
}

/**
 * Loads every built-in tool (audit-tools/builtin/*.yaml) into an organisation. Every file is
 * checked before any is loaded, and a file that is not valid stops the load with its name and
 * problems: a council is never given half a library.
 */
export async function loadBuiltInTools(db: Db, organisationId: string, actor?: Actor, directory = BUILT_IN_TOOLS_DIR): Promise<ImportResult[]> {
  const files = builtInToolFiles(directory);
  const loaded = files.map((file) => {
    const result = loadToolFile(file);
    if (!result.ok) {
      const problems = result.errors.slice(0, 10).map(describeToolError).join('; ');
      const more = result.errors.length > 10 ? `; and ${result.errors.length - 10} more` : '';
      throw new Error(`the built-in tool file ${path.relative(path.resolve(directory, '../..'), file)} is not valid: ${problems}${more}`);
    }
    return result;
  });
  // Without an actor (tests and scripts) the load is logged at the system clock's time: no rule reads it.
  const by: Actor = actor ?? { principal: null, ipAddress: null, at: new Date(), label: 'built-in tools', organisationId };
  return inTransaction(db, async (trx) => {
    const results: ImportResult[] = [];
    for (const file of loaded) {
      const result = await storeEdition(trx, organisationId, file, by);
      if (result.status === 'conflict') throw new Error(`the built-in tool file ${file.fileName} cannot be loaded: ${result.message}`);
      results.push(result);
    }
    return results;
  });
}

export function builtInToolFiles(directory = BUILT_IN_TOOLS_DIR): string[] {
  if (!fs.existsSync(directory)) return [];
  return fs
    .readdirSync(directory)
    .filter((name) => /\.ya?ml$/i.test(name))
    .sort()
    .map((name) => path.join(directory, name));
}

// ---------------------------------------------------------------------------------------------
// Reading the library

export type ToolSummary = {
  id: string;
  key: string;
  name: string;
  description: string;
  editions: { id: string; edition: string; status: 'published' | 'archived'; publishedAt: Date; fileName: string | null; audits: number }[];
};

/** The organisation's tools by name, each with its editions, newest first, and how many audits use each. */
export async function listTools(db: Db, organisationId: string): Promise<ToolSummary[]> {
  const tools = await db.selectFrom('audit_tools').select(['id', 'key', 'name', 'description']).where('organisation_id', '=', organisationId).orderBy('name').orderBy('key').execute();
  const editions = await db
    .selectFrom('audit_tool_editions as editions')
    .leftJoin('audits', 'audits.tool_edition_id', 'editions.id')
    .select((eb) => ['editions.id', 'editions.tool_id', 'editions.edition', 'editions.status', 'editions.published_at', 'editions.file_name', eb.fn.count<number>('audits.id').as('audits')])
    .where('editions.organisation_id', '=', organisationId)
    .groupBy(['editions.id', 'editions.tool_id', 'editions.edition', 'editions.status', 'editions.published_at', 'editions.file_name'])
    .orderBy('editions.published_at', 'desc')
    .orderBy('editions.edition', 'desc')
    .execute();
  return tools.map((tool) => ({
    ...tool,
    editions: editions
      .filter((edition) => edition.tool_id === tool.id)
      .map((edition) => ({ id: edition.id, edition: edition.edition, status: edition.status, publishedAt: edition.published_at, fileName: edition.file_name, audits: Number(edition.audits) })),
  }));
}

/** One edition of one of the organisation's tools, with its definition and file; undefined if not theirs. */
export async function findEdition(db: Db, organisationId: string, toolId: string, editionId: string) {
  const row = await db
    .selectFrom('audit_tool_editions as editions')
    .innerJoin('audit_tools as tools', 'tools.id', 'editions.tool_id')
    .leftJoin('users', 'users.id', 'editions.created_by')
    .select([
      'editions.id',
      'editions.edition',
      'editions.status',
      'editions.definition',
      'editions.source',
      'editions.schema_version',
      'editions.source_file',
      'editions.file_name',
      'editions.published_at',
      'tools.id as tool_id',
      'tools.key as tool_key',
      'tools.name as tool_name',
      'users.display_name as published_by',
    ])
    .where('editions.organisation_id', '=', organisationId)
    .where('editions.tool_id', '=', toolId)
    .where('editions.id', '=', editionId)
    .executeTakeFirst();
  if (!row) return undefined;
  const audits = await db.selectFrom('audits').select((eb) => eb.fn.countAll<number>().as('count')).where('tool_edition_id', '=', editionId).executeTakeFirstOrThrow();
  return { ...row, definition: row.definition as AuditTool, audits: Number(audits.count) };
}

/** The name an edition downloads as: the file it was loaded from, or <key>-<edition>.yaml. */
export function downloadName(edition: { file_name: string | null; tool_key: string; edition: string }): string {
  const name = edition.file_name ?? `${edition.tool_key}-${edition.edition}.yaml`;
  return name.replace(/[^\w.-]+/g, '_');
}

// ---------------------------------------------------------------------------------------------

function fileProblem(fileName: string, message: string): LoadedToolFile {
  return { ok: false, errors: [{ file: fileName, path: '', message }] };
}



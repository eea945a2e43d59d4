import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';

/**
 * An uploaded extract is spooled to a file named after its import, read from there, and
 * deleted however the import ends. A process that dies leaves its spool behind: the server
 * sweeps those at start (`sweepUploadSpool`), keeping only the files of imports still running.
 */

/** One limit for the page and the API. */
export const MAX_EXTRACT_BYTES = 200 * 1024 * 1024;
export const TOO_LARGE = 'The selected file is larger than 200 MB, the most Assure accepts: split the extract, or remove columns Assure does not read';
export const CUT_OFF = 'The upload stopped before the whole file arrived. Nothing was imported; upload the file again';
const EMPTY = 'The selected file is empty';

/**
 * Writes the upload to `target`, counting bytes. Past the limit it stops writing but reads the
 * rest of the body without keeping it, so the client still gets a clear answer rather than a
 * dropped connection. Rejects when the body itself fails (a cut-off upload).
 */
async function writeLimited(input: Readable, target: string, limit: number): Promise<'written' | 'too-large'> {
  const output = fs.createWriteStream(target);
  let seen = 0;
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      seen += chunk.length;
      if (seen > limit) continue;
      if (!output.write(chunk)) await once(output, 'drain');
    }
  } finally {
    output.end();
    await finished(output).catch(() => {});
  }
  return seen > limit ? 'too-large' : 'written';
}

export async function spoolUpload(input: Readable & { truncated?: boolean }, uploadDir: string, importId: string, extension: string): Promise<{ path: string } | { error: string; tooLarge?: boolean }> {
  await fs.promises.mkdir(uploadDir, { recursive: true });
  const target = path.join(uploadDir, `${importId}${extension.toLowerCase()}`);
  let written: 'written' | 'too-large';
  try {
    written = await writeLimited(input, target, MAX_EXTRACT_BYTES);
  } catch (error) {
    await removeSpool(target);
    // The multipart reader fails the file stream itself once the file passes its limit.
    if ((error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE' || input.truncated) return { error: TOO_LARGE, tooLarge: true };
    return { error: CUT_OFF };
  }
  if (written === 'too-large' || input.truncated) {
    await removeSpool(target);
    return { error: TOO_LARGE, tooLarge: true };
  }
  if ((await fs.promises.stat(target)).size === 0) {
    await removeSpool(target);
    return { error: EMPTY };
  }
  return { path: target };
}

export async function removeSpool(file: string) {
  await fs.promises.rm(file, { force: true });
}

/** Deletes spooled uploads whose import is not one of `running` (by import id). */
export async function sweepUploadSpool(uploadDir: string, running: ReadonlySet<string>): Promise<number> {
  let removed = 0;
  const names = await fs.promises.readdir(uploadDir).catch(() => [] as string[]);
  for (const name of names) {
    const importId = /^([0-9a-f-]{36})\.(csv|xlsx)$/i.exec(name)?.[1];
    if (importId && running.has(importId)) continue;
    if (!importId && !/\.(csv|xlsx)$/i.test(name)) continue;
    await removeSpool(path.join(uploadDir, name));
    removed++;
  }
  return removed;
}

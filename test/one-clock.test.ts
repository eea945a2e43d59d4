import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Business time comes from one clock (src/platform/clock.ts), in code and in SQL, so that the
 * suite passes on any date and at any hour. The database's own date is UTC's, a day behind the
 * UK's for an hour each summer night, and a step of 24 hours is not a calendar day across a
 * change of the clocks: both once made a test fail only late in the evening. This reads the
 * code and the tests for the ways those came in.
 */

const ROOT = path.join(import.meta.dirname, '..');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true }).flatMap((entry) =>
    entry.isFile() && entry.name.endsWith('.ts') ? [path.relative(ROOT, path.join(entry.parentPath, entry.name))] : [],
  );
}

/** The lines of a file that are code (not comments), numbered. */
function codeLines(file: string): { line: number; text: string }[] {
  return fs
    .readFileSync(path.join(ROOT, file), 'utf8')
    .split('\n')
    .map((text, index) => ({ line: index + 1, text }))
    .filter(({ text }) => !/^\s*(\*|\/\/|\/\*)/.test(text));
}

function offending(files: string[], pattern: RegExp): string[] {
  return files.flatMap((file) => codeLines(file).flatMap(({ line, text }) => (pattern.test(text) ? [`${file}:${line}: ${text.trim()}`] : [])));
}

// Migrations may give bookkeeping columns a default; this file names what it looks for. The
// benchmarks assert nothing about dates (their baselines may ask SQL), so they are not read.
const code = [...sourceFiles('src'), ...sourceFiles('test'), ...sourceFiles('scripts')].filter(
  (file) => !file.includes(`${path.sep}migrations${path.sep}`) && !file.endsWith('one-clock.test.ts'),
);

describe('one clock', () => {
  it('never asks SQL for the date', () => {
    expect(offending(code, /\b(current_date|current_timestamp|localtimestamp)\b/i)).toEqual([]);
  });

  it('counts days in calendar days from a UK date, not in steps of 24 hours', () => {
    // addDays(ukToday(clock), n), not ukDateAt(new Date(Date.now() + n * 86_400_000)).
    expect(offending(code, /ukDateAt\(\s*new Date\(\s*(Date\.now\(\)|\w+\.getTime\(\))\s*[+-][^)]*86_?400_?000/)).toEqual([]);
  });

  it('reads this suite as it is: the checks above find what they look for', () => {
    expect(code.length).toBeGreaterThan(100);
    expect(offending(['test/one-clock.test.ts'], /\bcurrent_date\b/)).not.toEqual([]);
  });
});

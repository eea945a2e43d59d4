/**
 * Text people typed, made safe to write into a downloaded document. A DOCX or PDF is often
 * copied on into a spreadsheet, so text that starts like a formula is neutralised exactly as
 * the tracker's CSV does it; control characters (which XML cannot hold) are dropped; line ends
 * become "\n".
 */
import { neutralise } from '../export.ts';

const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\uFFFE\uFFFF]/g;

export function typedForExport(text: string): string {
  return neutralise(text.replace(CONTROL, '')).replace(/\r\n?/g, '\n');
}

/** A file name part: letters, digits, dot, hyphen and underscore only. */
export function fileNamePart(text: string): string {
  return text.replace(/[^\w.-]+/g, '_').replace(/^[._]+/, '').slice(0, 60) || 'child';
}

/**
 * One audit as a PDF, from the same document model as the DOCX and the read view, in the same
 * order: details, overall grade, then each section with its questions and answers.
 *
 * It uses PDF's standard Helvetica, which needs no font file but can only draw the Windows
 * "ANSI" characters (Latin-1 plus curly quotes, dashes, ellipsis, euro…). Anything else is
 * mapped first: accents on other letters are dropped (ł → l), a few symbols are spelled out,
 * and what is left becomes "?" rather than a wrong glyph.
 */
import { linkedTextPlain } from '../../../platform/linked-text.ts';
import PDFDocument from 'pdfkit';
import type { AnswerRow, AuditDocument, DocumentBlock, LimitNote } from './model.ts';

type Pdf = InstanceType<typeof PDFDocument>;

/** Characters beyond Latin-1 that the standard fonts' encoding (WinAnsi) can draw. */
const WIN_ANSI_EXTRA = new Set('€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ');

const SPELLED: Record<string, string> = {
  '\u0141': 'L',
  '\u0142': 'l',
  '\u0110': 'D',
  '\u0111': 'd',
  '\u0131': 'i',
  '\u2212': '-',
  '\u2010': '-',
  '\u2011': '-',
  '\u2192': '->',
  '\u2190': '<-',
  '\u2264': '<=',
  '\u2265': '>=',
  '\u2260': '!=',
  '\u2032': "'",
  '\u2033': '"',
  '\u2022': '•',
  '\u200B': '',
  '\u200C': '',
  '\u200D': '',
  '\uFEFF': '',
  '\u00AD': '',
};

function drawable(char: string): boolean {
  const code = char.codePointAt(0)!;
  return char === '\n' || (code >= 0x20 && code <= 0x7e) || (code >= 0xa0 && code <= 0xff) || WIN_ANSI_EXTRA.has(char);
}

/** Text the standard fonts can draw: see the comment at the top. */
export function pdfText(text: string): string {
  let out = '';
  for (const char of text.replace(/\r\n?/g, '\n').replace(/\t/g, '    ')) {
    if (drawable(char)) {
      out += char;
      continue;
    }
    if (char in SPELLED) {
      out += SPELLED[char];
      continue;
    }
    if (/\s/u.test(char)) {
      out += ' ';
      continue;
    }
    const plain = char.normalize('NFKD').replace(/\p{M}/gu, '');
    out += plain && [...plain].every(drawable) ? plain : /\p{C}/u.test(char) ? '' : '?';
  }
  return out;
}

const MARGIN = 50;
/** Longer cell text than this could make a table row taller than a page. */
const LONGEST_CELL = 1200;
const GREY = '#505a5f';

function heading(doc: Pdf, text: string, size: number, before = 10) {
  if (doc.y > doc.page.height - MARGIN - 80) doc.addPage();
  doc.moveDown(before / 12).font('Helvetica-Bold').fontSize(size).fillColor('black').text(pdfText(text));
  doc.moveDown(0.3);
}

function body(doc: Pdf, text: string, options: { bold?: boolean; italic?: boolean; color?: string; indent?: number } = {}) {
  const font = options.bold ? 'Helvetica-Bold' : options.italic ? 'Helvetica-Oblique' : 'Helvetica';
  doc.font(font).fontSize(10).fillColor(options.color ?? 'black').text(pdfText(text), { indent: options.indent ?? 0, paragraphGap: 2 });
}

function bullets(doc: Pdf, items: string[], numbered = false) {
  doc.font('Helvetica').fontSize(10).fillColor('black');
  items.forEach((item, index) => doc.text(pdfText(`${numbered ? `${index + 1}.` : '•'} ${item}`), { indent: 10, paragraphGap: 2 }));
}

/** A question and its answer: the question in bold, the answer beneath it. */
function answer(doc: Pdf, row: AnswerRow) {
  body(doc, row.label, { bold: true });
  if (row.items?.length) bullets(doc, row.items);
  else if (row.value === null) body(doc, 'Not answered', { italic: true, color: GREY, indent: 10 });
  else body(doc, row.value, { indent: 10 });
  doc.moveDown(0.3);
}

function limitText(limit: LimitNote): string {
  return `Limiting judgement: ${limit.message} This grade can be no better than ${limit.atBest}.${limit.breached ? ' The grade given is better than this limit allows.' : ''}`;
}

function table(doc: Pdf, block: Extract<DocumentBlock, { type: 'table' }>) {
  body(doc, block.caption, { bold: true });
  if (!block.rows.length) {
    body(doc, block.empty, { italic: true, color: GREY });
    doc.moveDown(0.5);
    return;
  }
  // A table row cannot run over a page; a table with a very long cell is written row by row instead.
  if (block.rows.some((row) => 'cells' in row && row.cells.some((text) => text.length > LONGEST_CELL))) {
    block.rows.forEach((row, index) => {
      if ('heading' in row) return body(doc, row.heading, { bold: true });
      body(doc, `Row ${index + 1}`, { italic: true, color: GREY });
      row.cells.forEach((text, column) => answer(doc, { label: block.head[column] ?? '', value: text === '' ? null : text }));
    });
    doc.moveDown(0.5);
    return;
  }
  doc.font('Helvetica').fontSize(9).fillColor('black');
  const rows = [
    block.head.map((text) => ({ text: pdfText(text), font: { src: 'Helvetica-Bold' }, backgroundColor: '#dee0e2', type: 'TH' as const })),
    ...block.rows.map((row) =>
      'heading' in row ? [{ text: pdfText(row.heading), colSpan: block.head.length, font: { src: 'Helvetica-Bold' }, backgroundColor: '#f3f2f1' }] : row.cells.map((text) => pdfText(text)),
    ),
  ];
  doc.table({ data: rows, defaultStyle: { padding: [3, 4, 3, 4], border: 0.5, borderColor: '#b1b4b6' } });
  doc.moveDown(0.8);
  doc.x = MARGIN;
}

function block(doc: Pdf, item: DocumentBlock) {
  switch (item.type) {
    case 'guidance':
      body(doc, linkedTextPlain(item.text), { italic: true });
      doc.moveDown(0.3);
      return;
    case 'prompts':
      bullets(doc, item.items, true);
      doc.moveDown(0.5);
      return;
    case 'subheading':
      heading(doc, item.text, 11, 4);
      return;
    case 'answers':
      for (const row of item.rows) answer(doc, row);
      return;
    case 'judgement':
      answer(doc, { label: item.label, value: item.grade?.label ?? null });
      for (const box of item.evidence) answer(doc, box);
      if (item.limit) body(doc, limitText(item.limit), { bold: true });
      if (item.descriptor.length && item.grade) {
        body(doc, `What ${item.grade.label} means here`, { italic: true, color: GREY });
        bullets(doc, item.descriptor);
      }
      doc.moveDown(0.5);
      return;
    case 'table':
      table(doc, item);
      return;
  }
}

/** Draws the audit and resolves with the PDF's bytes. */
export function auditPdf(document: AuditDocument): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margin: MARGIN,
    lang: 'en-GB',
    displayTitle: true,
    info: { Title: pdfText(`Case file audit ${document.reference}: ${document.toolName}`), Creator: 'Assure' },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  doc.font('Helvetica-Bold').fontSize(18).text(pdfText(document.toolName));
  body(doc, `Case file audit ${document.reference}: ${document.childInitials} (${document.childExternalId}). Edition ${document.edition}.`);
  heading(doc, 'The audit', 14);
  for (const row of document.details) answer(doc, row);
  if (document.outcome) {
    heading(doc, document.outcome.label, 14);
    body(doc, document.outcome.grade?.label ?? 'Not graded yet', { bold: true });
    if (document.outcome.limitedBy) body(doc, limitText(document.outcome.limitedBy));
    if (document.outcome.limits.length) {
      body(doc, 'Limiting judgements applied', { bold: true });
      bullets(doc, document.outcome.limits);
    }
  }
  for (const section of document.sections) {
    heading(doc, section.title, 14);
    for (const item of section.blocks) block(doc, item);
  }
  if (document.source) body(doc, `Form: ${document.source}`, { italic: true, color: GREY });
  doc.end();
  return done;
}

/**
 * One audit as a PDF, from the same document model as the DOCX and the read view, in the same
 * order: the grade that stands, details, then each section with its questions and answers. A
 * tool edition's blank form is drawn by the same code, with boxes to tick and lines to write on.
 * Every page carries the protective marking, the council, whose document it is and its number.
 *
 * It uses PDF's standard Helvetica, which needs no font file but can only draw the Windows
 * "ANSI" characters (Latin-1 plus curly quotes, dashes, ellipsis, euro…). Anything else is
 * mapped first: accents on other letters are dropped (ł → l), a few symbols are spelled out,
 * and what is left becomes "?" rather than a wrong glyph.
 */
import { linkedTextPlain } from '../../../platform/linked-text.ts';
import PDFDocument from 'pdfkit';
import type { AnswerRow, DocumentBlock, FormDocument, LimitNote, PageMarks } from './model.ts';

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
  '\u2610': '[ ]',
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

export const MARGIN = 50;
/** Longer cell text than this could make a table row taller than a page. */
const LONGEST_CELL = 1200;
const GREY = '#505a5f';

export function heading(doc: Pdf, text: string, size: number, before = 10) {
  if (doc.y > doc.page.height - MARGIN - 80) doc.addPage();
  doc.moveDown(before / 12).font('Helvetica-Bold').fontSize(size).fillColor('black').text(pdfText(text));
  doc.moveDown(0.3);
}

export function body(doc: Pdf, text: string, options: { bold?: boolean; italic?: boolean; color?: string; indent?: number } = {}) {
  const font = options.bold ? 'Helvetica-Bold' : options.italic ? 'Helvetica-Oblique' : 'Helvetica';
  doc.font(font).fontSize(10).fillColor(options.color ?? 'black').text(pdfText(text), { indent: options.indent ?? 0, paragraphGap: 2 });
}

function bullets(doc: Pdf, items: string[], numbered = false) {
  doc.font('Helvetica').fontSize(10).fillColor('black');
  items.forEach((item, index) => doc.text(pdfText(`${numbered ? `${index + 1}.` : '•'} ${item}`), { indent: 10, paragraphGap: 2 }));
}

/** Room for the next `height` points, or a new page. */
export function keepRoom(doc: Pdf, height: number) {
  if (doc.y + height > doc.page.height - MARGIN) doc.addPage();
}

/** A box to tick before each option. */
function tickBoxes(doc: Pdf, options: string[], style: { bold?: boolean } = {}) {
  for (const option of options) {
    keepRoom(doc, 14);
    const y = doc.y;
    doc.lineWidth(0.7).strokeColor('black').rect(MARGIN + 10, y + 1, 8, 8).stroke();
    doc.font(style.bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(10).fillColor('black').text(pdfText(option), MARGIN + 24, y, { paragraphGap: 2 });
    doc.x = MARGIN;
  }
}

/** Boxes to tick side by side, running on to the next line when the row is full. */
function tickBoxesInline(doc: Pdf, options: string[]) {
  doc.font('Helvetica').fontSize(10).fillColor('black');
  keepRoom(doc, 14);
  let x = MARGIN + 10;
  let y = doc.y;
  for (const option of options) {
    const text = pdfText(option);
    const width = 14 + doc.widthOfString(text) + 16;
    if (x + width > doc.page.width - MARGIN && x > MARGIN + 10) {
      x = MARGIN + 10;
      y += 14;
      if (y + 14 > doc.page.height - MARGIN) {
        doc.addPage();
        y = doc.y;
      }
    }
    doc.lineWidth(0.7).strokeColor('black').rect(x, y + 1, 8, 8).stroke();
    doc.text(text, x + 14, y, { lineBreak: false });
    x += width;
  }
  doc.x = MARGIN;
  doc.y = y + 16;
}

/** Ruled lines to write on. */
function writingLines(doc: Pdf, lines: number) {
  for (let line = 0; line < lines; line += 1) {
    keepRoom(doc, 20);
    const y = doc.y + 18;
    doc.lineWidth(0.5).strokeColor('#b1b4b6').moveTo(MARGIN + 10, y).lineTo(doc.page.width - MARGIN, y).stroke();
    doc.y = y + 2;
  }
  doc.moveDown(0.3);
}

/** A question and its answer: the question in bold, the answer beneath it (or the space for it). */
function answer(doc: Pdf, row: AnswerRow) {
  body(doc, row.label, { bold: true });
  if (row.space?.kind === 'tick' && row.space.inline) tickBoxesInline(doc, row.space.options);
  else if (row.space?.kind === 'tick') tickBoxes(doc, row.space.options);
  else if (row.space?.kind === 'write') writingLines(doc, row.space.lines);
  else if (row.items?.length) bullets(doc, row.items);
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

export function block(doc: Pdf, item: DocumentBlock) {
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
      for (const row of item.summary) answer(doc, row);
      if (item.choices) {
        body(doc, item.label, { bold: true });
        for (const choice of item.choices) {
          tickBoxes(doc, [choice.label], { bold: true });
          if (choice.descriptor.length) bullets(doc, choice.descriptor);
        }
        doc.moveDown(0.3);
      }
      for (const box of item.evidence) answer(doc, box);
      if (item.limit) body(doc, limitText(item.limit), { bold: true });
      if (item.descriptor.length && item.descriptorOf) {
        body(doc, `What ${item.descriptorOf} means here`, { italic: true, color: GREY });
        bullets(doc, item.descriptor);
      }
      doc.moveDown(0.5);
      return;
    case 'table':
      table(doc, item);
      return;
  }
}

/**
 * The marking, the council and whose document at the top of every page; the same with the page
 * number at its foot. Drawn once every page exists (pages are buffered), so the total is known.
 */
export function markPages(doc: Pdf, marks: PageMarks) {
  const range = doc.bufferedPageRange();
  for (let index = range.start; index < range.start + range.count; index += 1) {
    doc.switchToPage(index);
    const { margins } = doc.page;
    // Writing in the margins must not start a new page.
    const bottom = margins.bottom;
    margins.bottom = 0;
    const width = doc.page.width - 2 * MARGIN;
    const line = (text: string, y: number, bold = false) =>
      doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(8).fillColor('black').text(pdfText(text), MARGIN, y, { width, align: 'center', lineBreak: false });
    line(marks.marking, 16, true);
    line(`${marks.council} · ${marks.subject}`, 27);
    line(`${marks.subject} · Page ${index - range.start + 1} of ${range.count}`, doc.page.height - 38);
    line(marks.marking, doc.page.height - 27, true);
    margins.bottom = bottom;
  }
}

/** Draws the document and resolves with the PDF's bytes. */
export function auditPdf(document: FormDocument, marks: PageMarks): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margin: MARGIN,
    lang: 'en-GB',
    displayTitle: true,
    bufferPages: true,
    info: { Title: pdfText(document.title), Creator: 'Assure' },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  doc.font('Helvetica-Bold').fontSize(18).text(pdfText(document.toolName));
  body(doc, document.subtitle);
  // The grade that stands comes first: the final grade once moderated, else the auditor's, said to be so.
  if (document.outcome) {
    heading(doc, document.outcome.label, 14);
    doc.font('Helvetica-Bold').fontSize(14).fillColor('black').text(pdfText(document.outcome.grade?.label ?? 'Not graded yet'), { paragraphGap: 4 });
    body(doc, document.outcome.note);
    if (document.outcome.limitedBy) body(doc, limitText(document.outcome.limitedBy));
    if (document.outcome.limits.length) {
      body(doc, 'Limiting judgements applied', { bold: true });
      bullets(doc, document.outcome.limits);
    }
  }
  if (document.details.length) {
    heading(doc, 'The audit', 14);
    for (const row of document.details) answer(doc, row);
  }
  for (const section of document.sections) {
    heading(doc, section.title, 14);
    for (const item of section.blocks) block(doc, item);
  }
  if (document.source) body(doc, `Form: ${document.source}`, { italic: true, color: GREY });
  markPages(doc, marks);
  doc.end();
  return done;
}

/**
 * One audit as a Word document, laid out like the paper forms: a heading per section, its
 * guidance and prompts, then two-column tables of question and answer, judgement rows with
 * their evidence, and the form's own tables (criteria, action plan) with a header row. A tool
 * edition's blank form is drawn by the same code, with spaces to write in and grades to tick.
 * Every page carries the protective marking, the council, whose document it is and its number.
 */
import { linkedTextPlain } from '../../../platform/linked-text.ts';
import {
  AlignmentType,
  BorderStyle,
  Document,
  Footer,
  Header,
  HeadingLevel,
  Packer,
  PageNumber,
  Paragraph,
  ShadingType,
  Table,
  TableCell,
  TableRow,
  TextRun,
  WidthType,
  type IParagraphOptions,
} from 'docx';
import type { AnswerRow, DocumentBlock, FormDocument, LimitNote, Outcome, PageMarks } from './model.ts';

const LABEL_FILL = 'F3F2F1';
const HEADER_FILL = 'DEE0E2';
const BORDER = { style: BorderStyle.SINGLE, size: 4, color: 'B1B4B6' };
const BORDERS = { top: BORDER, bottom: BORDER, left: BORDER, right: BORDER, insideHorizontal: BORDER, insideVertical: BORDER };

/** Runs of text, one line each: a typed answer keeps its line breaks. */
type RunStyle = { bold?: boolean; italics?: boolean; color?: string; size?: number };

function runs(text: string, style: RunStyle = {}): TextRun[] {
  return text.split('\n').map((line, index) => new TextRun({ text: line, break: index > 0 ? 1 : undefined, ...style }));
}

export function paragraph(text: string, options: Omit<IParagraphOptions, 'children'> & RunStyle = {}): Paragraph {
  const { bold, italics, color, size, ...rest } = options;
  return new Paragraph({ ...rest, children: runs(text, { bold, italics, color, size }) });
}

function cell(content: Paragraph[], options: { fill?: string; width?: number; columnSpan?: number } = {}): TableCell {
  return new TableCell({
    children: content.length ? content : [new Paragraph('')],
    ...(options.fill ? { shading: { fill: options.fill, type: ShadingType.CLEAR, color: 'auto' } } : {}),
    ...(options.width ? { width: { size: options.width, type: WidthType.PERCENTAGE } } : {}),
    ...(options.columnSpan ? { columnSpan: options.columnSpan } : {}),
    margins: { top: 60, bottom: 60, left: 100, right: 100 },
  });
}

const TICK = '☐';

function valueParagraphs(row: AnswerRow): Paragraph[] {
  if (row.space?.kind === 'tick' && row.space.inline) return [paragraph(row.space.options.map((option) => `${TICK} ${option}`).join('     '))];
  if (row.space?.kind === 'tick') return row.space.options.map((option) => paragraph(`${TICK} ${option}`));
  if (row.space?.kind === 'write') return Array.from({ length: row.space.lines }, () => new Paragraph({ text: '', spacing: { after: 120 } }));
  if (row.items?.length) return row.items.map((item) => paragraph(item, { bullet: { level: 0 } }));
  if (row.value === null) return [paragraph('Not answered', { italics: true, color: '505A5F' })];
  return [paragraph(row.value)];
}

function labelRow(label: string, value: Paragraph[]): TableRow {
  return new TableRow({ cantSplit: false, children: [cell([paragraph(label, { bold: true })], { fill: LABEL_FILL, width: 35 }), cell(value, { width: 65 })] });
}

function table(rows: TableRow[]): Table {
  return new Table({ rows, width: { size: 100, type: WidthType.PERCENTAGE }, borders: BORDERS });
}

function limitText(limit: LimitNote): string {
  return `${limit.message} This grade can be no better than ${limit.atBest}.${limit.breached ? ' The grade given is better than this limit allows.' : ''}`;
}

export const spacer = () => new Paragraph({ text: '', spacing: { after: 120 } });

export function blockContent(block: DocumentBlock): (Paragraph | Table)[] {
  switch (block.type) {
    case 'guidance':
      return [paragraph(linkedTextPlain(block.text), { italics: true, spacing: { after: 120 } })];
    case 'prompts':
      return block.items.map((item) => paragraph(item, { bullet: { level: 0 } }));
    case 'subheading':
      return [paragraph(block.text, { heading: HeadingLevel.HEADING_3, spacing: { before: 200 } })];
    case 'answers':
      return [table(block.rows.map((row) => labelRow(row.label, valueParagraphs(row)))), spacer()];
    case 'judgement': {
      const rows = block.summary.map((row, index) =>
        labelRow(row.label, row.value === null ? valueParagraphs(row) : [paragraph(row.value, index === 0 ? { bold: true } : {})]),
      );
      if (block.choices) {
        const choices = block.choices.flatMap((choice) => [
          paragraph(`${TICK} ${choice.label}`, { bold: true, spacing: { before: 60 } }),
          ...choice.descriptor.map((point) => paragraph(point, { bullet: { level: 0 } })),
        ]);
        rows.push(labelRow(block.label, choices));
      }
      for (const box of block.evidence) rows.push(labelRow(box.label, valueParagraphs(box)));
      if (block.limit) rows.push(labelRow('Limiting judgement', [paragraph(limitText(block.limit))]));
      if (block.descriptor.length && block.descriptorOf) rows.push(labelRow(`What ${block.descriptorOf} means here`, block.descriptor.map((point) => paragraph(point, { bullet: { level: 0 } }))));
      return [table(rows), spacer()];
    }
    case 'table': {
      const caption = paragraph(block.caption, { bold: true, spacing: { before: 120, after: 60 } });
      if (!block.rows.length) return [caption, paragraph(block.empty, { spacing: { after: 120 } })];
      const head = new TableRow({ tableHeader: true, children: block.head.map((text) => cell([paragraph(text, { bold: true })], { fill: HEADER_FILL })) });
      const body = block.rows.map((row) =>
        'heading' in row
          ? new TableRow({ children: [cell([paragraph(row.heading, { bold: true })], { fill: LABEL_FILL, columnSpan: block.head.length })] })
          : new TableRow({ children: row.cells.map((text) => cell([paragraph(text)])) }),
      );
      return [caption, table([head, ...body]), spacer()];
    }
  }
}

/** The grade first, before anything else on page 1: the final grade once moderated, else the auditor's said to be so. */
function outcomeContent(outcome: Outcome): (Paragraph | Table)[] {
  const rows = [labelRow(outcome.label, [paragraph(outcome.grade?.label ?? 'Not graded yet', { bold: true, size: 28 }), paragraph(outcome.note)])];
  if (outcome.limitedBy) rows.push(labelRow('Limiting judgement', [paragraph(limitText(outcome.limitedBy))]));
  if (outcome.limits.length) rows.push(labelRow('Limiting judgements applied', outcome.limits.map((limit) => paragraph(limit, { bullet: { level: 0 } }))));
  return [table(rows), spacer()];
}

/** Top and foot of every page: the marking, the council and whose document; the page number of the total. */
export function pageMarks(marks: PageMarks): { headers: { default: Header }; footers: { default: Footer } } {
  const small = { size: 18 };
  return {
    headers: {
      default: new Header({
        children: [
          new Paragraph({ alignment: AlignmentType.CENTER, children: [new TextRun({ text: marks.marking, bold: true, ...small })] }),
          new Paragraph({ alignment: AlignmentType.CENTER, children: [new TextRun({ text: `${marks.council} · ${marks.subject}`, ...small })] }),
        ],
      }),
    },
    footers: {
      default: new Footer({
        children: [
          new Paragraph({
            alignment: AlignmentType.CENTER,
            children: [new TextRun({ text: `${marks.subject} · Page `, ...small }), new TextRun({ children: [PageNumber.CURRENT], ...small }), new TextRun({ text: ' of ', ...small }), new TextRun({ children: [PageNumber.TOTAL_PAGES], ...small })],
          }),
          new Paragraph({ alignment: AlignmentType.CENTER, children: [new TextRun({ text: marks.marking, bold: true, ...small })] }),
        ],
      }),
    },
  };
}

export function auditDocx(document: FormDocument, marks: PageMarks): Document {
  const children: (Paragraph | Table)[] = [
    paragraph(document.toolName, { heading: HeadingLevel.TITLE }),
    paragraph(document.subtitle, { spacing: { after: 200 } }),
  ];
  if (document.outcome) children.push(...outcomeContent(document.outcome));
  if (document.details.length) {
    children.push(paragraph('The audit', { heading: HeadingLevel.HEADING_2 }), table(document.details.map((row) => labelRow(row.label, valueParagraphs(row)))), spacer());
  }
  for (const section of document.sections) {
    children.push(paragraph(section.title, { heading: HeadingLevel.HEADING_2, spacing: { before: 240 } }));
    for (const block of section.blocks) children.push(...blockContent(block));
  }
  if (document.source) children.push(paragraph(`Form: ${document.source}`, { italics: true, alignment: AlignmentType.LEFT, spacing: { before: 240 } }));
  return new Document({
    creator: 'Assure',
    title: document.title,
    description: `${document.toolName} (edition ${document.edition})`,
    styles: { default: { document: { run: { font: 'Arial', size: 22 } } } },
    sections: [{ properties: { page: { margin: { top: 1100, bottom: 1100, left: 1000, right: 1000, header: 400, footer: 400 } } }, ...pageMarks(marks), children }],
  });
}

export function auditDocxBuffer(document: FormDocument, marks: PageMarks): Promise<Buffer> {
  return Packer.toBuffer(auditDocx(document, marks));
}

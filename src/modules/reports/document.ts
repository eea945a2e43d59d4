/**
 * An issued quarterly QA report as a Word document and as a PDF, drawn from its frozen content
 * by the audit document's own renderers: the same headings, tables, page marks (the protective
 * marking, the council, the page number) and PDF text mapping. A cover, the contents, then
 * each section: its commentary, its charts (pictures, each with its description beneath), its
 * comparison with the previous period and last year, and its tables.
 */
import { Resvg } from '@resvg/resvg-js';
import { AlignmentType, Document, HeadingLevel, ImageRun, Packer, PageBreak, Paragraph, type Table } from 'docx';
import PDFDocument from 'pdfkit';
import { blockContent, pageMarks, paragraph, spacer } from '../audits/document/docx.ts';
import { typedForExport } from '../audits/document/export-text.ts';
import type { DocumentBlock, PageMarks } from '../audits/document/model.ts';
import { block, body, heading, markPages, MARGIN, pdfText } from '../audits/document/pdf.ts';
import { REPORT_TITLE, type IssuedContent } from './issue.ts';
import type { ReportChart } from './outputs.ts';
import type { ReportTable } from './tables.ts';

export type IssuedFacts = { edition: number; issuedByName: string; issuedAt: Date };

const ISSUED_AT = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', day: 'numeric', month: 'long', year: 'numeric', hour: 'numeric', minute: '2-digit', hour12: true });

function coverLines(content: IssuedContent, facts: IssuedFacts): string[] {
  return [
    content.periodLabel,
    ...(content.filters ? [`For ${content.filters}`] : []),
    `Edition ${facts.edition}, issued by ${facts.issuedByName} on ${ISSUED_AT.format(facts.issuedAt).replace(' am', 'am').replace(' pm', 'pm')}`,
    `Compared with the previous period (${content.previousLabel}) and the same period last year (${content.lastYearLabel})`,
  ];
}

/** A table of the report as the audit document's table block. */
function tableBlock(table: ReportTable): Extract<DocumentBlock, { type: 'table' }> {
  return { type: 'table', caption: table.title, head: table.columns, rows: table.rows.map((row) => ({ cells: row.map((cell) => typedForExport(cell.text)) })), empty: 'Nothing to show for this period.' };
}

/**
 * The chart as a PNG, for the documents: Word and PDF readers cannot be relied on to draw SVG.
 * Drawn at twice its size so it stays sharp when printed. The charts are laid out for Arial;
 * Liberation Sans has Arial's metrics (and resvg falls back to another system font without it).
 */
export function chartPng(chart: Pick<ReportChart, 'svg' | 'width'>): Buffer {
  const resvg = new Resvg(chart.svg, { fitTo: { mode: 'width', value: chart.width * 2 }, background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'Liberation Sans', sansSerifFamily: 'Liberation Sans' } });
  return resvg.render().asPng();
}

/** What the QA lead wrote, made safe for a document that may be copied on into a spreadsheet. */
const commentaryOf = (text: string) => typedForExport(text.trim()) || 'No commentary was written for this section.';

export function issuedReportDocx(content: IssuedContent, facts: IssuedFacts, marks: PageMarks): Promise<Buffer> {
  const children: (Paragraph | Table)[] = [
    paragraph(content.council, { spacing: { before: 2000, after: 200 }, size: 28 }),
    paragraph(REPORT_TITLE, { heading: HeadingLevel.TITLE }),
    ...coverLines(content, facts).map((line) => paragraph(line, { spacing: { after: 120 } })),
    paragraph(marks.marking, { bold: true, spacing: { before: 400 } }),
    new Paragraph({ children: [new PageBreak()] }),
    paragraph('Contents', { heading: HeadingLevel.HEADING_1 }),
    ...content.sections.map((section, index) => paragraph(`${index + 1}. ${section.title}`, { spacing: { after: 60 } })),
  ];
  content.sections.forEach((section, index) => {
    children.push(new Paragraph({ children: [new PageBreak()] }), paragraph(`${index + 1}. ${section.title}`, { heading: HeadingLevel.HEADING_1 }));
    children.push(paragraph('Commentary', { heading: HeadingLevel.HEADING_2 }), paragraph(commentaryOf(section.commentary), { spacing: { after: 200 } }));
    for (const chart of section.charts) {
      const width = 600;
      children.push(
        paragraph(chart.title, { heading: HeadingLevel.HEADING_3 }),
        new Paragraph({
          alignment: AlignmentType.CENTER,
          children: [new ImageRun({ type: 'png', data: chartPng(chart), transformation: { width, height: Math.round((chart.height / chart.width) * width) }, altText: { name: chart.title, title: chart.title, description: chart.description } })],
        }),
        paragraph(chart.description, { italics: true, size: 18, spacing: { after: 200 } }),
      );
    }
    if (section.comparison) children.push(paragraph('Compared with the previous period and last year', { heading: HeadingLevel.HEADING_2 }), ...blockContent(tableBlock(section.comparison)));
    if (section.tables.length) children.push(paragraph('Tables', { heading: HeadingLevel.HEADING_2 }));
    for (const table of section.tables) children.push(...blockContent(tableBlock(table)));
    children.push(spacer());
  });
  const document = new Document({
    creator: 'Assure',
    title: `${REPORT_TITLE}: ${content.periodLabel}`,
    description: `${content.council}, edition ${facts.edition}`,
    styles: { default: { document: { run: { font: 'Arial', size: 22 } } } },
    sections: [{ properties: { page: { margin: { top: 1100, bottom: 1100, left: 1000, right: 1000, header: 400, footer: 400 } } }, ...pageMarks(marks), children }],
  });
  return Packer.toBuffer(document);
}

export function issuedReportPdf(content: IssuedContent, facts: IssuedFacts, marks: PageMarks): Promise<Buffer> {
  const doc = new PDFDocument({ size: 'A4', margin: MARGIN, lang: 'en-GB', displayTitle: true, bufferPages: true, info: { Title: pdfText(`${REPORT_TITLE}: ${content.periodLabel}`), Creator: 'Assure' } });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  doc.moveDown(8).font('Helvetica').fontSize(14).text(pdfText(content.council));
  doc.moveDown(0.5).font('Helvetica-Bold').fontSize(24).text(pdfText(REPORT_TITLE));
  doc.moveDown(0.5);
  for (const line of coverLines(content, facts)) body(doc, line);
  doc.moveDown(1);
  body(doc, marks.marking, { bold: true });
  doc.addPage();
  heading(doc, 'Contents', 16, 0);
  content.sections.forEach((section, index) => body(doc, `${index + 1}. ${section.title}`));
  const usable = doc.page.width - 2 * MARGIN;
  content.sections.forEach((section, index) => {
    doc.addPage();
    heading(doc, `${index + 1}. ${section.title}`, 16, 0);
    heading(doc, 'Commentary', 12, 4);
    body(doc, commentaryOf(section.commentary));
    for (const chart of section.charts) {
      heading(doc, chart.title, 11, 6);
      const height = (chart.height / chart.width) * usable;
      if (doc.y + height > doc.page.height - MARGIN) doc.addPage();
      doc.image(chartPng(chart), MARGIN, doc.y, { width: usable });
      doc.y += height + 4;
      doc.x = MARGIN;
      body(doc, chart.description, { italic: true, color: '#505a5f' });
    }
    if (section.comparison) {
      heading(doc, 'Compared with the previous period and last year', 12, 6);
      block(doc, tableBlock(section.comparison));
    }
    if (section.tables.length) heading(doc, 'Tables', 12, 6);
    for (const table of section.tables) block(doc, tableBlock(table));
  });
  markPages(doc, marks);
  doc.end();
  return done;
}

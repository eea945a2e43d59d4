/**
 * The text of downloaded documents, as a reader would see it: a Word document's body, headers
 * and footers, and a PDF's text page by page.
 */
import JSZip from 'jszip';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

function xmlText(xml: string): string {
  return xml
    .replace(/<\/w:p>/g, '\n')
    .replace(/<w:br\/>/g, '\n')
    .replace(/<w:fldSimple w:instr="\s*(PAGE|NUMPAGES)[^"]*"[^>]*>/g, '{$1}')
    .replace(/<w:instrText[^>]*>\s*(PAGE|NUMPAGES)\b[^<]*<\/w:instrText>/g, '{$1}')
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** The text of a Word document's body: every w:t run, entities decoded, paragraphs on their own lines. */
export async function docxText(bytes: Buffer): Promise<string> {
  const zip = await JSZip.loadAsync(bytes);
  return xmlText(await zip.file('word/document.xml')!.async('string'));
}

/**
 * The headers and footers a Word document's pages carry: the parts its body's section refers
 * to (so an unreferenced part counts for nothing), page number fields shown as {PAGE} and {NUMPAGES}.
 */
export async function docxPageMarks(bytes: Buffer): Promise<{ headers: string[]; footers: string[] }> {
  const zip = await JSZip.loadAsync(bytes);
  const body = await zip.file('word/document.xml')!.async('string');
  const relations = await zip.file('word/_rels/document.xml.rels')!.async('string');
  const target = (id: string) => relations.match(new RegExp(`Id="${id}"[^>]*Target="([^"]+)"`))?.[1] ?? relations.match(new RegExp(`Target="([^"]+)"[^>]*Id="${id}"`))?.[1];
  const parts = async (kind: 'header' | 'footer') =>
    Promise.all([...body.matchAll(new RegExp(`<w:${kind}Reference [^>]*r:id="([^"]+)"`, 'g'))].map(async (match) => xmlText(await zip.file(`word/${target(match[1]!)}`)!.async('string'))));
  return { headers: await parts('header'), footers: await parts('footer') };
}

/** Each page's text, in order. */
export async function pdfPages(bytes: Buffer): Promise<string[]> {
  const pdf = await getDocument({ data: new Uint8Array(bytes), isEvalSupported: false, verbosity: 0 }).promise;
  const pages: string[] = [];
  for (let number = 1; number <= pdf.numPages; number += 1) {
    const content = await (await pdf.getPage(number)).getTextContent();
    pages.push(content.items.map((item) => ('str' in item ? `${item.str}${item.hasEOL ? '\n' : ' '}` : '')).join('').replace(/ +/g, ' '));
  }
  await pdf.destroy();
  return pages;
}

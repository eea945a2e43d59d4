/**
 * Text that may carry links, written `[the detailed audit guide](https://example.org/guide)`:
 * the one piece of mark-up a council's guidance needs. Everything else stays plain text.
 *
 * Deliberately not Markdown: a Markdown renderer would let a tool file bring headings, images and
 * raw HTML into the form. Here a link whose address is not http(s) or mailto (javascript:, data:,
 * a relative path) is never made a link, every character is escaped, and a link leaves Assure with
 * rel="noopener noreferrer", so the page it opens cannot reach back into the audit.
 */
import nunjucks from 'nunjucks';

/**
 * `[label](address)`: the label on one line, no square brackets in it; the address up to the first
 * `)` or space (write a `)` inside an address as %29).
 */
const LINK = /\[([^[\]\n]+)\]\(([^)\s]*)\)/g;

export type TextLink = { label: string; address: string; index: number };

/** Every link written in the text, allowed or not. */
export function linksIn(text: string): TextLink[] {
  return [...text.matchAll(LINK)].map((match) => ({ label: match[1]!, address: match[2]!, index: match.index }));
}

/** Why an address cannot be a link, or null when it can. */
export function linkAddressProblem(address: string): string | null {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(address)?.[1]?.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'mailto') {
    return `the link "${address}" cannot be followed from Assure: a link's address starts with https://, http:// or mailto:`;
  }
  if (scheme === 'mailto') return /^mailto:[^@\s]+@[^@\s]+$/i.test(address) ? null : `the link "${address}" is not an e-mail address: write mailto:name@example.org`;
  try {
    const url = new URL(address);
    return url.hostname ? null : `the link "${address}" has no web address after ${scheme}://`;
  } catch {
    return `the link "${address}" is not a web address: write it in full, such as https://www.example.org/guide`;
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The text as HTML: escaped, with its allowed links made links; a refused link stays as it was written. */
export function linkedTextHtml(text: string): string {
  let html = '';
  let from = 0;
  for (const link of linksIn(text)) {
    if (linkAddressProblem(link.address) !== null) continue;
    html += escapeHtml(text.slice(from, link.index));
    // A web page opens in a new tab so that the audit being written stays open (GOV.UK's advice for help inside a form).
    const web = !link.address.toLowerCase().startsWith('mailto:');
    html += `<a class="govuk-link" href="${escapeHtml(link.address)}" rel="noopener noreferrer"${web ? ' target="_blank"' : ''}>${escapeHtml(link.label)}${web ? ' (opens in new tab)' : ''}</a>`;
    from = link.index + link.label.length + link.address.length + 4;
  }
  return html + escapeHtml(text.slice(from));
}

/** The text for plain documents (DOCX, PDF, e-mail): `label (address)`. */
export function linkedTextPlain(text: string): string {
  return text.replace(LINK, (written, label: string, address: string) => (linkAddressProblem(address) === null ? `${label} (${address.replace(/^mailto:/i, '')})` : written));
}

/** The Nunjucks filter `linkedText`: the HTML above, marked safe (it is escaped here). */
export function linkedTextFilter(value: unknown): nunjucks.runtime.SafeString | string {
  if (value === null || value === undefined) return '';
  return new nunjucks.runtime.SafeString(linkedTextHtml(String(value)));
}

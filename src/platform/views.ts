import path from 'node:path';
import { fileURLToPath } from 'node:url';
import MarkdownIt from 'markdown-it';
import nunjucks from 'nunjucks';
import type { z } from 'zod';
import type { FieldError } from './errors.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SRC_DIR = path.resolve(here, '..');
export const ROOT_DIR = path.resolve(SRC_DIR, '..');

/**
 * Nunjucks with GOV.UK Frontend and MOJ Frontend macros. Autoescape is on: anything a user
 * typed is shown as text. Module templates are addressed from src/modules, e.g.
 * 'children/views/list.njk'.
 */
export function createViewEnvironment(): nunjucks.Environment {
  const environment = nunjucks.configure(
    [
      path.join(SRC_DIR, 'views'),
      path.join(SRC_DIR, 'modules'),
      path.join(ROOT_DIR, 'node_modules/govuk-frontend/dist'),
      path.join(ROOT_DIR, 'node_modules/@ministryofjustice/frontend'),
    ],
    { autoescape: true, throwOnUndefined: false, noCache: false },
  );
  environment.addFilter('govukDate', formatDate);
  environment.addFilter('govukDateTime', formatDateTime);
  // The MOJ timeline formats its dates with mojDate: the same GOV.UK style as the rest.
  environment.addFilter('mojDate', (value: unknown, type?: string) => (type === 'date' ? formatDate(value) : formatDateTime(value)));
  environment.addFilter('number', (value: unknown) => (typeof value === 'number' ? value.toLocaleString('en-GB') : value));
  environment.addFilter('errorFor', (errors: FieldError[] | undefined, field: string) => {
    const found = errors?.find((error) => error.field === field);
    return found ? { text: found.message } : undefined;
  });
  environment.addFilter('errorSummary', (errors: FieldError[] | undefined) =>
    (errors ?? []).map((error) => ({ text: error.message, href: `#${error.field}` })),
  );
  environment.addFilter('selectItems', selectItems);
  environment.addFilter('indefiniteArticle', indefiniteArticle);
  environment.addFilter('guidance', (text: unknown) => new nunjucks.runtime.SafeString(guidanceHtml(text)));
  return environment;
}

/**
 * A tool's guidance as GOV.UK paragraphs and lists: councils write "- " bullets and numbered
 * lines in their YAML. markdown-it with raw HTML off escapes everything else, so nothing a tool
 * file says becomes markup; links are left as text (a tool file is not a place for them).
 */
const guidanceMarkdown = new MarkdownIt('zero', { html: false, breaks: true }).enable(['paragraph', 'list', 'newline', 'emphasis']);
const GOVUK_CLASSES: Record<string, string> = { paragraph_open: 'govuk-body', bullet_list_open: 'govuk-list govuk-list--bullet', ordered_list_open: 'govuk-list govuk-list--number' };
guidanceMarkdown.core.ruler.push('govuk_classes', (state) => {
  for (const token of state.tokens) {
    const classes = GOVUK_CLASSES[token.type];
    if (classes) token.attrSet('class', classes);
  }
});

export function guidanceHtml(text: unknown): string {
  if (text === null || text === undefined || text === '') return '';
  return guidanceMarkdown.render(String(text));
}

/** "action" → "an action", "row" → "a row": a tool's item names fill in sentences. */
export function indefiniteArticle(noun: unknown): string {
  const word = String(noun ?? '');
  return `${/^[aeiou]/i.test(word) ? 'an' : 'a'} ${word}`;
}

/** '2026-11-24' or a Date → '24 November 2026', the GOV.UK date style. */
export function formatDate(value: unknown): string {
  if (value === null || value === undefined || value === '') return '';
  const date = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T12:00:00Z`) : new Date(value as string);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/London' });
}

export function formatDateTime(value: unknown): string {
  if (!value) return '';
  const date = new Date(value as string);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString('en-GB', {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    hour: 'numeric',
    minute: '2-digit',
    timeZone: 'Europe/London',
  });
}

/** Options for govukSelect with the current value selected and an optional blank first item. */
function selectItems(options: { value: string; text: string }[], selected: unknown, blank?: string) {
  const items = options.map((option) => ({ ...option, selected: String(option.value) === String(selected ?? '') }));
  return blank === undefined ? items : [{ value: '', text: blank }, ...items];
}

/** zod issues → field errors in the user's words, keyed by form field name. */
export function fieldErrorsFrom(error: z.ZodError): FieldError[] {
  const seen = new Set<string>();
  const errors: FieldError[] = [];
  for (const issue of error.issues) {
    const field = issue.path.map(String).join('.') || 'form';
    if (seen.has(field)) continue;
    seen.add(field);
    errors.push({ field, message: issue.message });
  }
  return errors;
}

/** '?a=1&b=2', or '' when there are no parameters. */
export function queryString(params: URLSearchParams): string {
  const text = params.toString();
  return text ? `?${text}` : '';
}

/**
 * govukPagination's items for a list split into pages: first, last, and the pages either side
 * of the current one, each link keeping the list's other query parameters.
 */
export function paginationLinks(basePath: string, params: URLSearchParams, page: number, pages: number) {
  if (pages <= 1) return null;
  const href = (n: number) => {
    const next = new URLSearchParams(params);
    next.delete('page');
    if (n > 1) next.set('page', String(n));
    return `${basePath}${queryString(next)}`;
  };
  const items: ({ number: number; href: string; current: boolean } | { ellipsis: true })[] = [];
  for (let n = 1; n <= pages; n++) {
    if (n === 1 || n === pages || Math.abs(n - page) <= 1) items.push({ number: n, href: href(n), current: n === page });
    else if (!('ellipsis' in (items.at(-1) ?? {}))) items.push({ ellipsis: true });
  }
  return {
    ...(page > 1 ? { previous: { href: href(page - 1) } } : {}),
    ...(page < pages ? { next: { href: href(page + 1) } } : {}),
    items,
  };
}

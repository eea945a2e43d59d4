import path from 'node:path';
import { fileURLToPath } from 'node:url';
import MarkdownIt from 'markdown-it';
import nunjucks from 'nunjucks';
import type { z } from 'zod';
import type { FieldError } from './errors.ts';
import { linkAddressProblem, linkedTextFilter } from './linked-text.ts';

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
  keepImportedMacros(environment);
  // Nunjucks' own trim is a regular expression that takes time in proportion to the square of a
  // long run of whitespace; GOV.UK's macros trim their rendered HTML (a fieldset of checkboxes,
  // a whole filter panel), and that was a millisecond of every tracker page. Same result.
  environment.addFilter('trim', trimText);
  environment.addFilter('govukDate', formatDate);
  environment.addFilter('govukDateTime', formatDateTime);
  // The MOJ timeline formats its dates with mojDate: the same GOV.UK style as the rest.
  environment.addFilter('mojDate', (value: unknown, type?: string) => (type === 'date' ? formatDate(value) : formatDateTime(value)));
  environment.addFilter('number', formatNumber);
  environment.addFilter('errorFor', (errors: FieldError[] | undefined, field: string) => {
    const found = errors?.find((error) => error.field === field);
    return found ? { text: found.message } : undefined;
  });
  environment.addFilter('errorSummary', (errors: FieldError[] | undefined) =>
    (errors ?? []).map((error) => ({ text: error.message, href: `#${error.field}` })),
  );
  environment.addFilter('selectItems', selectItems);
  // Text from a tool file with its http(s) and mailto links made links (see linked-text.ts).
  environment.addFilter('linkedText', linkedTextFilter);
  // A tool's guidance: paragraphs, lists and those same links (guidanceHtml).
  environment.addFilter('guidance', (text: unknown) => new nunjucks.runtime.SafeString(guidanceHtml(text)));
  environment.addFilter('indefiniteArticle', indefiniteArticle);
  return environment;
}

/**
 * Every page imports GOV.UK's macros (the layout alone imports 21, and each GOV.UK component
 * imports the ones it is made of, at every call), and Nunjucks runs an imported file afresh at
 * each import to collect its macros, and works out a relative template name anew at each include:
 * together a third of a page's rendering. An import without context reads nothing of the page
 * (that is what "without context" means in Nunjucks), so what it exports is the same at every
 * render: it is kept on the (cached, compiled) template after the first time. An import `with
 * context` is still run each time. Relative names are resolved once per including template.
 * Templates are cached and never reloaded here (noCache is false, no watch), so nothing kept
 * can go stale. (Profiled with `npm run bench -- --only=load --profile`.)
 */
type TemplateWithExports = nunjucks.Template & {
  env: nunjucks.Environment & { keepsImportedMacros?: boolean };
  keptExports?: unknown;
  getExported(...args: unknown[]): void;
};
let importsPatched = false;
type NunjucksFrame = { variables: Record<string, unknown>; set(name: string, value: unknown, resolveUp?: boolean): void; resolve(name: string, forWrite: boolean): NunjucksFrame | undefined };

function keepImportedMacros(environment: nunjucks.Environment) {
  (environment as TemplateWithExports['env']).keepsImportedMacros = true;
  const resolved = new Map<string, string>();
  const resolveTemplate = (environment as unknown as { resolveTemplate: (loader: unknown, parentName: string | null, filename: string) => string }).resolveTemplate.bind(environment);
  (environment as unknown as { resolveTemplate: typeof resolveTemplate }).resolveTemplate = (loader, parentName, filename) => {
    // Every loader here is a FileSystemLoader: a relative name resolves the same for each.
    if (!parentName || !(filename.startsWith('./') || filename.startsWith('../'))) return filename;
    const key = `${parentName}\0${filename}`;
    let name = resolved.get(key);
    if (name === undefined) resolved.set(key, (name = resolveTemplate(loader, parentName, filename)));
    return name;
  };
  if (importsPatched) return;
  importsPatched = true;
  // Nunjucks' Frame.set splits every name on '.' (to allow `set a.b`), once for every loop
  // variable and macro argument: a twentieth of a long page's rendering, and a loop sets seven
  // dotted names (`loop.index`, `loop.first`…) at every turn. A name without a dot is set as
  // Nunjucks sets it, without the split; a dotted one from its parts, split once (setDotted).
  const frame = (nunjucks as unknown as { runtime: { Frame: { prototype: NunjucksFrame } } }).runtime.Frame.prototype;
  const set = frame.set;
  frame.set = function (this: NunjucksFrame, name: string, value: unknown, resolveUp?: boolean) {
    if (name.includes('.')) return resolveUp ? set.call(this, name, value, resolveUp) : setDotted(this, name, value);
    const target = resolveUp ? (this.resolve(name, true) ?? this) : this;
    target.variables[name] = value;
  };
  // The dotted names are written in the templates, so they are few; the map is emptied should it ever grow.
  const dottedNames = new Map<string, string[]>();
  const setDotted = (target: NunjucksFrame, name: string, value: unknown) => {
    let parts = dottedNames.get(name);
    if (!parts) {
      if (dottedNames.size >= 1_000) dottedNames.clear();
      dottedNames.set(name, (parts = name.split('.')));
    }
    let object = target.variables;
    for (let i = 0; i < parts.length - 1; i++) object = (object[parts[i]!] ||= {}) as Record<string, unknown>;
    object[parts[parts.length - 1]!] = value;
  };
  const prototype = nunjucks.Template.prototype as unknown as TemplateWithExports;
  const getExported = prototype.getExported;
  prototype.getExported = function (this: TemplateWithExports, ...args: unknown[]) {
    const callback = args[0];
    // Only an import without context (the one argument is the callback), in an environment that asks for it.
    if (args.length !== 1 || typeof callback !== 'function' || !this.env.keepsImportedMacros) return getExported.apply(this, args);
    if (this.keptExports) return (callback as (error: null, exported: unknown) => void)(null, this.keptExports);
    return getExported.call(this, (error: unknown, exported: unknown) => {
      if (!error) this.keptExports = exported;
      (callback as (error: unknown, exported: unknown) => void)(error, exported);
    });
  };
}

/**
 * Intl formatters, made once per locale and options and kept: building one costs a fraction
 * of a millisecond (it loads locale data), and a page of the tracker formats a hundred dates.
 * The options are few and fixed in code, so the cache stays small.
 */
const dateTimeFormats = new Map<string, Intl.DateTimeFormat>();
export function dateTimeFormat(locale: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${locale} ${JSON.stringify(options)}`;
  let format = dateTimeFormats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(locale, options);
    dateTimeFormats.set(key, format);
  }
  return format;
}

const GOVUK_DATE: Intl.DateTimeFormatOptions = { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/London' };
const GOVUK_DATE_TIME: Intl.DateTimeFormatOptions = { ...GOVUK_DATE, hour: 'numeric', minute: '2-digit' };
const GOVUK_DATE_FORMAT = dateTimeFormat('en-GB', GOVUK_DATE);
const GOVUK_DATE_TIME_FORMAT = dateTimeFormat('en-GB', GOVUK_DATE_TIME);
const GB_NUMBER = new Intl.NumberFormat('en-GB');

/**
 * Calendar days as pages show them, by their ISO text: the same few hundred days (due dates,
 * allocation dates) come up on every page. Bounded: emptied when it grows past a few years' worth.
 */
const formattedDays = new Map<string, string>();
const FORMATTED_DAYS_MAX = 5_000;

/**
 * A tool's guidance as GOV.UK paragraphs and lists: councils write "- " bullets and numbered
 * lines in their YAML. markdown-it with raw HTML off escapes everything else, so nothing a tool
 * file says becomes markup. Links written `[text](address)` become links only for the addresses
 * linked-text.ts allows (http, https, mailto), leave Assure with rel="noopener noreferrer", and a
 * web page opens in a new tab so the audit being written stays open; any other stays as text.
 */
const guidanceMarkdown = new MarkdownIt('zero', { html: false, breaks: true }).enable(['paragraph', 'list', 'newline', 'emphasis', 'link']);
guidanceMarkdown.validateLink = (url) => linkAddressProblem(url) === null;
const isWebLink = (token: { attrGet(name: string): string | number | null }) => !String(token.attrGet('href') ?? '').toLowerCase().startsWith('mailto:');
guidanceMarkdown.renderer.rules.link_open = (tokens, index, options, _env, self) => {
  const token = tokens[index]!;
  const href = String(token.attrGet('href') ?? '');
  token.attrs = [['class', 'govuk-link'], ['href', href], ['rel', 'noopener noreferrer'], ...(isWebLink(token) ? [['target', '_blank'] as [string, string]] : [])];
  return self.renderToken(tokens, index, options);
};
guidanceMarkdown.renderer.rules.link_close = (tokens, index, options, _env, self) => {
  const opening = tokens.slice(0, index).reverse().find((token) => token.type === 'link_open');
  return `${opening && isWebLink(opening) ? ' (opens in new tab)' : ''}${self.renderToken(tokens, index, options)}`;
};
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
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) {
    let shown = formattedDays.get(value);
    if (shown === undefined) {
      shown = formatDay(new Date(`${value}T12:00:00Z`), value);
      if (formattedDays.size >= FORMATTED_DAYS_MAX) formattedDays.clear();
      formattedDays.set(value, shown);
    }
    return shown;
  }
  return formatDay(new Date(value as string), value);
}

function formatDay(date: Date, value: unknown): string {
  return Number.isNaN(date.getTime()) ? String(value) : GOVUK_DATE_FORMAT.format(date);
}

/** A moment → '24 November 2026 at 14:05', UK time. */
export function formatDateTime(value: unknown): string {
  if (!value) return '';
  const date = new Date(value as string);
  if (Number.isNaN(date.getTime())) return String(value);
  return GOVUK_DATE_TIME_FORMAT.format(date);
}

/** 12345 → '12,345'; anything else as it is. */
export function formatNumber(value: unknown): unknown {
  return typeof value === 'number' ? GB_NUMBER.format(value) : value;
}

/** Text without leading and trailing whitespace; still marked safe if it was. */
export function trimText(value: unknown): unknown {
  const trimmed = String(value ?? '').trim();
  return value instanceof nunjucks.runtime.SafeString ? new nunjucks.runtime.SafeString(trimmed) : trimmed;
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

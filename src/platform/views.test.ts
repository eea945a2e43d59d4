import { describe, expect, it } from 'vitest';
import nunjucks from 'nunjucks';
import { createViewEnvironment, dateTimeFormat, formatDate, formatDateTime, formatNumber } from './views.ts';

describe('dates and numbers as pages show them', () => {
  it('shows a day in the GOV.UK style, the same every time it is asked', () => {
    expect(formatDate('2026-11-24')).toBe('24 November 2026');
    expect(formatDate('2026-11-24')).toBe('24 November 2026');
    expect(formatDate('2027-03-01')).toBe('1 March 2027');
    expect(formatDate(new Date('2026-06-30T23:30:00Z'))).toBe('1 July 2026');
    expect(formatDate('')).toBe('');
    expect(formatDate('not a date')).toBe('not a date');
    expect(formatDate('2026-02-30')).toBe('2 March 2026');
    expect(formatDate('2026-13-01')).toBe('2026-13-01');
  });

  it('shows a moment with its UK time, in summer and in winter', () => {
    expect(formatDateTime('2026-07-01T13:05:00Z')).toBe('1 July 2026 at 14:05');
    expect(formatDateTime(new Date('2026-12-01T13:05:00Z'))).toBe('1 December 2026 at 13:05');
    expect(formatDateTime(null)).toBe('');
  });

  it('shows numbers with thousands separated', () => {
    expect(formatNumber(200000)).toBe('200,000');
    expect(formatNumber('n/a')).toBe('n/a');
  });

  it('keeps one formatter for the same options and answers each set of options in its own way', () => {
    const first = dateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/London' });
    const again = dateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/London' });
    expect(again).toBe(first);
    const moment = new Date('2026-11-24T12:00:00Z');
    expect(first.format(moment)).toBe('24 November 2026');

    const short = dateTimeFormat('en-GB', { day: '2-digit', month: '2-digit', year: 'numeric', timeZone: 'Europe/London' });
    expect(short).not.toBe(first);
    expect(short.format(moment)).toBe('24/11/2026');
    expect(dateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit', timeZone: 'Europe/London' }).format(moment)).toBe('2026-11-24');
    // The cached formatter is not changed by what it formatted before.
    expect(first.format(new Date('2027-01-02T12:00:00Z'))).toBe('2 January 2027');
  });
});

describe('the templates\' trim filter', () => {
  const views = createViewEnvironment();

  it('trims as before, keeping HTML marked safe and escaping the rest', () => {
    expect(views.renderString('[{{ value | safe | trim }}]', { value: '\n  <b>Good</b>\t\n' })).toBe('[<b>Good</b>]');
    expect(views.renderString('[{{ value | trim }}]', { value: '  <b>Good</b> ' })).toBe('[&lt;b&gt;Good&lt;/b&gt;]');
    expect(views.renderString('{{ value | trim | length }}', { value: '   ' })).toBe('0');
  });

  it('takes no longer for long runs of whitespace (rendered HTML is full of them)', () => {
    const html = `<p>${' '.repeat(20_000)}</p>`;
    const started = performance.now();
    expect(views.renderString('{{ value | safe | trim | length }}', { value: html })).toBe(String(html.length));
    // The regular expression it replaces took seconds on this string.
    expect(performance.now() - started).toBeLessThan(250);
  });

  it('renders a GOV.UK component that trims its own HTML', () => {
    const html = views.renderString('{% from "govuk/components/checkboxes/macro.njk" import govukCheckboxes %}{{ govukCheckboxes({ name: "status", fieldset: { legend: { text: "Status" } }, items: [{ value: "allocated", text: "Allocated", checked: true }] }) }}', {});
    expect(html).toContain('<legend class="govuk-fieldset__legend">');
    expect(html).toMatch(/value="allocated" checked>/);
  });
});

describe('variables set while rendering', () => {
  const views = createViewEnvironment();

  it("gives a loop its index, first, last and length at every turn, nested loops their own, as Nunjucks' own environment does", () => {
    const template = `{% for row in rows %}[{{ loop.index }}/{{ loop.length }}{% if loop.first %}F{% endif %}{% if loop.last %}L{% endif %}:{% for cell in row %}{{ loop.index0 }}{{ loop.revindex }}{{ cell }}{% endfor %}]{% endfor %}{% set n = 3 %}{{ n }}`;
    const context = { rows: [['a', 'b'], ['c'], []] };
    const expected = new nunjucks.Environment().renderString(template, context);
    expect(expected).toBe('[1/3F:02a11b][2/3:01c][3/3L:]3');
    expect(views.renderString(template, context)).toBe(expected);
  });
});

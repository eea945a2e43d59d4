import { describe, expect, it } from 'vitest';
import { identifyList, legalStatusOnList } from './annex-a.ts';

describe('identifyList', () => {
  it.each([
    ['List 6', 'list6'],
    ['List 6 - Children in need', 'list6'],
    ['list_06', 'list6'],
    ['L7 CP', 'list7'],
    ['Child protection', 'list7'],
    ['Children in care (List 8)', 'list8'],
    ['CLA', 'list8'],
    ['Looked after children', 'list8'],
    ['List 9 Care Leavers', 'list9'],
    ['Care leavers', 'list9'],
  ])('reads the sheet name %j as %s', (name, list) => {
    expect(identifyList(name)).toBe(list);
  });

  it.each(['Lookups', 'Sheet1', 'Clients', 'Notes on CIN and CP'])('finds no list in the sheet name %j', (name) => {
    expect(identifyList(name)).toBeNull();
  });

  it('falls back on columns only one list carries, and gives up when two lists claim the sheet', () => {
    expect(identifyList('Sheet1', ['Child Unique ID', 'Eligibility Category'])).toBe('list9');
    expect(identifyList('Sheet1', ['Child Unique ID', 'Latest category of abuse'])).toBe('list7');
    expect(identifyList('Sheet1', ['Child Unique ID', 'Eligibility Category', 'Placement type'])).toBeNull();
  });
});

describe('legalStatusOnList', () => {
  it.each([
    ['c) Child in need plan', 'cin'],
    ['d) Open assessment', 'cin'],
    ['', 'cin'],
    ['Child protection plan', 'cp'],
  ])('reads List 6 case status %j as %s', (text, status) => {
    expect(legalStatusOnList(text, 'list6')).toEqual({ ok: true, value: status });
  });

  it.each(['a) Interim care orders', 'b) Full care orders', 'C1', 'C2 - Full care order', 'e) Placement order granted', 'V2', 'Accommodated under section 20', ''])(
    'reads List 8 legal status %j as a child in care',
    (text) => {
      expect(legalStatusOnList(text, 'list8')).toEqual({ ok: true, value: 'child_in_care' });
    },
  );

  it.each(['Relevant', 'Former relevant', 'b) Former Relevant', 'Qualifying', 'Eligible', ''])('reads List 9 eligibility category %j as a care leaver', (text) => {
    expect(legalStatusOnList(text, 'list9')).toEqual({ ok: true, value: 'care_leaver' });
  });

  it('makes every List 7 child a child protection case, whatever its category column says', () => {
    expect(legalStatusOnList('Neglect', 'list7')).toEqual({ ok: true, value: 'cp' });
  });

  it('refuses a code that is not the list’s own, saying what the list takes', () => {
    expect(legalStatusOnList('CP', 'list8')).toEqual({ ok: false, reason: expect.stringContaining('not a List 8 legal status: use a List 8 legal status code') });
    expect(legalStatusOnList('Adopted', 'list9')).toEqual({ ok: false, reason: expect.stringContaining('Relevant, Former relevant, Qualifying or Eligible') });
    expect(legalStatusOnList('Eligible', null)).toEqual({ ok: false, reason: expect.stringContaining('not a recognised legal status') });
  });
});

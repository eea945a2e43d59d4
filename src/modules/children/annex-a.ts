/**
 * Ofsted's Annex A lists as councils send them: which list a sheet is, and what each list's
 * codes mean for the register's legal status.
 *
 * Annex A (the information a council gives inspectors) keeps one list per sheet: List 6
 * children in need, List 7 child protection, List 8 children in care, List 9 care leavers.
 * Lists 7, 8 and 9 say a child's status by being the list they are on; List 6 and the
 * councils' own case-system extracts say it in a column, in their own words and codes.
 */
import type { LegalStatus } from '../../db/types.ts';

export type SourceList = 'list6' | 'list7' | 'list8' | 'list9';

export const SOURCE_LISTS: readonly SourceList[] = ['list6', 'list7', 'list8', 'list9'];

export const SOURCE_LIST_LABELS: Readonly<Record<SourceList, string>> = {
  list6: 'List 6 (children in need)',
  list7: 'List 7 (child protection)',
  list8: 'List 8 (children in care)',
  list9: 'List 9 (care leavers)',
};

/** The status every child on the list has, or null when the list's own column says it. */
export const LIST_LEGAL_STATUS: Readonly<Record<SourceList, LegalStatus | null>> = {
  list6: null,
  list7: 'cp',
  list8: 'child_in_care',
  list9: 'care_leaver',
};

/**
 * Loose key for headers and codes: `Child's Legal Status`, `childs legal status` and
 * `CHILD’S_LEGAL-STATUS` all become `childslegalstatus`. Removing every non-letter, non-digit
 * also removes curly and straight quotes alike.
 */
export function normaliseHeader(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');
}

// ---------------------------------------------------------------------------------------------
// Which list a sheet is

/** `List 6`, `List 6 - Children in need`, `L7 CP`, `Children in care (List 8)`, `list_9`. */
const LIST_NUMBER = /(?:^|[^\p{L}])(?:list|l)\s*[-_.:#]?\s*0?([6-9])(?!\d)/iu;

/** Names councils give the lists in words; \b keeps `cl` from matching inside `clients`. */
const LIST_WORDS: readonly [SourceList, RegExp][] = [
  ['list6', /\bchild(?:ren)? in need\b|\bcin\b/i],
  ['list7', /\bchild protection\b|\bcpp?\b/i],
  ['list8', /\bchild(?:ren)? in care\b|\blooked[ -]after\b|\bcla\b|\blac\b|\bcic\b/i],
  ['list9', /\bcare leavers?\b|\bleaving care\b|\bcl\b/i],
];

/** Columns that only one list carries, for a sheet whose name says nothing. */
const LIST_HEADERS: readonly [SourceList, readonly string[]][] = [
  ['list6', ['Main referral factors', 'Factors identified at the end of assessment']],
  [
    'list7',
    [
      'Category of abuse',
      'Initial category of abuse',
      'Latest category of abuse',
      'Child protection plan start date',
      'CP plan start date',
      'Number of previous child protection plans',
    ],
  ],
  ['list8', ['Date started to be looked after', 'Placement type', 'Date of current placement', 'UASC']],
  ['list9', ['Eligibility category', 'Activity status', 'In bed and breakfast', 'Suitability of accommodation']],
];

const LIST_BY_HEADER: ReadonlyMap<string, SourceList> = new Map(
  LIST_HEADERS.flatMap(([list, headers]) => headers.map((header) => [normaliseHeader(header), list] as const)),
);

/** The list a sheet is, by its name first (councils name them) and else by its columns. */
export function identifyList(sheetName: string, headers: readonly string[] = []): SourceList | null {
  return listByName(sheetName) ?? listByHeaders(headers);
}

export function listByName(sheetName: string): SourceList | null {
  const numbered = LIST_NUMBER.exec(sheetName);
  if (numbered) return `list${numbered[1]}` as SourceList;
  return onlyOne(LIST_WORDS.filter(([, words]) => words.test(sheetName)).map(([list]) => list));
}

function listByHeaders(headers: readonly string[]): SourceList | null {
  return onlyOne(headers.map((header) => LIST_BY_HEADER.get(normaliseHeader(header))).filter((list) => list !== undefined));
}

/** Two lists' signs in one sheet means we cannot tell: better no list than the wrong one. */
function onlyOne(lists: readonly SourceList[]): SourceList | null {
  const distinct = new Set(lists);
  return distinct.size === 1 ? [...distinct][0]! : null;
}

// ---------------------------------------------------------------------------------------------
// Legal status codes

export const LEGAL_STATUSES: readonly LegalStatus[] = ['early_help', 'cin', 'cp', 'plo', 'child_in_care', 'care_leaver'];

export const LEGAL_STATUS_LABELS: Readonly<Record<LegalStatus, string>> = {
  early_help: 'Early Help',
  cin: 'Child in Need',
  cp: 'Child Protection',
  plo: 'PLO',
  child_in_care: 'Child in Care',
  care_leaver: 'Care Leaver',
};

/** Annex A templates prefix coded values with a list letter, as in `a) Male`. */
export function withoutCodePrefix(text: string): string {
  const stripped = text.replace(/^[a-z0-9]\)\s*/i, '');
  return stripped === '' ? text : stripped;
}

/** Coded values compare like headers: case, spaces and punctuation do not matter. */
export function codeKey(text: string): string {
  return normaliseHeader(withoutCodePrefix(text));
}

export function codes<T>(value: T, texts: readonly string[]): [string, T][] {
  return texts.map((text) => [normaliseHeader(text), value]);
}

/**
 * List 8 legal status codes (those of the children looked after return): C1 interim care
 * order, C2 full care order, D1 freeing order, E1 placement order, J1–J3 youth justice, L1–L3
 * police protection and emergency orders, V2–V4 accommodated under section 20.
 */
const CARE_LEGAL_STATUS_CODES = ['C1', 'C2', 'D1', 'E1', 'J1', 'J2', 'J3', 'L1', 'L2', 'L3', 'V2', 'V3', 'V4'];

const LEGAL_STATUS_BY_CODE: ReadonlyMap<string, LegalStatus> = new Map([
  ...codes<LegalStatus>('early_help', ['Early Help', 'EH']),
  ...codes<LegalStatus>('cin', ['Child in Need', 'CIN', 'Children in Need']),
  ...codes<LegalStatus>('cp', ['Child Protection', 'CP', 'CPP', 'Child protection plan', 'Child protection plans', 'CP plan']),
  ...codes<LegalStatus>('plo', ['PLO', 'Pre-proceedings', 'Public Law Outline']),
  ...codes<LegalStatus>('child_in_care', [
    'Child in Care',
    'Children in Care',
    'CIC',
    'CLA',
    'LAC',
    'Looked after',
    'Looked after child',
    'Looked after children',
    ...CARE_LEGAL_STATUS_CODES,
  ]),
  // Annex A list 9 gives a care leaver's status as relevant, former relevant or qualifying.
  ...codes<LegalStatus>('care_leaver', ['Care Leaver', 'Care Leavers', 'CL', 'Leaving care', 'Relevant', 'Former relevant', 'Qualifying']),
]);

/** `C2 - Full care order`: a list 8 code followed by its description. */
const CARE_CODE_WITH_DESCRIPTION = new RegExp(`^(${CARE_LEGAL_STATUS_CODES.join('|')})(?![\\p{L}\\p{N}])`, 'iu');

/**
 * The same legal statuses in the words Annex A's drop-downs use (`a) Interim care orders`,
 * `Accommodated under section 20`), matched on the loose key so plurals and punctuation pass.
 */
const CARE_DESCRIPTIONS =
  /interimcareorder|fullcareorder|^careorder|placementorder|freeingorder|section20|^s20|accommodat|shortbreak|policeprotection|emergencyprotection|childassessmentorder|remand|youthjustice|(?:^|under)pace/;

/** List 6's case statuses: every one is a child in need (assessment open, plan, section 17). */
const CHILD_IN_NEED_DESCRIPTIONS = /childreninneed|childinneed|cinplan|assessment|section17|^s17|disabledchild|childwithdisabilit|childrenwithdisabilit/;

/** List 9's eligibility categories (Children (Leaving Care) Act 2000). */
const CARE_LEAVER_DESCRIPTIONS = /^(?:formerrelevant|relevant|qualifying)|careleaver|leavingcare/;
/** An eligible young person is still looked after, so only List 9 reads `Eligible` as a care leaver. */
const ELIGIBLE = /^eligible/;

/** A legal status in any of the forms councils' files carry; null when it is none of them. */
export function legalStatusFromCode(text: string): LegalStatus | null {
  const key = codeKey(text);
  const exact = LEGAL_STATUS_BY_CODE.get(key);
  if (exact) return exact;
  if (CARE_CODE_WITH_DESCRIPTION.test(withoutCodePrefix(text)) || CARE_DESCRIPTIONS.test(key)) return 'child_in_care';
  if (CHILD_IN_NEED_DESCRIPTIONS.test(key)) return 'cin';
  if (CARE_LEAVER_DESCRIPTIONS.test(key)) return 'care_leaver';
  return null;
}

/** What each list accepts in its status column, in the words of the error a user reads. */
export const LIST_STATUS_HINTS: Readonly<Record<SourceList | 'none', string>> = {
  none: `use ${LEGAL_STATUSES.map((s) => LEGAL_STATUS_LABELS[s]).join(', ')} (or CIN, CP, CLA, LAC, C2, Relevant…)`,
  list6: 'use a List 6 case status such as "Child in need plan" or "Open assessment" (or Child Protection, Child in Care)',
  list7: '',
  list8: 'use a List 8 legal status code such as C1, C2, E1 or V2, or its description such as "a) Interim care orders"',
  list9: 'use a List 9 eligibility category: Relevant, Former relevant, Qualifying or Eligible',
};

/**
 * The status of a child from their row's status cell, given the list they are on. Lists 7, 8
 * and 9 decide the status themselves: their column, when present, is checked against the
 * list's own codes (a child in care's legal status, a care leaver's eligibility).
 */
export function legalStatusOnList(text: string, list: SourceList | null): { ok: true; value: LegalStatus } | { ok: false; reason: string } {
  const implied = list ? LIST_LEGAL_STATUS[list] : null;
  if (list === 'list7') return { ok: true, value: 'cp' };
  if (text === '') {
    if (list === 'list6') return { ok: true, value: 'cin' };
    return implied ? { ok: true, value: implied } : { ok: false, reason: 'blank, but this column is required' };
  }
  const status = list === 'list9' && ELIGIBLE.test(codeKey(text)) ? 'care_leaver' : legalStatusFromCode(text);
  if (status && (implied === null || status === implied)) return { ok: true, value: status };
  const what = list === 'list9' ? 'an eligibility category' : list === 'list8' ? 'a List 8 legal status' : list === 'list6' ? 'a List 6 case status' : 'a recognised legal status';
  return { ok: false, reason: `not ${what}: ${LIST_STATUS_HINTS[list ?? 'none']}` };
}

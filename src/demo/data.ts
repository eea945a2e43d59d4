/**
 * A synthetic demo council: "Avonford City Council", loosely modelled on the shape of a
 * large English city's children's services (front door, locality social work units, through
 * care, disabled children, fostering, IROs, early help and a QA team).
 *
 * Everything here is fictional and clearly synthetic. The generator is PURE and
 * DETERMINISTIC: it returns plain objects (no database, no I/O) and, for the same options,
 * returns the same output every run (a seeded mulberry32 PRNG; the only input from the
 * outside world is the default for `today`, so pass `today` for reproducible output).
 *
 * Records are linked by stable string keys (not database ids); the code that inserts the
 * council maps keys to ids.
 */

// Local copies for now; they match src/db/types.ts and will be re-pointed to shared definitions.
export type Role = 'practitioner' | 'auditor' | 'moderator' | 'qa_coordinator' | 'qa_lead' | 'senior_leader' | 'administrator';
export type LegalStatus = 'early_help' | 'cin' | 'cp' | 'plo' | 'child_in_care' | 'care_leaver';
export type GrantScope = 'team' | 'service' | 'organisation';
export type Gender = 'male' | 'female' | 'other' | 'unknown';

export type DemoGrant = {
  role: Role;
  scope: GrantScope;
  /** Set exactly when scope is 'team' (the grantee's own team). */
  teamKey: string | null;
  /** Set exactly when scope is 'service' (the grantee's own service). */
  serviceKey: string | null;
};

export type DemoStaff = {
  key: string;
  staffNumber: string;
  fullName: string;
  email: string;
  jobTitle: string;
  teamKey: string;
  lineManagerKey: string | null;
  startDate: string;
  leavingDate: string | null;
};

export type DemoUser = {
  staffKey: string | null;
  email: string;
  displayName: string;
  password: string;
  grants: DemoGrant[];
};

export type DemoChild = {
  externalId: string;
  initials: string;
  dateOfBirth: string;
  gender: Gender;
  ethnicity: string;
  legalStatus: LegalStatus;
  workerKey: string;
  teamKey: string;
  openDate: string;
  closeDate: string | null;
  referralFactors: string[];
};

export type DemoCouncil = {
  organisation: { name: string; slug: string };
  localities: { key: string; name: string }[];
  services: { key: string; name: string; localityKey: string | null }[];
  teams: { key: string; name: string; serviceKey: string; localityKey: string | null }[];
  staff: DemoStaff[];
  users: DemoUser[];
  children: DemoChild[];
};

export type DemoCouncilOptions = {
  /** ISO date 'YYYY-MM-DD' that ages and dates are relative to: the UK today by the app's clock. */
  today: string;
  /** How many children to generate. Default 500. */
  children?: number;
  /** PRNG seed. Default DEFAULT_DEMO_SEED. */
  seed?: number;
};

/** The one password shared by every demo sign-in. Demo only: never use in a real deployment. */
export const DEMO_PASSWORD = 'Assure-demo-2026!';
export const DEFAULT_DEMO_SEED = 20260101;
export const DEFAULT_DEMO_CHILDREN = 500;

export const DEMO_ORGANISATION = { name: 'Avonford City Council', slug: 'avonford' } as const;
const EMAIL_DOMAIN = 'avonford.example';

export type DemoSignIn = {
  email: string;
  role: Role;
  scope: GrantScope;
  /** Who the sign-in is (a fixed synthetic staff member) and what the role sees. */
  description: string;
};

/**
 * The demo sign-ins: one per role, all with DEMO_PASSWORD. Each (except the administrator)
 * is linked to a staff record whose job title fits the role; names and teams are fixed.
 */
export const DEMO_SIGN_INS: readonly DemoSignIn[] = [
  {
    email: `practitioner@${EMAIL_DOMAIN}`,
    role: 'practitioner',
    scope: 'team',
    description: 'Amira Hassan, Social Worker, North Unit 1: sees the audits of their own work',
  },
  {
    email: `auditor@${EMAIL_DOMAIN}`,
    role: 'auditor',
    scope: 'team',
    description: 'Daniel Price, Team Manager, North Unit 1: completes case file audits',
  },
  {
    email: `moderator@${EMAIL_DOMAIN}`,
    role: 'moderator',
    scope: 'service',
    description: 'Helen Marsh, Service Manager, Area Social Work North: moderates audits in the service',
  },
  {
    email: `qa.coordinator@${EMAIL_DOMAIN}`,
    role: 'qa_coordinator',
    scope: 'organisation',
    description: 'Tom Ashby, QA Social Worker, QA Team: plans audit rounds and allocates audits',
  },
  {
    email: `qa.lead@${EMAIL_DOMAIN}`,
    role: 'qa_lead',
    scope: 'organisation',
    description: 'Ruth Kendall, QA Service Manager, QA Team: owns the QA framework, tools and reports',
  },
  {
    email: `senior.leader@${EMAIL_DOMAIN}`,
    role: 'senior_leader',
    scope: 'organisation',
    description: "Marcus Bell, Head of Service, Safeguarding and Early Help: reads reports across the council",
  },
  {
    email: `admin@${EMAIL_DOMAIN}`,
    role: 'administrator',
    scope: 'organisation',
    description: 'Demo Administrator (system owner, no staff record): manages users, structure and settings',
  },
];

/** Staff records the demo sign-ins are linked to (key → sign-in email). */
const DEMO_USER_STAFF: Readonly<Record<string, string>> = {
  'north-unit-1-sw-1': `practitioner@${EMAIL_DOMAIN}`,
  'tm-north-unit-1': `auditor@${EMAIL_DOMAIN}`,
  'sm-area-north': `moderator@${EMAIL_DOMAIN}`,
  'qa-qasw-1': `qa.coordinator@${EMAIL_DOMAIN}`,
  'qa-service-manager': `qa.lead@${EMAIL_DOMAIN}`,
  'hos-safeguarding': `senior.leader@${EMAIL_DOMAIN}`,
};

/** Fixed names for the staff behind the demo sign-ins, so documentation can name them. */
const FIXED_NAMES: Readonly<Record<string, string>> = {
  'north-unit-1-sw-1': 'Amira Hassan',
  'tm-north-unit-1': 'Daniel Price',
  'sm-area-north': 'Helen Marsh',
  'qa-qasw-1': 'Tom Ashby',
  'qa-service-manager': 'Ruth Kendall',
  'hos-safeguarding': 'Marcus Bell',
};

// ---------------------------------------------------------------------------------------------
// Structure

const LOCALITIES = [
  { key: 'north', name: 'North' },
  { key: 'south', name: 'South' },
  { key: 'east-central', name: 'East Central' },
];

const SERVICES = [
  { key: 'first-response', name: 'First Response / MASH', localityKey: null },
  { key: 'area-north', name: 'Area Social Work North', localityKey: 'north' },
  { key: 'area-south', name: 'Area Social Work South', localityKey: 'south' },
  { key: 'area-east-central', name: 'Area Social Work East Central', localityKey: 'east-central' },
  { key: 'through-care', name: 'Through Care', localityKey: null },
  { key: 'disabled-children', name: 'Disabled Children', localityKey: null },
  { key: 'fostering', name: 'Fostering', localityKey: null },
  { key: 'iro', name: 'IRO Service', localityKey: null },
  { key: 'families-in-focus', name: 'Families in Focus', localityKey: null },
  { key: 'quality-assurance', name: 'Quality Assurance', localityKey: null },
];

const SW = 'Social Worker';
const SP = 'Senior Practitioner';
const CSW = 'Consultant Social Worker';
const PL = 'Practice Lead';
const FP = 'Family Practitioner';
const FSW = 'Family Support Worker';

/** Titles that hold cases (children can be allocated to them). */
const CASE_HOLDING = new Set([SW, SP, CSW, PL, FP]);

type TeamDef = {
  key: string;
  name: string;
  serviceKey: string;
  localityKey: string | null;
  /** Members under the team manager (or, for the QA Team, under the QA Service Manager). */
  members: string[];
  /** Whether the team has a Team Manager. */
  managed: boolean;
};

const TEAMS: TeamDef[] = [
  { key: 'first-response-a', name: 'First Response Team A', serviceKey: 'first-response', localityKey: null, members: [SP, SW], managed: true },
  { key: 'first-response-b', name: 'First Response Team B', serviceKey: 'first-response', localityKey: null, members: [SP, SW], managed: true },
  { key: 'north-unit-1', name: 'North Unit 1', serviceKey: 'area-north', localityKey: 'north', members: [SW, SW], managed: true },
  { key: 'north-unit-2', name: 'North Unit 2', serviceKey: 'area-north', localityKey: 'north', members: [PL, SW], managed: true },
  { key: 'south-unit-1', name: 'South Unit 1', serviceKey: 'area-south', localityKey: 'south', members: [CSW, SW], managed: true },
  { key: 'south-unit-2', name: 'South Unit 2', serviceKey: 'area-south', localityKey: 'south', members: [SP, SW], managed: true },
  { key: 'east-central-unit-1', name: 'East Central Unit 1', serviceKey: 'area-east-central', localityKey: 'east-central', members: [PL, SW], managed: true },
  { key: 'east-central-unit-2', name: 'East Central Unit 2', serviceKey: 'area-east-central', localityKey: 'east-central', members: [SP, SW], managed: true },
  { key: 'through-care', name: 'Through Care Team', serviceKey: 'through-care', localityKey: null, members: [CSW, SW], managed: true },
  { key: 'leaving-care', name: 'Leaving Care Team', serviceKey: 'through-care', localityKey: null, members: [SW, FP], managed: true },
  { key: 'disabled-children', name: "Disabled Children's Team", serviceKey: 'disabled-children', localityKey: null, members: [SW, FSW], managed: true },
  { key: 'fostering', name: 'Fostering Team', serviceKey: 'fostering', localityKey: null, members: [SW], managed: true },
  { key: 'iro', name: 'IRO Team', serviceKey: 'iro', localityKey: null, members: ['IRO', 'IRO'], managed: true },
  { key: 'fif-north', name: 'Families in Focus North', serviceKey: 'families-in-focus', localityKey: 'north', members: [FP, FP, FSW], managed: true },
  { key: 'fif-south', name: 'Families in Focus South', serviceKey: 'families-in-focus', localityKey: 'south', members: [FP, FP], managed: true },
  { key: 'fif-east-central', name: 'Families in Focus East Central', serviceKey: 'families-in-focus', localityKey: 'east-central', members: [FP, FP], managed: true },
  { key: 'qa', name: 'QA Team', serviceKey: 'quality-assurance', localityKey: null, members: ['QA Social Worker', 'QA Social Worker', 'Practice Development Lead', 'Business Support Officer'], managed: false },
  { key: 'leadership', name: "Children's Services Leadership Team", serviceKey: 'quality-assurance', localityKey: null, members: [], managed: false },
];

/** Staff who have LEFT (still in the HR extract, with a past leaving date; they hold no cases). */
const LEAVERS: { teamKey: string; jobTitle: string }[] = [
  { teamKey: 'south-unit-1', jobTitle: SW },
  { teamKey: 'fif-east-central', jobTitle: FP },
];

/** Which head of service each service manager reports to. */
const HEADS_OF_SERVICE = [
  {
    key: 'hos-safeguarding',
    title: 'Head of Service, Safeguarding and Early Help',
    services: ['first-response', 'area-north', 'area-south', 'area-east-central', 'families-in-focus', 'iro', 'quality-assurance'],
  },
  {
    key: 'hos-children-in-care',
    title: 'Head of Service, Children in Care and Disabled Children',
    services: ['through-care', 'disabled-children', 'fostering'],
  },
];

// ---------------------------------------------------------------------------------------------
// Children's data (Annex A style)

/** Annex A ethnicity codes, weighted roughly like the child population of an English city. */
const ETHNICITIES: [string, number][] = [
  ['WBRI', 56], ['WIRI', 1], ['WOTH', 6],
  ['MWBC', 6], ['MWBA', 2], ['MWAS', 2], ['MOTH', 4],
  ['AIND', 2], ['APKN', 4], ['ABAN', 1], ['AOTH', 2],
  ['BCRB', 2], ['BAFR', 7], ['BOTH', 1.5],
  ['CHNE', 0.5], ['OOTH', 1.5], ['REFU', 1], ['NOBT', 0.5],
];

export const LEGAL_STATUS_SHARE: Readonly<Record<LegalStatus, number>> = {
  early_help: 0.2,
  cin: 0.35,
  cp: 0.18,
  plo: 0.04,
  child_in_care: 0.18,
  care_leaver: 0.05,
};

export const REFERRAL_FACTORS = [
  'Domestic abuse',
  'Mental health of parent',
  'Neglect',
  'Substance misuse',
  'Child sexual exploitation',
  'Going missing',
  'Physical abuse',
  'Emotional abuse',
  'Learning disability',
  'Young carer',
  'Housing',
  'Gangs',
] as const;

const FACTOR_WEIGHTS: Record<(typeof REFERRAL_FACTORS)[number], number> = {
  'Domestic abuse': 10,
  'Mental health of parent': 9,
  Neglect: 8,
  'Substance misuse': 6,
  'Child sexual exploitation': 2,
  'Going missing': 2,
  'Physical abuse': 4,
  'Emotional abuse': 6,
  'Learning disability': 3,
  'Young carer': 2,
  Housing: 3,
  Gangs: 1.5,
};

/** Age ranges (whole years at `today`) by legal status, weighted toward typical ages. */
const AGE_BANDS: Record<LegalStatus, [min: number, max: number, weight: number][]> = {
  early_help: [[0, 4, 3], [5, 10, 4], [11, 17, 3]],
  cin: [[0, 4, 3], [5, 10, 3], [11, 17, 4]],
  cp: [[0, 4, 5], [5, 10, 3], [11, 17, 2]],
  plo: [[0, 4, 7], [5, 10, 2], [11, 17, 1]],
  child_in_care: [[0, 4, 2], [5, 10, 3], [11, 17, 5]],
  care_leaver: [[18, 20, 6], [21, 24, 4]],
};

/** Which teams hold children of each legal status, with weights per group of teams. */
const AREA_UNITS = ['north-unit-1', 'north-unit-2', 'south-unit-1', 'south-unit-2', 'east-central-unit-1', 'east-central-unit-2'];
const ALLOCATION: Record<LegalStatus, [teamKeys: string[], weight: number][]> = {
  early_help: [[['fif-north', 'fif-south', 'fif-east-central'], 1]],
  cin: [[AREA_UNITS, 70], [['first-response-a', 'first-response-b'], 20], [['disabled-children'], 10]],
  cp: [[AREA_UNITS, 85], [['first-response-a', 'first-response-b'], 10], [['disabled-children'], 5]],
  plo: [[AREA_UNITS, 1]],
  child_in_care: [[['through-care'], 60], [AREA_UNITS, 32], [['disabled-children'], 8]],
  care_leaver: [[['leaving-care'], 1]],
};

// Staff names: deliberately common, drawn from small fixed lists.
const FIRST_NAMES = [
  'Aisha', 'Alex', 'Amy', 'Ben', 'Chloe', 'Chris', 'Claire', 'David', 'Emma', 'Fatima', 'Gemma', 'George',
  'Grace', 'Hannah', 'Imran', 'Jack', 'James', 'Jo', 'Joseph', 'Karen', 'Katie', 'Kwame', 'Laura', 'Liam',
  'Lucy', 'Mark', 'Megan', 'Michael', 'Mohammed', 'Nadia', 'Nathan', 'Niamh', 'Oliver', 'Olivia', 'Paul',
  'Priya', 'Rachel', 'Rebecca', 'Ryan', 'Sam', 'Sarah', 'Simon', 'Sophie', 'Stephen', 'Zara',
];
const LAST_NAMES = [
  'Ahmed', 'Ali', 'Baker', 'Begum', 'Brown', 'Clarke', 'Cooper', 'Davies', 'Edwards', 'Evans', 'Green',
  'Hall', 'Harris', 'Hill', 'Hughes', 'Hussain', 'Jackson', 'Johnson', 'Jones', 'Khan', 'King', 'Lewis',
  'Martin', 'Mensah', 'Moore', 'Morgan', 'Morris', 'Nowak', 'Okafor', 'Patel', 'Roberts', 'Robinson',
  'Scott', 'Smith', 'Taylor', 'Thomas', 'Thompson', 'Turner', 'Walker', 'Ward', 'Watson', 'White',
  'Williams', 'Wilson', 'Wood', 'Wright',
];

/** Weighted first letters for children's initials (A-Z, a rough spread). */
const INITIAL_LETTERS: [string, number][] = [
  ['A', 8], ['B', 5], ['C', 7], ['D', 5], ['E', 5], ['F', 3], ['G', 4], ['H', 5], ['I', 3], ['J', 8],
  ['K', 4], ['L', 6], ['M', 8], ['N', 3], ['O', 3], ['P', 4], ['Q', 0.3], ['R', 5], ['S', 8], ['T', 5],
  ['U', 0.3], ['V', 1], ['W', 4], ['X', 0.2], ['Y', 1], ['Z', 1.5],
];

// ---------------------------------------------------------------------------------------------
// PRNG and dates

type Rng = () => number;

/** mulberry32: a small, fast, seeded 32-bit PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function intBetween(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick from an empty list');
  return items[Math.floor(rng() * items.length)] as T;
}

/** Picks from [value, weight] pairs, with probability proportional to weight. */
function weighted<T>(rng: Rng, items: readonly (readonly [T, number])[]): T {
  const item = items[weightedIndex(rng, items.map((i) => i[1]))];
  if (!item) throw new Error('weighted pick from an empty list');
  return item[0];
}

function shuffle<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}

const DAY_MS = 86_400_000;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** 'YYYY-MM-DD' → whole days since 1970-01-01 (UTC). Throws on an invalid date. */
function toDays(iso: string): number {
  const m = ISO_DATE.exec(iso);
  if (!m) throw new RangeError(`Not an ISO date (YYYY-MM-DD): ${iso}`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  if (new Date(ms).toISOString().slice(0, 10) !== iso) throw new RangeError(`Not a real date: ${iso}`);
  return ms / DAY_MS;
}

function fromDays(days: number): string {
  return new Date(days * DAY_MS).toISOString().slice(0, 10);
}

/** The same calendar day `years` earlier (29 February → 28 February), as days since epoch. */
function yearsBefore(iso: string, years: number): number {
  const [y, mo, d] = iso.split('-').map(Number) as [number, number, number];
  const target = y - years;
  const lastDay = new Date(Date.UTC(target, mo, 0)).getUTCDate();
  return Date.UTC(target, mo - 1, Math.min(d, lastDay)) / DAY_MS;
}

/** Whole years between a date of birth and `today` (both ISO dates). */
export function ageOn(dateOfBirth: string, today: string): number {
  const [by, bm, bd] = dateOfBirth.split('-').map(Number) as [number, number, number];
  const [ty, tm, td] = today.split('-').map(Number) as [number, number, number];
  return ty - by - (tm < bm || (tm === bm && td < bd) ? 1 : 0);
}

// ---------------------------------------------------------------------------------------------
// Generator

/**
 * Generates the demo council. Pure and deterministic for given options. Staff and children
 * use separate PRNG streams, so changing the number of children does not change the staff.
 */
export function generateDemoCouncil(options: DemoCouncilOptions): DemoCouncil {
  const { today } = options;
  const todayDays = toDays(today);
  if (todayDays < toDays('2013-01-01')) throw new RangeError(`today must be 2013-01-01 or later: ${today}`);
  const childCount = options.children ?? DEFAULT_DEMO_CHILDREN;
  if (!Number.isSafeInteger(childCount) || childCount < 0 || childCount > 899_999) {
    throw new RangeError(`children must be a whole number from 0 to 899999: ${childCount}`);
  }
  const seed = options.seed ?? DEFAULT_DEMO_SEED;
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a number: ${seed}`);

  const staff = generateStaff(mulberry32(seed), todayDays);
  const users = generateUsers(staff);
  const children = generateChildren(mulberry32((seed ^ 0x5bd1e995) >>> 0), staff, today, todayDays, childCount);

  return {
    organisation: { ...DEMO_ORGANISATION },
    localities: LOCALITIES.map((l) => ({ ...l })),
    services: SERVICES.map((s) => ({ ...s })),
    teams: TEAMS.map(({ key, name, serviceKey, localityKey }) => ({ key, name, serviceKey, localityKey })),
    staff,
    users,
    children,
  };
}

type StaffSlot = { key: string; jobTitle: string; teamKey: string; lineManagerKey: string | null; leaver: boolean };

function staffSlots(): StaffSlot[] {
  const slots: StaffSlot[] = [];
  const teamsOf = (serviceKey: string) => TEAMS.filter((t) => t.serviceKey === serviceKey);
  const hosOf = (serviceKey: string) => {
    const hos = HEADS_OF_SERVICE.find((h) => h.services.includes(serviceKey));
    if (!hos) throw new Error(`No head of service for ${serviceKey}`);
    return hos.key;
  };

  for (const hos of HEADS_OF_SERVICE) {
    slots.push({ key: hos.key, jobTitle: 'Head of Service', teamKey: 'leadership', lineManagerKey: null, leaver: false });
  }
  slots.push({ key: 'principal-social-worker', jobTitle: 'Principal Social Worker', teamKey: 'leadership', lineManagerKey: 'hos-safeguarding', leaver: false });
  slots.push({ key: 'qa-service-manager', jobTitle: 'QA Service Manager', teamKey: 'qa', lineManagerKey: hosOf('quality-assurance'), leaver: false });

  // One service manager per operational service, sitting in the service's first team.
  for (const service of SERVICES) {
    if (service.key === 'quality-assurance') continue;
    const firstTeam = teamsOf(service.key)[0];
    if (!firstTeam) throw new Error(`Service ${service.key} has no teams`);
    slots.push({ key: `sm-${service.key}`, jobTitle: 'Service Manager', teamKey: firstTeam.key, lineManagerKey: hosOf(service.key), leaver: false });
  }

  for (const team of TEAMS) {
    const managerKey = team.managed ? `tm-${team.key}` : team.key === 'qa' ? 'qa-service-manager' : null;
    if (team.managed) {
      slots.push({ key: `tm-${team.key}`, jobTitle: 'Team Manager', teamKey: team.key, lineManagerKey: `sm-${team.serviceKey}`, leaver: false });
    }
    const counts = new Map<string, number>();
    for (const jobTitle of team.members) {
      const abbrev = titleAbbrev(jobTitle);
      const n = (counts.get(abbrev) ?? 0) + 1;
      counts.set(abbrev, n);
      slots.push({ key: `${team.key}-${abbrev}-${n}`, jobTitle, teamKey: team.key, lineManagerKey: managerKey, leaver: false });
    }
  }

  LEAVERS.forEach((leaver, i) => {
    slots.push({ key: `leaver-${i + 1}`, jobTitle: leaver.jobTitle, teamKey: leaver.teamKey, lineManagerKey: `tm-${leaver.teamKey}`, leaver: true });
  });
  return slots;
}

function titleAbbrev(jobTitle: string): string {
  return jobTitle
    .split(/\s+/)
    .map((w) => (w === w.toUpperCase() ? w.toLowerCase() : (w[0]?.toLowerCase() ?? '')))
    .join('');
}

function emailFor(fullName: string): string {
  const local = fullName
    .toLowerCase()
    .split(/\s+/)
    .map((part) => part.replace(/[^a-z]/g, ''))
    .join('.');
  return `${local}@${EMAIL_DOMAIN}`;
}

function generateStaff(rng: Rng, todayDays: number): DemoStaff[] {
  const usedEmails = new Set(Object.values(FIXED_NAMES).map(emailFor));
  const firstDay = toDays('2012-01-01');
  const lastDay = Math.min(todayDays, toDays('2026-12-31'));

  return staffSlots().map((slot, i) => {
    let fullName = FIXED_NAMES[slot.key];
    if (!fullName) {
      for (;;) {
        const first = pick(rng, FIRST_NAMES);
        const last = pick(rng, LAST_NAMES);
        const candidate = `${first} ${last}`;
        if (first === last || usedEmails.has(emailFor(candidate))) continue;
        usedEmails.add(emailFor(candidate));
        fullName = candidate;
        break;
      }
    }

    let startDate: string;
    let leavingDate: string | null = null;
    if (slot.leaver) {
      const start = intBetween(rng, firstDay, Math.max(firstDay, todayDays - 400));
      startDate = fromDays(start);
      leavingDate = fromDays(intBetween(rng, Math.min(start + 180, todayDays - 14), todayDays - 14));
    } else {
      startDate = fromDays(intBetween(rng, firstDay, lastDay));
    }

    return {
      key: slot.key,
      staffNumber: `S${String(i + 1).padStart(4, '0')}`,
      fullName,
      email: emailFor(fullName),
      jobTitle: slot.jobTitle,
      teamKey: slot.teamKey,
      lineManagerKey: slot.lineManagerKey,
      startDate,
      leavingDate,
    };
  });
}

function generateUsers(staff: DemoStaff[]): DemoUser[] {
  const serviceOfTeam = new Map(TEAMS.map((t) => [t.key, t.serviceKey]));
  const staffKeyByEmail = new Map(Object.entries(DEMO_USER_STAFF).map(([key, email]) => [email, key]));

  return DEMO_SIGN_INS.map((signIn) => {
    const staffKey = staffKeyByEmail.get(signIn.email) ?? null;
    const member = staffKey ? staff.find((s) => s.key === staffKey) : undefined;
    if (staffKey && !member) throw new Error(`Demo user ${signIn.email}: no staff ${staffKey}`);
    const grant: DemoGrant = {
      role: signIn.role,
      scope: signIn.scope,
      teamKey: signIn.scope === 'team' ? (member?.teamKey ?? null) : null,
      serviceKey: signIn.scope === 'service' && member ? (serviceOfTeam.get(member.teamKey) ?? null) : null,
    };
    return {
      staffKey,
      email: signIn.email,
      displayName: member?.fullName ?? 'Demo Administrator',
      password: DEMO_PASSWORD,
      grants: [grant],
    };
  });
}

/** Exact counts per legal status for n children (largest remainder), in a shuffled order. */
function legalStatuses(rng: Rng, n: number): LegalStatus[] {
  const entries = Object.entries(LEGAL_STATUS_SHARE) as [LegalStatus, number][];
  const counts = entries.map(([status, share]) => ({ status, count: Math.floor(share * n), rem: share * n - Math.floor(share * n) }));
  let left = n - counts.reduce((sum, c) => sum + c.count, 0);
  for (const c of [...counts].sort((a, b) => b.rem - a.rem)) {
    if (left <= 0) break;
    c.count++;
    left--;
  }
  return shuffle(rng, counts.flatMap((c) => Array.from({ length: c.count }, () => c.status)));
}

function generateChildren(rng: Rng, staff: DemoStaff[], today: string, todayDays: number, n: number): DemoChild[] {
  const workersByTeam = new Map<string, DemoStaff[]>();
  for (const member of staff) {
    if (member.leavingDate !== null || !CASE_HOLDING.has(member.jobTitle)) continue;
    const list = workersByTeam.get(member.teamKey) ?? [];
    list.push(member);
    workersByTeam.set(member.teamKey, list);
  }
  const workersIn = (teamKeys: string[]) => teamKeys.flatMap((k) => workersByTeam.get(k) ?? []);

  const children: DemoChild[] = [];
  let nextId = 100_000;
  for (const legalStatus of legalStatuses(rng, n)) {
    nextId += intBetween(rng, 1, 3) === 1 ? 2 : 1;

    const initials = weighted(rng, INITIAL_LETTERS) + weighted(rng, INITIAL_LETTERS);

    const g = rng();
    const gender: Gender = g < 0.505 ? 'male' : g < 0.98 ? 'female' : g < 0.99 ? 'other' : 'unknown';
    const ethnicity = weighted(rng, ETHNICITIES);

    const band = AGE_BANDS[legalStatus][weightedIndex(rng, AGE_BANDS[legalStatus].map((b) => b[2]))] as [number, number, number];
    const dobFrom = yearsBefore(today, band[1] + 1) + 1;
    const dobTo = yearsBefore(today, band[0]);
    const dobDays = intBetween(rng, dobFrom, dobTo);

    const openDays = intBetween(rng, Math.max(todayDays - 3 * 365, dobDays), todayDays);
    const closeDays = rng() < 0.08 ? intBetween(rng, openDays, todayDays) : null;

    const groups = ALLOCATION[legalStatus];
    const teamKeys = groups[weightedIndex(rng, groups.map((grp) => grp[1]))]?.[0] ?? [];
    const worker = pick(rng, workersIn(teamKeys));

    const factorCount = intBetween(rng, 1, 3);
    const factors: string[] = [];
    while (factors.length < factorCount) {
      const available = REFERRAL_FACTORS.filter((f) => !factors.includes(f));
      const factor = weighted(rng, available.map((f) => [f, factorWeight(f, legalStatus)] as const));
      factors.push(factor);
    }

    children.push({
      externalId: `LCS-${nextId}`,
      initials,
      dateOfBirth: fromDays(dobDays),
      gender,
      ethnicity,
      legalStatus,
      workerKey: worker.key,
      teamKey: worker.teamKey,
      openDate: fromDays(openDays),
      closeDate: closeDays === null ? null : fromDays(closeDays),
      referralFactors: factors,
    });
  }
  return children;
}

function factorWeight(factor: (typeof REFERRAL_FACTORS)[number], status: LegalStatus): number {
  const base = FACTOR_WEIGHTS[factor];
  if (status === 'care_leaver' && (factor === 'Housing' || factor === 'Going missing' || factor === 'Gangs')) return base * 3;
  if (status === 'early_help' && (factor === 'Child sexual exploitation' || factor === 'Physical abuse')) return base / 3;
  return base;
}

function weightedIndex(rng: Rng, weights: number[]): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let r = rng() * total;
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i] as number;
    if (r < 0) return i;
  }
  return weights.length - 1;
}

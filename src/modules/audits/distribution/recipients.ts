/**
 * The distribution form's recipients: the team manager and the case holder (ticked to send),
 * and rows of other named professionals, each a member of staff or a name and e-mail address,
 * with their role. Checked with zod; every problem names its field and its row.
 *
 * Field names: `send` (team_manager, case_holder); a row's `other-ROW-role`, `other-ROW-staff`,
 * `other-ROW-name`, `other-ROW-email`, rows numbered from 0.
 */
import { z } from 'zod';
import type { RecipientRole } from '../../../db/types.ts';
import type { FieldError } from '../../../platform/errors.ts';
import type { StaffMember } from './record.ts';

export const MAX_ROWS = 20;
const NAME_MAX = 200;
const EMAIL_MAX = 320;

/** The roles a named professional may have: the team manager and case holder come from the audit. */
export const PROFESSIONAL_ROLES = ['cp_chair', 'iro', 'other'] as const satisfies readonly RecipientRole[];

export type RecipientInput = { role: RecipientRole; staffId: string | null; name: string; email: string | null };

export type RecipientChoices = {
  teamManager: StaffMember | null;
  caseHolder: StaffMember | null;
  /** Staff who may be chosen for a row, by id. */
  staff: ReadonlyMap<string, StaffMember>;
};

export type ProfessionalRow = { role: string; staff: string; name: string; email: string };

const text = z.preprocess((value) => (typeof value === 'string' ? value : Array.isArray(value) ? String(value.at(-1) ?? '') : ''), z.string().trim());
const sendSchema = z.preprocess((value) => (Array.isArray(value) ? value : typeof value === 'string' && value ? [value] : []), z.array(z.string()));
const rowShape = z.object({ role: text, staff: text, name: text, email: text });
const emailSchema = z.email().max(EMAIL_MAX);

export const rowField = (row: number, part: keyof ProfessionalRow) => `other-${row}-${part}`;

/** How many professional rows were posted (at least one, at most MAX_ROWS). */
export function postedRowCount(fields: Record<string, unknown>): number {
  let last = -1;
  for (const name of Object.keys(fields)) {
    const row = /^other-(\d{1,3})-(role|staff|name|email)$/.exec(name)?.[1];
    if (row !== undefined && Number(row) < MAX_ROWS) last = Math.max(last, Number(row));
  }
  return Math.max(1, last + 1);
}

/** The rows as posted, trimmed: what the form shows again after a problem. */
export function postedRows(fields: Record<string, unknown>, count = postedRowCount(fields)): ProfessionalRow[] {
  return Array.from({ length: count }, (_, row) =>
    rowShape.parse({ role: fields[rowField(row, 'role')], staff: fields[rowField(row, 'staff')], name: fields[rowField(row, 'name')], email: fields[rowField(row, 'email')] }),
  );
}

/** Which of the audit's own people are ticked. */
export function postedSend(fields: Record<string, unknown>): string[] {
  return sendSchema.parse(fields.send);
}

type Listed = { staffIds: Set<string>; emails: Set<string> };

/** One professional row: nothing when left blank, else the recipient or its problems. */
function parseRow(row: ProfessionalRow, index: number, choices: RecipientChoices, listed: Listed, errors: FieldError[]): RecipientInput | null {
  if (!row.role && !row.staff && !row.name && !row.email) return null;
  const label = `Professional ${index + 1}`;
  const problem = (part: keyof ProfessionalRow, message: string) => errors.push({ field: rowField(index, part), message: `${label}: ${message}` });
  const before = errors.length;
  const role = z.enum(PROFESSIONAL_ROLES).safeParse(row.role);
  if (!role.success) problem('role', 'choose their role');
  if (row.staff) {
    const member = choices.staff.get(row.staff);
    if (!member) problem('staff', 'choose a member of staff from the list');
    else if (row.name || row.email) problem('staff', 'choose a member of staff, or enter a name and e-mail address, not both');
    else if (listed.staffIds.has(member.id)) problem('staff', `${member.name} is already listed to receive the audit`);
    if (errors.length > before || !member || !role.success) return null;
    listed.staffIds.add(member.id);
    if (member.email) listed.emails.add(member.email.toLowerCase());
    return { role: role.data, staffId: member.id, name: member.name, email: member.email };
  }
  if (!row.name) problem('name', 'enter their name, or choose a member of staff');
  else if (row.name.length > NAME_MAX) problem('name', `the name must be ${NAME_MAX} characters or fewer`);
  const email = emailSchema.safeParse(row.email);
  if (!row.email) problem('email', 'enter their e-mail address');
  else if (!email.success) problem('email', 'enter an e-mail address in the correct format, like name@example.org');
  else if (listed.emails.has(row.email.toLowerCase())) problem('email', `${row.email} is already listed to receive the audit`);
  if (errors.length > before || !role.success || !email.success) return null;
  listed.emails.add(row.email.toLowerCase());
  return { role: role.data, staffId: null, name: row.name, email: row.email };
}

/**
 * Everyone the audit is to be sent to, or every problem. The audit's own people are sent to
 * only when ticked; at least one person is needed.
 */
export function parseRecipients(fields: Record<string, unknown>, choices: RecipientChoices): { recipients: RecipientInput[]; errors: FieldError[] } {
  const send = postedSend(fields);
  const recipients: RecipientInput[] = [];
  const listed: Listed = { staffIds: new Set(), emails: new Set() };
  const own: [RecipientRole, StaffMember | null][] = [
    ['team_manager', choices.teamManager],
    ['case_holder', choices.caseHolder],
  ];
  for (const [role, member] of own) {
    if (!member || !send.includes(role)) continue;
    recipients.push({ role, staffId: member.id, name: member.name, email: member.email });
    listed.staffIds.add(member.id);
    if (member.email) listed.emails.add(member.email.toLowerCase());
  }
  const errors: FieldError[] = [];
  postedRows(fields).forEach((row, index) => {
    const recipient = parseRow(row, index, choices, listed, errors);
    if (recipient) recipients.push(recipient);
  });
  if (!errors.length && !recipients.length) {
    const field = choices.teamManager || choices.caseHolder ? 'send' : rowField(0, 'name');
    errors.push({ field, message: 'Choose at least one person to send the audit to' });
  }
  return { recipients, errors };
}

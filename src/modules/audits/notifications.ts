/**
 * Telling the next person that an audit waits on them: the moderator when it is submitted (or
 * resubmitted), the auditor when it is moderated or returned, the QA coordinator who sent it
 * when the case holder gives their feedback. Called in the transaction of the change, so a
 * notice exists only if the change committed; its key (the audit's version after the change)
 * makes it one notice however often the request or the job is retried.
 *
 * Each person chooses on their account page: an e-mail at each event, or the daily digest only.
 * For digest-only people the notice waits in notification_digest_items for their next digest.
 */
import { sql } from 'kysely';
import type { Db } from '../../db/index.ts';
import type { NotificationChoice } from '../../db/types.ts';
import { appLink, enqueueEmail } from '../../platform/outbox.ts';
import { formatDate } from '../../platform/views.ts';
import { GRADE_LABELS } from './tracker.ts';

export type AuditEvent = 'submitted' | 'resubmitted' | 'moderated' | 'returned' | 'feedback_given';

export type AnnouncedBy = { principal: { userId: string; displayName: string }; at: Date };

/** Someone a notice goes to: a user (with their choice), or a member of staff without an account. */
type Addressee = { key: string; userId: string | null; name: string; email: string; choice: NotificationChoice };

type AuditFacts = {
  id: string;
  organisation_id: string;
  reference: number;
  initials: string;
  external_id: string;
  tool_name: string;
  auditor_id: string;
  moderator_id: string | null;
  case_holder_name: string | null;
  stage_due_on: string | Date | null;
  final_grade: string | null;
};

export type Notice = { subject: string; text: string };

/** The notice's key: one per event, audit version and person. */
export function noticeKey(event: AuditEvent, auditId: string, version: number, addresseeKey: string): string {
  return `audit-${event}:${auditId}:v${version}:${addresseeKey}`;
}

/**
 * Announces the event to the person the audit now waits on, once, by their choice. Nobody is
 * told of their own act, and nobody without an e-mail address is told at all.
 */
export async function announceAuditEvent(trx: Db, by: AnnouncedBy, input: { auditId: string; event: AuditEvent; version: number; reason?: string | null }): Promise<void> {
  const audit = await auditFacts(trx, input.auditId);
  const addressee = await addresseeFor(trx, audit, input.event);
  if (!addressee || addressee.userId === by.principal.userId) return;
  const notice = noticeFor(input.event, audit, { by: by.principal.displayName, reason: input.reason ?? null, name: addressee.name });
  const dedupeKey = noticeKey(input.event, audit.id, input.version, addressee.key);
  if (addressee.choice === 'daily_digest' && addressee.userId) {
    await trx
      .insertInto('notification_digest_items')
      .values({ organisation_id: audit.organisation_id, user_id: addressee.userId, audit_id: audit.id, subject: notice.subject, text_body: digestLine(input.event, audit), dedupe_key: dedupeKey, created_at: by.at })
      .onConflict((conflict) => conflict.column('dedupe_key').doNothing())
      .execute();
    return;
  }
  await enqueueEmail(trx, { organisationId: audit.organisation_id, to: addressee.email, subject: notice.subject, text: notice.text, dedupeKey, now: by.at });
}

async function auditFacts(db: Db, auditId: string): Promise<AuditFacts> {
  return db
    .selectFrom('audits')
    .innerJoin('children', 'children.id', 'audits.child_id')
    .innerJoin('audit_tool_editions as editions', 'editions.id', 'audits.tool_edition_id')
    .innerJoin('audit_tools as tools', 'tools.id', 'editions.tool_id')
    .leftJoin('staff as holders', 'holders.id', 'audits.case_holder_id')
    .select([
      'audits.id',
      'audits.organisation_id',
      'audits.reference',
      'children.initials',
      'children.external_id',
      'tools.name as tool_name',
      'audits.auditor_id',
      'audits.moderator_id',
      'holders.full_name as case_holder_name',
      'audits.stage_due_on',
      'audits.final_grade',
    ])
    .where('audits.id', '=', auditId)
    .executeTakeFirstOrThrow();
}

async function addresseeFor(db: Db, audit: AuditFacts, event: AuditEvent): Promise<Addressee | null> {
  switch (event) {
    case 'submitted':
    case 'resubmitted':
      return audit.moderator_id ? staffAddressee(db, audit.organisation_id, audit.moderator_id) : null;
    case 'moderated':
    case 'returned':
      return staffAddressee(db, audit.organisation_id, audit.auditor_id);
    case 'feedback_given':
      return distributorOf(db, audit);
  }
}

/** A member of staff: their register e-mail (else their account's), and their account's choice. */
async function staffAddressee(db: Db, organisationId: string, staffId: string): Promise<Addressee | null> {
  const row = await db
    .selectFrom('staff')
    .leftJoin('users', (join) => join.onRef('users.staff_id', '=', 'staff.id').on('users.disabled_at', 'is', null))
    .select(['staff.full_name', 'staff.email as staff_email', 'users.id as user_id', 'users.email as user_email', 'users.notification_choice'])
    .where('staff.organisation_id', '=', organisationId)
    .where('staff.id', '=', staffId)
    .orderBy(sql`users.created_at asc nulls last`)
    .limit(1)
    .executeTakeFirst();
  const email = row?.staff_email ?? row?.user_email;
  if (!row || !email) return null;
  return { key: `staff:${staffId}`, userId: row.user_id, name: row.full_name, email, choice: row.notification_choice ?? 'each_event' };
}

/** The QA coordinator who distributed the audit: they read the feedback and close it. */
async function distributorOf(db: Db, audit: AuditFacts): Promise<Addressee | null> {
  const row = await db
    .selectFrom('audit_recipients')
    .innerJoin('users', 'users.id', 'audit_recipients.sent_by')
    .select(['users.id', 'users.display_name', 'users.email', 'users.notification_choice'])
    .where('audit_recipients.audit_id', '=', audit.id)
    .where('users.disabled_at', 'is', null)
    .orderBy('audit_recipients.sent_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) return null;
  return { key: `user:${row.id}`, userId: row.id, name: row.display_name, email: row.email, choice: row.notification_choice };
}

const dueText = (audit: AuditFacts) => (audit.stage_due_on ? ` by ${formatDate(audit.stage_due_on)}` : '');
const named = (audit: AuditFacts) => `${audit.initials} (${audit.external_id})`;

/** The e-mail sent at the event. */
export function noticeFor(event: AuditEvent, audit: AuditFacts, words: { by: string; reason: string | null; name: string }): Notice {
  const about = `the case file audit of ${named(audit)}, audit ${audit.reference} (${audit.tool_name})`;
  const lines = [`${words.name},`, ''];
  let subject: string;
  switch (event) {
    case 'submitted':
    case 'resubmitted':
      subject = `Audit ${audit.reference} to moderate: ${named(audit)}`;
      lines.push(`${words.by} has ${event === 'resubmitted' ? 'resubmitted' : 'submitted'} ${about} for moderation.`, '', `Moderate it${dueText(audit)}: ${appLink(`/audits/${audit.id}/moderate`)}`);
      break;
    case 'returned':
      subject = `Audit ${audit.reference} returned to you: ${named(audit)}`;
      lines.push(`${words.by} has returned ${about} to you.`, '', 'What needs to change:', words.reason ?? '', '', `Make the changes and resubmit it${dueText(audit)}: ${appLink(`/audits/${audit.id}/form`)}`);
      break;
    case 'moderated':
      subject = `Audit ${audit.reference} moderated: ${named(audit)}`;
      lines.push(
        `${words.by} has moderated ${about}.`,
        '',
        `Final grade: ${audit.final_grade ? (GRADE_LABELS[audit.final_grade as keyof typeof GRADE_LABELS] ?? audit.final_grade) : 'not graded'}`,
        '',
        `Read the moderation: ${appLink(`/audits/${audit.id}`)}`,
      );
      break;
    case 'feedback_given':
      subject = `Feedback given on audit ${audit.reference}: ${named(audit)}`;
      lines.push(`${audit.case_holder_name ?? words.by} has given their practitioner feedback on ${about}.`, '', `Read it and close the audit: ${appLink(`/audits/${audit.id}/close`)}`);
      break;
  }
  return { subject, text: lines.join('\n') };
}

/** The event in one line for the daily digest, with where to act. */
function digestLine(event: AuditEvent, audit: AuditFacts): string {
  const paths: Record<AuditEvent, [string, string]> = {
    submitted: ['Submitted for moderation: moderate it', '/moderate'],
    resubmitted: ['Resubmitted for moderation: moderate it', '/moderate'],
    returned: ['Returned to you for changes', '/form'],
    moderated: ['Moderated', ''],
    feedback_given: ['Practitioner feedback given: read it and close the audit', '/close'],
  };
  const [what, path] = paths[event];
  return `${what}${dueText(audit)}\n${appLink(`/audits/${audit.id}${path}`)}`;
}

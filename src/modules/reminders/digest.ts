import { appLink } from '../../platform/outbox.ts';
import type { IsoDate } from '../../platform/working-days.ts';
import { formatDate } from '../../platform/views.ts';
import { groupBySection, type SectionKey, type WorkItem } from '../home/my-work.ts';
import type { DigestRound } from '../programme/calendar.ts';

/**
 * One person's daily reminder: everything waiting on them that is overdue or due within the
 * reminder window, in one message, grouped as on their My work page. Plain text, so it reads
 * the same through SMTP and through a GOV.UK Notify template.
 */

export type DigestRecipient = { staffId: string; name: string; email: string };

/** What happened on the person's audits since their last digest, for those who chose the digest only. */
export type DigestEvent = { subject: string; text: string };

export type DigestOptions = {
  /** The last day counted as due soon: the end of the reminder window. */
  dueBy: IsoDate;
  serviceName: string;
};

export type Digest = { subject: string; text: string };

/** The key that makes a person's digest for a day one message however often the job runs. */
export function digestDedupeKey(staffId: string, date: IsoDate): string {
  return `digest:${staffId}:${date}`;
}

function whenLine(item: WorkItem, section: SectionKey): string {
  const date = item.dueOn ? formatDate(item.dueOn) : 'no date';
  if (section === 'alerts') return item.urgency === 'overdue' ? `Not yet acknowledged, raised ${date}` : `Raised ${date}`;
  const verb = section === 'verification' ? 'verify by' : 'due';
  return item.urgency === 'overdue' ? `OVERDUE: ${verb} ${date}` : `${verb.charAt(0).toUpperCase()}${verb.slice(1)} ${date}`;
}

export function buildDigest(recipient: DigestRecipient, items: WorkItem[], options: DigestOptions, events: DigestEvent[] = [], rounds: DigestRound[] = []): Digest {
  const overdue = items.filter((item) => item.urgency === 'overdue').length;
  const dueSoon = items.length - overdue;
  const updates = events.length ? `${events.length} ${events.length === 1 ? 'update' : 'updates'} on your audits` : null;
  const roundsDue = rounds.length ? `${rounds.length} sampling ${rounds.length === 1 ? 'round' : 'rounds'} due` : null;
  const counts = [overdue ? `${overdue} overdue` : null, dueSoon ? `${dueSoon} due soon` : null, updates, roundsDue].filter(Boolean).join(', ');
  const lines = [
    `${recipient.name},`,
    '',
    `This is your daily reminder from ${options.serviceName}: ${counts}.${items.length ? ` It lists the work waiting for you that is overdue or due by ${formatDate(options.dueBy)}.` : ''}`,
  ];
  if (events.length) {
    // Those who chose the digest only are told here, not by an e-mail at each event.
    lines.push('', `Since your last reminder (${events.length})`);
    for (const event of events) lines.push(`- ${event.subject}`, ...event.text.split('\n').map((line) => `  ${line}`));
  }
  for (const section of groupBySection(items)) {
    if (!section.items.length) continue;
    lines.push('', `${section.title} (${section.items.length})`);
    for (const item of section.items) {
      lines.push(`- ${item.title}`, `  ${whenLine(item, section.key)}`);
      if (item.detail) lines.push(`  ${oneLine(item.detail)}`);
      lines.push(`  ${appLink(item.href)}`);
    }
  }
  if (rounds.length) {
    // The schedule of expectations makes a round due on the first day of each of its periods.
    lines.push('', `Sampling rounds due (${rounds.length})`);
    for (const round of rounds) lines.push(`- ${round.title}`, `  ${round.overdue ? 'OVERDUE: due' : 'Due'} ${formatDate(round.dueOn)}`, `  ${appLink(round.href)}`);
  }
  lines.push(
    '',
    `Everything waiting for you is on your My work page: ${appLink('/')}`,
    '',
    `${options.serviceName} sends this reminder once each working day while something of yours is overdue or due soon.`,
  );
  return { subject: `${options.serviceName} reminder: ${counts}`, text: lines.join('\n') };
}

/** Free text (an action) on one line of at most 200 characters, so the list stays a list. */
function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 199)}…` : flat;
}

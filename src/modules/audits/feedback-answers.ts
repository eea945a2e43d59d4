import type { AuditTool } from '../tools/schema.ts';

/**
 * Where each tool edition keeps the family's (service user's) feedback: its feedback sections,
 * their respondents (with their type: parent or carer, child, foster carer, other), the reasons a
 * tool offers for feedback not obtained and its 0–10 scaling questions. An audit stores a
 * respondent's part under answers[section].respondents[respondent] (see form/answers.ts):
 * `obtained` yes or no, `notObtainedReason` (one of the tool's options), `notObtainedOther`
 * (free text) and `answers` by question key.
 */

export type FeedbackRespondent = {
  editionId: string;
  sectionKey: string;
  respondentKey: string;
  type: string;
  reasons: { value: string; label: string }[];
  scalingKeys: string[];
};

/** A reason is the tool's option, "other" for free text alone, or "not_given". */
export const OTHER_REASON = 'other';
export const NO_REASON = 'not_given';

type StoredTool = Partial<Pick<AuditTool, 'sections'>>;

export function feedbackRespondents(editionId: string, definition: unknown): FeedbackRespondent[] {
  const sections = ((definition ?? {}) as StoredTool).sections ?? [];
  const found: FeedbackRespondent[] = [];
  for (const section of sections) {
    if (!section.feedback) continue;
    const reasons = (section.feedback.notObtained?.options ?? []).map((option) => ({ value: option.value, label: option.label }));
    for (const respondent of section.feedback.respondents) {
      const questions = [...section.feedback.questions, ...(respondent.questions ?? [])];
      found.push({
        editionId,
        sectionKey: section.key,
        respondentKey: respondent.key,
        type: respondent.type,
        reasons,
        scalingKeys: questions.filter((question) => question.kind === 'scaling').map((question) => question.key),
      });
    }
  }
  return found;
}

/**
 * What a feedback figure counts, as the tracker's `feedback` filter says it:
 * `TYPE:asked`, `TYPE:obtained`, `TYPE:not_obtained`, `TYPE:reason:VALUE` or `TYPE:scaling:N`,
 * where TYPE is a respondent type or `any`.
 */
export type FeedbackFact =
  | { type: string; what: 'asked' | 'obtained' | 'not_obtained' }
  | { type: string; what: 'reason'; reason: string }
  | { type: string; what: 'scaling'; score: number };

export function parseFeedbackFact(text: string): FeedbackFact | null {
  const [type, what, value] = text.split(':');
  if (!type || !/^[a-z_]+$/.test(type)) return null;
  if ((what === 'asked' || what === 'obtained' || what === 'not_obtained') && value === undefined) return { type, what };
  if (what === 'reason' && value && /^[\w-]+$/.test(value)) return { type, what, reason: value };
  if (what === 'scaling' && value && /^\d{1,2}$/.test(value)) return { type, what, score: Number(value) };
  return null;
}

export function feedbackFactText(fact: FeedbackFact): string {
  if (fact.what === 'reason') return `${fact.type}:reason:${fact.reason}`;
  if (fact.what === 'scaling') return `${fact.type}:scaling:${fact.score}`;
  return `${fact.type}:${fact.what}`;
}

/** The respondent parts (by edition, section and respondent) a fact may be found in. */
export function feedbackPlaces(respondents: readonly FeedbackRespondent[], fact: FeedbackFact) {
  return respondents
    .filter((respondent) => fact.type === 'any' || respondent.type === fact.type)
    .filter((respondent) => fact.what !== 'scaling' || respondent.scalingKeys.length > 0)
    .map((respondent) => ({ editionId: respondent.editionId, sectionKey: respondent.sectionKey, respondentKey: respondent.respondentKey, scalingKeys: respondent.scalingKeys }));
}

/** A respondent's part of an audit's answers, as the form stores it. */
export type RespondentPart = { obtained?: string; notObtainedReason?: string; notObtainedOther?: string; answers?: Record<string, unknown> };

/** The same test as the tracker's SQL (queries.ts), in code: whether a respondent's part shows the fact. */
export function partShows(part: RespondentPart, fact: FeedbackFact, scalingKeys: readonly string[]): boolean {
  switch (fact.what) {
    case 'asked':
      return part.obtained === 'yes' || part.obtained === 'no';
    case 'obtained':
      return part.obtained === 'yes';
    case 'not_obtained':
      return part.obtained === 'no';
    case 'reason':
      return part.obtained === 'no' && reasonOf(part) === fact.reason;
    case 'scaling':
      return part.obtained === 'yes' && scalingKeys.some((key) => String(part.answers?.[key]) === String(fact.score));
  }
}

export function reasonOf(part: RespondentPart): string {
  return part.notObtainedReason ?? (part.notObtainedOther ? OTHER_REASON : NO_REASON);
}

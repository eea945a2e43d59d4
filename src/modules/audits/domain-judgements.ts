import type { Grade } from '../../db/types.ts';
import { judgementDomains, NOT_MAPPED, type DomainOrNotMapped } from '../tools/domains.ts';
import { PRACTICE_DOMAINS, type AuditTool } from '../tools/schema.ts';

/**
 * The graded sections of each tool edition with their practice domain and scale, so reports
 * can count judgements by domain across tools, and the tracker can list the audits that have a
 * judgement in a domain at a grade. A section's judgement row (audit_judgements.section_key) is
 * its first judgement, as the form and moderation record it; the domain is the one that judgement
 * declares, else its section's (tools/domains.ts), else "not mapped".
 */

export type SectionScaleOption = { value: string; label: string; ofsted: Grade | null };
export type GradedSection = {
  editionId: string;
  sectionKey: string;
  domain: DomainOrNotMapped;
  scaleId: string;
  scaleLabel: string;
  options: SectionScaleOption[];
};

/** A grade in a domain: an Ofsted grade (for scales the tool maps to Ofsted's), or `scaleId:value` on the scale's own terms. */
export type DomainGrade = Grade | `${string}:${string}`;

type StoredTool = Partial<Pick<AuditTool, 'header' | 'sections' | 'scales'>>;

/** The graded sections of one edition's definition; a definition without sections (or domains) gives what it has. */
export function gradedSections(editionId: string, definition: unknown): GradedSection[] {
  const stored = (definition ?? {}) as StoredTool;
  const tool = { header: stored.header ?? [], sections: stored.sections ?? [], scales: stored.scales ?? [] };
  const domains = judgementDomains(tool);
  const found: GradedSection[] = [];
  for (const section of tool.sections) {
    const judgement = section.answers.find((answer) => answer.kind === 'judgement');
    if (!judgement || judgement.kind !== 'judgement') continue;
    const scale = tool.scales.find((candidate) => candidate.id === judgement.scale);
    if (!scale) continue;
    found.push({
      editionId,
      sectionKey: section.key,
      domain: domains.find((entry) => entry.answerKey === judgement.key)?.domain ?? NOT_MAPPED,
      scaleId: scale.id,
      scaleLabel: scale.label,
      options: scale.options.map((option) => ({ value: option.value, label: option.label, ofsted: option.ofsted ?? null })),
    });
  }
  return found;
}

export function isDomain(value: string): value is DomainOrNotMapped {
  return value === NOT_MAPPED || Object.hasOwn(PRACTICE_DOMAINS, value);
}

/**
 * The judgement rows that mean "a final judgement in this domain at this grade": for each graded
 * section in the domain, the scale values that are that grade (an Ofsted grade through the
 * scale's mapping, or one value of the scale itself).
 */
export function domainJudgementSets(sections: readonly GradedSection[], domain: DomainOrNotMapped, grade: DomainGrade | undefined) {
  const sets: { editionId: string; sectionKey: string; grades: string[] }[] = [];
  for (const section of sections) {
    if (section.domain !== domain) continue;
    const grades = section.options
      .filter((option) => grade === undefined || option.ofsted === grade || `${section.scaleId}:${option.value}` === grade)
      .map((option) => option.value);
    if (grades.length) sets.push({ editionId: section.editionId, sectionKey: section.sectionKey, grades });
  }
  return sets;
}

/**
 * The practice domain each judgement of a tool edition speaks to, for reports that compare
 * domains across tools and editions (DESIGN.md, "Domains across tools").
 *
 * A judgement names its domain (`domain:`), or takes its section's. Criteria answered on a graded
 * scale (Telford's 1–5 measure) take their section's domain too, since they are what that tool
 * grades. Anything without one is reported under NOT_MAPPED: a tool without domains still
 * validates and still reports, only not by domain. Pure: it reads the definition alone, so a
 * report joins an audit's judgement rows (by answer key) to the domains of the edition the audit
 * was started on.
 */
import { PRACTICE_DOMAINS, type AuditTool, type PracticeDomain } from './schema.ts';

/** The domain of a judgement that declares none. */
export const NOT_MAPPED = 'not_mapped';
export type DomainOrNotMapped = PracticeDomain | typeof NOT_MAPPED;

export type JudgementDomain = {
  /** The answer key, as stored in the audit's answers and its judgement rows. */
  answerKey: string;
  sectionKey: string | null;
  kind: 'judgement' | 'criterion';
  domain: DomainOrNotMapped;
  domainLabel: string;
};

export function domainLabel(domain: DomainOrNotMapped): string {
  return domain === NOT_MAPPED ? 'Not mapped' : PRACTICE_DOMAINS[domain];
}

/** Every graded answer of the tool with its practice domain, in the tool's order. */
export function judgementDomains(tool: Pick<AuditTool, 'header' | 'sections' | 'scales'>): JudgementDomain[] {
  const entry = (answerKey: string, sectionKey: string | null, kind: JudgementDomain['kind'], domain: PracticeDomain | undefined): JudgementDomain => ({
    answerKey,
    sectionKey,
    kind,
    domain: domain ?? NOT_MAPPED,
    domainLabel: domainLabel(domain ?? NOT_MAPPED),
  });
  const graded = (scaleId: string | undefined) => {
    const scale = tool.scales.find((s) => s.id === scaleId);
    return scale !== undefined && scale.order !== 'none';
  };
  const domains: JudgementDomain[] = [];
  for (const answer of tool.header) if (answer.kind === 'judgement') domains.push(entry(answer.key, null, 'judgement', answer.domain));
  for (const section of tool.sections) {
    for (const answer of section.answers) if (answer.kind === 'judgement') domains.push(entry(answer.key, section.key, 'judgement', answer.domain ?? section.domain));
    for (const criterion of section.criteria ?? []) {
      if (typeof criterion === 'string' || 'heading' in criterion || !criterion.key) continue;
      if (graded(criterion.scale ?? section.criteriaScale)) domains.push(entry(criterion.key, section.key, 'criterion', section.domain));
    }
  }
  return domains;
}

/** The domain of one graded answer of the tool, NOT_MAPPED when it has none or is not graded. */
export function domainOf(tool: Pick<AuditTool, 'header' | 'sections' | 'scales'>, answerKey: string): DomainOrNotMapped {
  return judgementDomains(tool).find((entry) => entry.answerKey === answerKey)?.domain ?? NOT_MAPPED;
}

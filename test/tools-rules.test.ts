import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  answerApplies,
  applyLimitingJudgements,
  breachedLimits,
  gradeWithinLimits,
  limitingJudgement,
  overallGrade,
  overallSources,
  sectionApplies,
} from '../src/modules/tools/judgements.ts';
import { aggregateScores, auditorOverallScore, itemScores, scoredItems, scoreOf, summariseScores } from '../src/modules/tools/scoring.ts';
import { standardScale } from '../src/modules/tools/scales.ts';
import type { AuditTool } from '../src/modules/tools/schema.ts';
import { parseToolFile } from '../src/modules/tools/tool-file.ts';
import { PRACTICE_DOMAINS } from '../src/modules/tools/schema.ts';
import { builtInToolFiles, loadToolFile } from '../src/modules/tools/library.ts';
import { domainOf, judgementDomains, NOT_MAPPED } from '../src/modules/tools/domains.ts';
import { reAuditForm } from '../src/modules/tools/escalation.ts';
import { auditorSections } from '../src/modules/audits/form/answers.ts';
import { missingOnPage, respondentAsked, type AuditForm } from '../src/modules/audits/form/form.ts';
import { conditionInWords } from '../src/modules/tools/condition-words.ts';

function load(yamlText: string, file = 'test.yaml'): AuditTool {
  const result = parseToolFile(yamlText, file);
  if (!result.ok) throw new Error(JSON.stringify(result.errors, null, 2));
  return result.tool;
}

// Bolton's collaborative case audit, cut down to what its limiting judgements need. The rule
// messages are the form's own words.
const SUPERVISION_MESSAGE =
  'Limiting judgement for this section - if there is not supervision recorded within timescale – this section must be rated Does not yet meet good';
const OUTCOMES_MESSAGE = "Limiting Judgement - If a child's outcomes are not improving, then the overall judgement cannot be more than 'requires improvement'";
const STATUTORY_MESSAGE =
  "If the statutory requirements are not met or the minimum of supervision requirement is not met the judgement cannot be more than 'requires improvement'";

const boltonYaml = `
schemaVersion: 1
key: bolton-collaborative-case-audit
name: Collaborative case audit
edition: test
source: Bolton collaborative case audit (cut down for tests)
description: The sections that carry Bolton's limiting judgements.
scales:
  - id: bolton_grade
    extends: ofsted
    labels:
      requires_improvement: Does not yet meet good
      inadequate: Immediate remedy required
sections:
  - key: management_grip
    title: Management Grip
    criteriaScale: yes_no
    criteria:
      - key: supervision_recorded
        text: There is at least 1 supervision discussion recorded within the last 3 months.
    answers:
      - { key: management_grip_grade, kind: judgement, label: Grading, scale: bolton_grade }
  - key: achieving_outcomes
    title: Achieving outcomes for the child
    criteriaScale: yes_no
    criteria:
      - key: outcomes_improving
        text: The child or young person's outcomes and quality of life is improving as a result of social work practice and the Local Authority involvement.
    answers:
      - { key: outcomes_grade, kind: judgement, label: Grading, scale: bolton_grade }
  - key: statutory_requirements
    title: Statutory requirements and case recording
    criteriaScale: yes_no
    criteria:
      - key: visits_in_timescale
        text: Visits are completed within statutory timescales
    answers:
      - { key: statutory_grade, kind: judgement, label: Grading, scale: bolton_grade }
  - key: specific_case_questions
    title: Specific case questions – complete as appropriate
    appliesWhen: child.legalStatus in ['child_in_care', 'care_leaver']
    answers:
      - { key: specific_grade, kind: judgement, label: Grading, scale: bolton_grade }
  - key: overall_judgement
    title: Overall Judgement
    answers:
      - { key: overall_grade, kind: judgement, label: Overall grading, scale: bolton_grade }
rules:
  - key: supervision_limits_management_grip
    when: answers.supervision_recorded == 'no'
    limit: { answer: management_grip_grade, atBest: requires_improvement }
    message: "${SUPERVISION_MESSAGE}"
  - key: outcomes_limit_overall
    when: answers.outcomes_improving == 'no'
    limit: { answer: overall, atBest: requires_improvement }
    message: "${OUTCOMES_MESSAGE}"
  - key: statutory_or_supervision_limit_overall
    when: answers.visits_in_timescale == 'no' or answers.supervision_recorded == 'no'
    limit: { answer: overall, atBest: requires_improvement }
    message: "${STATUTORY_MESSAGE}"
overall:
  answer: overall_grade
  mode: chosen
`;

const bolton = load(boltonYaml, 'bolton.yaml');
const boltonLowest = load(boltonYaml.replace('mode: chosen', 'mode: lowest-of-sections'), 'bolton-lowest.yaml');
const inCare = { legalStatus: 'child_in_care' };
const childInNeed = { legalStatus: 'cin' };

describe("Bolton's limiting judgements", () => {
  it('no supervision in timescale: Management Grip cannot be better than Does not yet meet good, and says why', () => {
    const answers = { supervision_recorded: 'no', management_grip_grade: 'good' };
    expect(limitingJudgement(bolton, 'management_grip_grade', answers)).toEqual({
      ruleKey: 'supervision_limits_management_grip',
      answerKey: 'management_grip_grade',
      atBest: 'requires_improvement',
      message: SUPERVISION_MESSAGE,
    });
    expect(gradeWithinLimits(bolton, 'management_grip_grade', 'good', answers)).toEqual({
      grade: 'requires_improvement',
      limitedBy: expect.objectContaining({ ruleKey: 'supervision_limits_management_grip', message: SUPERVISION_MESSAGE }),
    });
    expect(gradeWithinLimits(bolton, 'management_grip_grade', 'outstanding', answers).grade).toBe('requires_improvement');
  });

  it('a limit never raises a grade: Immediate remedy required stays so', () => {
    const answers = { supervision_recorded: 'no' };
    expect(gradeWithinLimits(bolton, 'management_grip_grade', 'inadequate', answers)).toEqual({ grade: 'inadequate', limitedBy: null });
    expect(gradeWithinLimits(bolton, 'management_grip_grade', 'requires_improvement', answers)).toEqual({ grade: 'requires_improvement', limitedBy: null });
  });

  it('supervision recorded, or not yet answered: no limit', () => {
    expect(limitingJudgement(bolton, 'management_grip_grade', { supervision_recorded: 'yes' })).toBeNull();
    expect(limitingJudgement(bolton, 'management_grip_grade', {})).toBeNull();
    expect(gradeWithinLimits(bolton, 'management_grip_grade', 'outstanding', { supervision_recorded: 'yes' })).toEqual({ grade: 'outstanding', limitedBy: null });
  });

  it("outcomes not improving: the overall judgement cannot be more than 'requires improvement'", () => {
    const answers = { outcomes_improving: 'no', overall_grade: 'outstanding' };
    expect(overallGrade(bolton, answers)).toEqual({
      grade: 'requires_improvement',
      limitedBy: { ruleKey: 'outcomes_limit_overall', answerKey: 'overall_grade', atBest: 'requires_improvement', message: OUTCOMES_MESSAGE },
    });
  });

  it('statutory requirements or minimum supervision not met: the same limit on the overall', () => {
    expect(overallGrade(bolton, { visits_in_timescale: 'no', overall_grade: 'good' })).toEqual({
      grade: 'requires_improvement',
      limitedBy: expect.objectContaining({ ruleKey: 'statutory_or_supervision_limit_overall', message: STATUTORY_MESSAGE }),
    });
    expect(overallGrade(bolton, { visits_in_timescale: 'yes', outcomes_improving: 'yes', overall_grade: 'good' })).toEqual({ grade: 'good', limitedBy: null });
  });

  it('lists every limit in force in rule order, and those the given grades break', () => {
    const answers = { supervision_recorded: 'no', outcomes_improving: 'no', management_grip_grade: 'requires_improvement', overall_grade: 'good' };
    expect(applyLimitingJudgements(bolton, answers).map((l) => `${l.ruleKey} → ${l.answerKey} at best ${l.atBest}`)).toEqual([
      'supervision_limits_management_grip → management_grip_grade at best requires_improvement',
      'outcomes_limit_overall → overall_grade at best requires_improvement',
      'statutory_or_supervision_limit_overall → overall_grade at best requires_improvement',
    ]);
    // Management Grip is within its limit; the overall Good is not, under two rules.
    expect(breachedLimits(bolton, answers).map((l) => l.message)).toEqual([OUTCOMES_MESSAGE, STATUTORY_MESSAGE]);
  });

  it('of two limits on one judgement the stricter holds', () => {
    const strict = load(
      boltonYaml.replace(
        'overall:\n  answer',
        `  - key: immediate_risk
    when: answers.management_grip_grade == 'inadequate'
    limit: { answer: overall, atBest: inadequate }
    message: The child or young person is at immediate risk of significant harm.
overall:
  answer`,
      ),
    );
    const answers = { outcomes_improving: 'no', management_grip_grade: 'inadequate', overall_grade: 'good' };
    expect(limitingJudgement(strict, 'overall_grade', answers)?.ruleKey).toBe('immediate_risk');
    expect(overallGrade(strict, answers)).toEqual({ grade: 'inadequate', limitedBy: expect.objectContaining({ ruleKey: 'immediate_risk' }) });
  });

  it('a limit on a judgement in a section that does not apply to the child is not in force', () => {
    const tool = load(
      boltonYaml.replace(
        'overall:\n  answer',
        `  - key: specific_limited_by_supervision
    when: answers.supervision_recorded == 'no'
    limit: { answer: specific_grade, atBest: requires_improvement }
    message: Not in force unless the child is looked after or a care leaver.
overall:
  answer`,
      ),
    );
    const answers = { supervision_recorded: 'no' };
    expect(applyLimitingJudgements(tool, answers, childInNeed).map((l) => l.ruleKey)).not.toContain('specific_limited_by_supervision');
    expect(applyLimitingJudgements(tool, answers, inCare).map((l) => l.ruleKey)).toContain('specific_limited_by_supervision');
  });
});

describe('conditional sections (Bolton §11)', () => {
  it('applies only to a looked-after child or care leaver', () => {
    expect(sectionApplies(bolton, 'specific_case_questions', {}, inCare)).toBe(true);
    expect(sectionApplies(bolton, 'specific_case_questions', {}, { legalStatus: 'care_leaver' })).toBe(true);
    expect(sectionApplies(bolton, 'specific_case_questions', {}, childInNeed)).toBe(false);
    expect(sectionApplies(bolton, 'specific_case_questions', {}, null)).toBe(false);
    expect(answerApplies(bolton, 'specific_grade', {}, childInNeed)).toBe(false);
    expect(answerApplies(bolton, 'management_grip_grade', {}, childInNeed)).toBe(true);
  });
});

describe('the overall grade', () => {
  it('chosen: the auditor\'s own grade, within the limits; undefined until given', () => {
    expect(overallGrade(bolton, { overall_grade: 'outstanding', management_grip_grade: 'inadequate' })).toEqual({ grade: 'outstanding', limitedBy: null });
    expect(overallGrade(bolton, { management_grip_grade: 'good' })).toEqual({ grade: undefined, limitedBy: null });
  });

  it('lowest-of-sections: the judgements of standard sections on the overall scale, not the overall itself', () => {
    expect(overallSources(boltonLowest)).toEqual(['management_grip_grade', 'outcomes_grade', 'statutory_grade', 'specific_grade']);
  });

  it('lowest-of-sections: the worst grade of the sections that apply', () => {
    const answers = { management_grip_grade: 'good', outcomes_grade: 'outstanding', statutory_grade: 'good', specific_grade: 'inadequate' };
    expect(overallGrade(boltonLowest, answers, inCare)).toEqual({ grade: 'inadequate', limitedBy: null });
    // §11 does not apply to a child in need, so its Inadequate does not count.
    expect(overallGrade(boltonLowest, answers, childInNeed)).toEqual({ grade: 'good', limitedBy: null });
    expect(overallGrade(boltonLowest, { management_grip_grade: 'outstanding' }, childInNeed)).toEqual({ grade: 'outstanding', limitedBy: null });
    expect(overallGrade(boltonLowest, {}, childInNeed)).toEqual({ grade: undefined, limitedBy: null });
  });

  it('lowest-of-sections: a section grade counts as its limit allows, and the overall limits apply', () => {
    const answers = { supervision_recorded: 'no', management_grip_grade: 'good', outcomes_grade: 'good', statutory_grade: 'good' };
    // Management Grip "must be rated Does not yet meet good", so the lowest is that, and so is the overall.
    expect(overallGrade(boltonLowest, answers, childInNeed).grade).toBe('requires_improvement');
    const outcomes = { outcomes_improving: 'no', management_grip_grade: 'outstanding', outcomes_grade: 'good', statutory_grade: 'outstanding' };
    expect(overallGrade(boltonLowest, outcomes, childInNeed)).toEqual({
      grade: 'requires_improvement',
      limitedBy: expect.objectContaining({ ruleKey: 'outcomes_limit_overall', message: OUTCOMES_MESSAGE }),
    });
  });

  it('lowest-of-sections with from: only the judgements listed', () => {
    const tool = load(boltonYaml.replace('mode: chosen', 'mode: lowest-of-sections\n  from: [outcomes_grade, statutory_grade]'));
    expect(overallSources(tool)).toEqual(['outcomes_grade', 'statutory_grade']);
    expect(overallGrade(tool, { management_grip_grade: 'inadequate', outcomes_grade: 'good', statutory_grade: 'outstanding' }).grade).toBe('good');
  });

  it('the worked example (minimal.yaml): management oversight not yet good limits the overall', () => {
    const minimal = load(readFileSync(new URL('../audit-tools/examples/minimal.yaml', import.meta.url), 'utf8'));
    expect(overallGrade(minimal, { management_grip: 'requires_improvement', overall_grade: 'good' })).toEqual({
      grade: 'requires_improvement',
      limitedBy: expect.objectContaining({ ruleKey: 'management_limits_overall' }),
    });
    expect(overallGrade(minimal, { management_grip: 'good', overall_grade: 'good' })).toEqual({ grade: 'good', limitedBy: null });
  });
});

// Telford's Strengthening Families case audit tool: each question scored on the Quality of Case
// File Measure (1 Exceeds good … 4 Inadequate, 5 N/A), then the Auditors Overall Score.
const telford = load(`
schemaVersion: 1
key: telford-strengthening-families-case-audit
name: Strengthening Families Case Audit Tool
edition: test
source: Telford Attachment One (cut down for tests)
description: Questions on the Quality of Case File Measure and the auditor's overall score.
sections:
  - key: basic_required_information
    title: Basic required information
    criteriaScale: telford_quality
    criteria:
      - key: demographics_recorded
        text: All demographic information is recorded and up to date
      - key: allocation_timely
        text: The allocation is timely (2 weeks outstanding / 12 weeks inadequate).
      - key: referrer_notified
        text: There is evidence that the referrer has been notified of the case allocation (exception Family Connect).
  - key: summary
    title: Case record audit summary
    answers:
      - { key: auditors_overall_score, kind: judgement, label: Auditors Overall Score, scale: telford_quality }
      - { key: general_comments, kind: text, label: General Comments }
overall:
  answer: auditors_overall_score
  mode: chosen
`);

describe("Telford's auditor overall score", () => {
  it('scores 1 to 4 and leaves N/A (5) out', () => {
    const scale = standardScale('telford_quality')!;
    expect(['1', '2', '3', '4', '5'].map((v) => scoreOf(scale, v))).toEqual([1, 2, 3, 4, undefined]);
    expect(scoreOf(scale, 2)).toBe(2);
    expect(scoreOf(scale, undefined)).toBeUndefined();
  });

  it("is the auditor's own overall judgement on the measure, not an average of the questions", () => {
    const answers = { demographics_recorded: '1', allocation_timely: '1', referrer_notified: '1', auditors_overall_score: '3' };
    expect(auditorOverallScore(telford, answers)).toEqual({ status: 'scored', value: '3', label: 'Requires improvement', score: 3, limitedBy: null });
  });

  it('N/A is reported as not applicable, never as a score of 5; unanswered as not given', () => {
    expect(auditorOverallScore(telford, { auditors_overall_score: '5' })).toEqual({ status: 'not_applicable', value: '5', label: 'N/A', limitedBy: null });
    expect(auditorOverallScore(telford, {})).toEqual({ status: 'not_given' });
  });

  it('the question scores beside it: N/A and unanswered questions left out of the mean', () => {
    const answers = { demographics_recorded: '1', allocation_timely: '5', auditors_overall_score: '2' };
    expect(scoredItems(telford).map((i) => i.key)).toEqual(['demographics_recorded', 'allocation_timely', 'referrer_notified']);
    expect(itemScores(telford, answers)).toEqual([
      { key: 'demographics_recorded', label: 'All demographic information is recorded and up to date', value: '1', score: 1, applies: true },
      { key: 'allocation_timely', label: 'The allocation is timely (2 weeks outstanding / 12 weeks inadequate).', value: '5', score: null, applies: true },
      { key: 'referrer_notified', label: 'There is evidence that the referrer has been notified of the case allocation (exception Family Connect).', value: null, score: null, applies: true },
    ]);
    const summary = summariseScores(standardScale('telford_quality')!, ['1', '2', '4', '5', '5', undefined]);
    expect(summary).toMatchObject({ count: 3, excluded: 2, min: 1, max: 4 });
    expect(summary.mean).toBeCloseTo(7 / 3, 10);
    expect(summary.distribution.map((d) => `${d.label}: ${d.count}`)).toEqual(['Exceeds good: 1', 'Good: 1', 'Requires improvement: 0', 'Inadequate: 1', 'N/A: 2']);
  });
});

// Lambeth: the discussion areas rated 1–5 against the Appendix 1 practice skills; where there is
// no meaningful discussion about behaviour change, "do not score for evocation".
const lambeth = load(`
schemaVersion: 1
key: lambeth-service-based-case-audit
name: Service based case audit
edition: test
source: Lambeth Appendix 1 and 2 (cut down for tests)
description: Practice skills rated 1 to 5 and an overall grade.
sections:
  - key: narrative_history
    title: Narrative / history
    prompts:
      - Please tell me about the story of the family with a focus on the child's lived experience within their family
    answers:
      - { key: narrative_rating, kind: single, label: Rate 1-5, scale: practice_skills }
  - key: practice_skills
    title: Practice skills
    answers:
      - { key: relationship_building, kind: judgement, label: Relationship Building, scale: practice_skills }
      - { key: use_of_authority, kind: judgement, label: Use of Authority, scale: practice_skills }
      - { key: behaviour_change_discussed, kind: yesno, label: Is there a meaningful discussion about behaviour change with adults? }
      - key: creating_change
        kind: judgement
        label: Creating Change
        scale: practice_skills
        appliesWhen: answers.behaviour_change_discussed == 'yes'
  - key: grading
    title: Grading
    answers:
      - { key: overall_grade, kind: judgement, label: Grade, scale: ofsted }
overall:
  answer: overall_grade
  mode: chosen
`);

describe("Lambeth's aggregated practice-skill scores", () => {
  const audits = [
    { answers: { narrative_rating: '4', relationship_building: '4', use_of_authority: '3', behaviour_change_discussed: 'yes', creating_change: '2', overall_grade: 'good' } },
    { answers: { narrative_rating: '5', relationship_building: '5', use_of_authority: '4', behaviour_change_discussed: 'no', creating_change: '1' } },
    { answers: { narrative_rating: '2', relationship_building: '3', behaviour_change_discussed: 'yes', creating_change: '4' } },
  ];

  it('the scored items are those on a scale with scores: the Ofsted grade is not one', () => {
    expect(scoredItems(lambeth).map((i) => i.key)).toEqual(['narrative_rating', 'relationship_building', 'use_of_authority', 'creating_change']);
    expect(scoredItems(lambeth, 'telford_quality')).toEqual([]);
  });

  it('per skill across the service: count, mean, range and how often each score was given', () => {
    const { items, all } = aggregateScores(lambeth, audits);
    const byKey = Object.fromEntries(items.map((item) => [item.key, item]));
    expect(byKey.relationship_building).toMatchObject({ label: 'Relationship Building', count: 3, excluded: 0, mean: 4, min: 3, max: 5 });
    expect(byKey.relationship_building!.distribution.map((d) => d.count)).toEqual([0, 0, 1, 1, 1]);
    // Not scored in one audit: the mean is of the two that were, not a zero.
    expect(byKey.use_of_authority).toMatchObject({ count: 2, mean: 3.5, min: 3, max: 4 });
    expect(byKey.narrative_rating).toMatchObject({ count: 3, min: 2, max: 5 });
    expect(byKey.narrative_rating!.mean).toBeCloseTo(11 / 3, 10);
    // "If N, do not score for evocation": the second audit's Creating Change is left out.
    expect(byKey.creating_change).toMatchObject({ count: 2, mean: 3, min: 2, max: 4 });
    expect(all).toEqual({ count: 10, excluded: 0, mean: 3.6, min: 2, max: 5 });
  });

  it('one audit: Creating Change is not scored when behaviour change was not discussed', () => {
    expect(itemScores(lambeth, audits[1]!.answers).find((i) => i.key === 'creating_change')).toEqual({
      key: 'creating_change',
      label: 'Creating Change',
      value: null,
      score: null,
      applies: false,
    });
  });

  it('no audits: nothing scored', () => {
    expect(aggregateScores(lambeth, []).all).toEqual({ count: 0, excluded: 0, mean: null, min: null, max: null });
  });
});

describe('the built-in tools, newest editions, against their forms', () => {
  const newest = new Map<string, AuditTool>();
  const first = new Map<string, AuditTool>();
  for (const file of builtInToolFiles()) {
    const loaded = loadToolFile(file);
    if (!loaded.ok) throw new Error(`${file}: ${JSON.stringify(loaded.errors)}`);
    (loaded.tool.schemaVersion === 1 ? first : newest).set(loaded.tool.key, loaded.tool);
  }
  const tool = (key: string) => newest.get(key)!;
  const answerKeys = (t: AuditTool) => [...t.header, ...t.sections.flatMap((s) => s.answers)].map((a) => a.key);
  /** The audit form as the rules see it, for a child of this age. */
  const formFor = (t: AuditTool, ageInYears: number | null = 10) =>
    ({ tool: t, child: { legalStatus: 'cin', ageInYears, referralFactors: [], dateOfBirth: null, openDate: null, allocatedWorkerId: null, teamName: null } }) as unknown as AuditForm;

  it('each tool has a corrected edition beside its first, which stays for the audits started on it', () => {
    expect([...newest.keys()].sort()).toEqual([...first.keys()].sort());
    expect(newest.size).toBe(5);
    for (const [key, t] of newest) expect(t.edition, key).not.toBe(first.get(key)!.edition);
  });

  it('Bolton: the auditor answers "Are all statutory requirements met?", and only that answer limits the overall grade', () => {
    const bolton = tool('bolton-collaborative-case-audit');
    const met = { supervision_in_last_3_months: 'yes', outcomes_improving: 'yes', overall_grade: 'good' };
    // Criteria the first edition counted as statutory no longer decide it: the form never lists them.
    const criteriaNo = { ...met, visits_within_statutory_timescales: 'no', plan_up_to_date: 'no', statutory_requirements_met: 'yes' };
    expect(breachedLimits(bolton, criteriaNo)).toEqual([]);
    expect(breachedLimits(first.get('bolton-collaborative-case-audit')!, criteriaNo).map((limit) => limit.ruleKey)).toEqual(['statutory_requirements_not_met_limit_overall']);
    const notMet = { ...met, statutory_requirements_met: 'no' };
    expect(breachedLimits(bolton, notMet)).toEqual([
      expect.objectContaining({ answerKey: 'overall_grade', atBest: 'requires_improvement', message: "If the statutory requirements are not met the judgement cannot be more than 'requires improvement'" }),
    ]);
    const question = bolton.sections.flatMap((s) => s.answers).find((a) => a.key === 'statutory_requirements_met');
    expect(question).toMatchObject({ kind: 'yesno', label: 'Are all statutory requirements met?', required: true });
  });

  it('Bolton: any number of service users, no action required, and the feedback meeting has a date and a time', () => {
    const bolton = tool('bolton-collaborative-case-audit');
    const feedback = bolton.sections.find((s) => s.key === 'service_user_feedback')!;
    expect(feedback.feedback).toBeUndefined();
    const users = feedback.answers.find((a) => a.key === 'service_users');
    expect(users).toMatchObject({ kind: 'repeating', itemName: 'service user' });
    if (users?.kind !== 'repeating') throw new Error('service_users');
    expect(users.maxRows).toBeUndefined();
    expect(users.columns.map((c) => c.key)).toEqual(['service_user_name', 'date_feedback_gained', 'why_worker_involved', 'worker_listens', 'worker_helped', 'worker_easy_to_contact', 'change_about_service', 'helped_with', 'anything_else']);
    const actions = bolton.sections.find((s) => s.key === 'recommended_actions')!.answers[0]!;
    expect(actions.kind === 'repeating' && actions.minRows).toBeFalsy();
    // "Date / time of feedback meeting": one date-and-time answer since edition undated.2 (it kept the key).
    const meeting = bolton.sections.flatMap((s) => s.answers).find((a) => a.key === 'feedback_meeting_date');
    expect(meeting).toMatchObject({ kind: 'datetime' });
    expect(answerKeys(bolton)).not.toContain('feedback_meeting_time');
  });

  it('Lambeth: no invented Practice Skills section; each discussion question has its own Rate 1-5; the auditor says why the reflection was not given', () => {
    const lambeth = tool('lambeth-service-based-case-audit');
    expect(lambeth.sections.map((s) => s.key)).not.toContain('practice_skills');
    expect(answerKeys(lambeth)).not.toEqual(expect.arrayContaining(['relationship_building']));
    const areas = lambeth.sections.slice(0, 6);
    expect(areas.map((s) => s.key)).toEqual(['narrative_history', 'assessment_and_analysis', 's47', 'planning_intervention', 'relationship', 'supervision_and_support']);
    const questions = areas.flatMap((s) => s.answers).filter((a) => a.kind === 'text' && a.hint === 'Narrative');
    expect(questions).toHaveLength(14);
    for (const question of questions) {
      const answers = areas.flatMap((s) => s.answers);
      const next = answers[answers.indexOf(question) + 1];
      expect(next, question.key).toMatchObject({ key: `${question.key}_rating`, kind: 'judgement', label: 'Rate 1-5', scale: 'practice_skills' });
      // The descriptors stay as guidance beside each rating: the three skills' charts, score by score.
      const descriptors = next?.kind === 'judgement' ? next.descriptors : undefined;
      expect(Object.keys(descriptors ?? {}), question.key).toEqual(['1', '2', '3', '4', '5']);
      expect(descriptors!['5'], question.key).toEqual(expect.arrayContaining([expect.stringMatching(/^Relationship Building: /), expect.stringMatching(/^Use of Authority: /), expect.stringMatching(/^Creating Change: /)]));
    }
    const reason = auditorSections(lambeth).flatMap((s) => s.answers).find((a) => a.key === 'reflection_not_provided');
    expect(reason).toMatchObject({ label: 'Feedback was not provided due to:' });
  });

  it('Bristol: feedback from a young person "over 13 years old" is asked from 14', () => {
    const bristol = tool('bristol-child-case-audit');
    const youngPerson = (t: AuditTool) => t.sections.find((s) => s.key === 'service_user_feedback')!.feedback!.respondents.find((r) => r.key === 'young_person_child')!;
    expect(respondentAsked(formFor(bristol, 13), youngPerson(bristol), {})).toBe(false);
    expect(respondentAsked(formFor(bristol, 14), youngPerson(bristol), {})).toBe(true);
    const firstEdition = first.get('bristol-child-case-audit')!;
    expect(respondentAsked(formFor(firstEdition, 13), youngPerson(firstEdition), {})).toBe(true);
  });

  it('Bristol 2019 and 2020: an Outstanding domain with nothing to improve can be submitted', () => {
    for (const key of ['bristol-child-case-audit', 'bristol-families-in-focus-child-case-audit']) {
      const answers = { assessment_judgement: 'outstanding', assessment_strengths: 'Thorough, with the child in every part' };
      expect(missingOnPage(formFor(tool(key)), 'assessment', answers), key).toEqual([]);
      expect(missingOnPage(formFor(first.get(key)!), 'assessment', answers).map((p) => p.field), key).toEqual(['assessment_areas_for_improvement']);
    }
  });

  it('Bristol 2019 and 2020: the re-audit section is asked in the re-audit, not keyed on the auditor\'s grade', () => {
    for (const key of ['bristol-child-case-audit', 'bristol-families-in-focus-child-case-audit']) {
      const reAudit = tool(key).sections.find((s) => s.kind === 'reAudit')!;
      expect(reAudit.appliesWhen, key).toBeUndefined();
      expect(auditorSections(tool(key)).map((s) => s.key), key).not.toContain(reAudit.key);
      expect(auditorSections(reAuditForm(tool(key))).map((s) => s.key), key).toContain(reAudit.key);
      // A first-edition re-audit keeps its form.
      expect(auditorSections(reAuditForm(first.get(key)!)).map((s) => s.key), key).not.toContain(reAudit.key);
    }
  });

  it('Bristol 2019: each judgement shown with Appendix 4 descriptors says the pairing is the tool\'s', () => {
    const bristol = tool('bristol-child-case-audit');
    const withDescriptors = bristol.sections.flatMap((s) => s.answers).filter((a) => a.kind === 'judgement' && a.descriptors && a.key !== 'overall_grade');
    expect(withDescriptors.map((a) => a.key)).toHaveLength(8);
    for (const judgement of withDescriptors) expect(judgement.hint, judgement.key).toMatch(/^Grade descriptors: Appendix 4, .*this pairing is the tool's, not the form's\.$/);
  });

  it('Telford: "Auditors" names every auditor; the reconstructed diversity line says so on the form', () => {
    const telford = tool('telford-strengthening-families-case-audit');
    expect(telford.header.find((a) => a.key === 'other_auditors')).toMatchObject({ kind: 'repeating', columns: [{ key: 'auditor', kind: 'staff' }] });
    const diversity = telford.sections.find((s) => s.key === 'diversity')!.criteria![0]!;
    expect(typeof diversity === 'object' && 'hint' in diversity && diversity.hint).toMatch(/cut off in the source form.*reconstructed/);
  });

  it('every judgement of the five tools names its practice domain; a tool without domains validates and reports as not mapped', () => {
    for (const [key, t] of newest) {
      const domains = judgementDomains(t);
      expect(domains.length, key).toBeGreaterThan(0);
      expect(domains.filter((d) => d.domain === NOT_MAPPED).map((d) => d.answerKey), key).toEqual([]);
      for (const entry of domains) expect(Object.keys(PRACTICE_DOMAINS), key).toContain(entry.domain);
      expect(domainOf(t, t.overall!.answer), key).toBe('overall');
    }
    expect(domainOf(tool('bolton-collaborative-case-audit'), 'management_grip_grade')).toBe('management_oversight');
    // Telford grades on its criteria: they take their area's domain.
    expect(domainOf(tool('telford-strengthening-families-case-audit'), 'demographic_information_recorded')).toBe('timeliness_and_compliance');
    const unmapped = judgementDomains(first.get('bolton-collaborative-case-audit')!);
    expect(unmapped.every((d) => d.domain === NOT_MAPPED && d.domainLabel === 'Not mapped')).toBe(true);
    const cutDown = judgementDomains(load(boltonYaml));
    expect(cutDown.length).toBeGreaterThan(0);
    expect(cutDown.every((d) => d.domain === NOT_MAPPED)).toBe(true);
  });
});

describe("a question's condition in words (for the page without JavaScript)", () => {
  const builtIn = (name: string) => {
    const loaded = loadToolFile(builtInToolFiles().find((file) => file.endsWith(name))!);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    return loaded.tool;
  };

  it("says the built-in moderator's conditions in the forms' own words", () => {
    const lambeth = builtIn('lambeth-service-based-case-audit-2020.1.yaml');
    expect(conditionInWords(lambeth, "answers.agrees_with_grading == 'no'")).toBe('Answer only if you answered No to ‘Do you agree with the grading’.');
    const bolton = builtIn('bolton-collaborative-case-audit-undated.2.yaml');
    expect(conditionInWords(bolton, "answers.case_moderated == 'yes'")).toBe('Answer only if you answered Yes to ‘Has this case been moderated?’.');
  });

  it('names options and grades by their labels, and leaves alone what it cannot say plainly', () => {
    const tool = load(`
schemaVersion: 2
key: words
name: Words
edition: '1'
source: A test
description: Conditions in words
sections:
  - key: one
    title: One
    answers:
      - { key: grade, kind: judgement, label: 'Grading:', scale: ofsted }
      - { key: route, kind: single, label: Route, options: [{ value: a, label: Alpha }, { value: b, label: Beta }, { value: c, label: Gamma }] }
      - { key: visits, kind: number, label: Visits }
      - { key: note, kind: text, label: Note }
`);
    expect(conditionInWords(tool, "answers.grade <= 'requires_improvement'")).toBe('Answer only if your answer to ‘Grading’ is Requires improvement or worse.');
    expect(conditionInWords(tool, "answers.route in ['a', 'c'] and answers.visits > 2")).toBe('Answer only if you answered Alpha or Gamma to ‘Route’ and your answer to ‘Visits’ is more than 2.');
    expect(conditionInWords(tool, "answers.route != 'b' or isAnswered(answers.note)")).toBe('Answer only if your answer to ‘Route’ is not Beta or you answered ‘Note’.');
    expect(conditionInWords(tool, 'not isAnswered(answers.note)')).toBe('Answer only if you left ‘Note’ unanswered.');
    expect(conditionInWords(tool, "child.legalStatus == 'cp' and answers.route == 'a'")).toBeUndefined();
    expect(conditionInWords(tool, "not (answers.route == 'a')")).toBeUndefined();
  });
});

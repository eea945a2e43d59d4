import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDocument, stringify } from 'yaml';
import { toolJsonSchema } from '../src/modules/tools/schema.ts';
import { parseToolFile, validateToolDefinition, type ToolFileError } from '../src/modules/tools/tool-file.ts';

const MINIMAL_PATH = new URL('../audit-tools/examples/minimal.yaml', import.meta.url);
const SCHEMA_PATH = new URL('../audit-tools/audit-tool.schema.json', import.meta.url);
const minimal = readFileSync(MINIMAL_PATH, 'utf8');

type Data = Record<string, any>;

/** minimal.yaml with one change made to its data. */
function variant(change: (data: Data) => void): string {
  const data = parseDocument(minimal).toJS() as Data;
  change(data);
  return stringify(data);
}

function errorsOf(yamlText: string, file = 'tool.yaml'): ToolFileError[] {
  const result = parseToolFile(yamlText, file);
  if (result.ok) throw new Error('expected the tool file to be refused');
  return result.errors;
}

/** The errors as "path: message" lines, for exact comparison. */
function problems(yamlText: string): string[] {
  return errorsOf(yamlText).map((error) => `${error.path}: ${error.message}`);
}

describe('audit-tool format: a valid file', () => {
  it('accepts the worked example and resolves the scales it uses', () => {
    const result = parseToolFile(minimal, 'minimal.yaml');
    if (!result.ok) throw new Error(JSON.stringify(result.errors, null, 2));
    const { tool } = result;
    expect(tool.key).toBe('example-case-audit');
    expect(tool.edition).toBe('2026');
    expect(tool.sections.map((s) => s.key)).toEqual(['management_oversight', 'children_in_care', 'feedback', 'overall', 'action_plan', 'moderation']);
    expect(tool.sections[0]!.kind).toBe('standard');
    expect(tool.sections[2]!.kind).toBe('serviceUserFeedback');
    expect(tool.scales.map((s) => s.id).sort()).toEqual(['ofsted', 'yes_no']);
    const ofsted = tool.scales.find((s) => s.id === 'ofsted')!;
    expect(ofsted.options.map((o) => `${o.code} ${o.label}`)).toEqual(['O Outstanding', 'G Good', 'RI Does not yet meet good', 'I Immediate remedy required']);
    expect(tool.rules.map((r) => r.key)).toEqual(['supervision_limits_management_grip', 'management_limits_overall']);
    expect(tool.overall).toEqual({ answer: 'overall_grade', mode: 'chosen' });
  });

  it('applies defaults: required is false, header/rules/scales may be left out', () => {
    const result = parseToolFile(
      variant((d) => {
        delete d.header;
        delete d.rules;
        delete d.scales;
        delete d.overall;
        d.sections = [{ key: 'only', title: 'Only', answers: [{ key: 'note', kind: 'text', label: 'Note' }] }];
      }),
      'x.yaml',
    );
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.tool.header).toEqual([]);
    expect(result.tool.rules).toEqual([]);
    expect(result.tool.scales).toEqual([]);
    expect(result.tool.sections[0]!.answers[0]).toEqual({ key: 'note', kind: 'text', label: 'Note', required: false });
  });

  it('checks stored definitions (data, not YAML) the same way', () => {
    const data = parseDocument(minimal).toJS() as Data;
    expect(validateToolDefinition(data).ok).toBe(true);
    data.sections[0].answers[0].scale = 'nope';
    const result = validateToolDefinition(data, 'stored edition');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]).toMatchObject({ file: 'stored edition', path: 'sections[0].answers[0].scale' });
  });
});

describe('audit-tool format: errors name the file, the path and what is wrong', () => {
  it('an unknown scale', () => {
    const errors = errorsOf(variant((d) => (d.sections[0].answers[0].scale = 'ofstedd')), 'bolton.yaml');
    expect(errors).toEqual([
      {
        file: 'bolton.yaml',
        path: 'sections[0].answers[0].scale',
        line: 85,
        message:
          'unknown scale "ofstedd": declare it under scales, or use a standard scale (ofsted, telford_quality, practice_skills, yes_no, yes_no_na, yes_no_partially, yes_no_partially_na, file_recording)',
      },
    ]);
  });

  it('an unknown scale on a criterion and in criteriaScale', () => {
    expect(problems(variant((d) => (d.sections[0].criteriaScale = 'yes_or_no')))).toEqual([
      expect.stringMatching(/^sections\[0\]\.criteriaScale: unknown scale "yes_or_no"/),
    ]);
  });

  it('a duplicate answer key, pointing at the first use', () => {
    expect(problems(variant((d) => (d.sections[3].answers[1].key = 'management_grip')))).toEqual([
      'sections[3].answers[1].key: duplicate key "management_grip": already used at sections[0].answers[0]; every answer key must be unique in the tool',
    ]);
  });

  it('a criterion key that repeats an answer key elsewhere', () => {
    expect(problems(variant((d) => (d.sections[0].criteria[1].key = 'child_id')))).toEqual([
      'sections[0].criteria[1].key: duplicate key "child_id": already used at header[0]; every answer key must be unique in the tool',
    ]);
  });

  it('a duplicate section key, scale id, option value and column key', () => {
    expect(problems(variant((d) => (d.sections[1].key = 'management_oversight')))).toEqual([
      'sections[1].key: duplicate section key "management_oversight": already used at sections[0]',
    ]);
    expect(problems(variant((d) => d.scales.push({ id: 'ofsted', extends: 'ofsted' })))).toEqual(['scales[1].id: duplicate scale id "ofsted"']);
    expect(problems(variant((d) => (d.header[4].options[1].value = 'manager')))).toEqual(['header[4].options[1].value: duplicate option value "manager"']);
    expect(problems(variant((d) => (d.sections[4].answers[0].columns[1].key = 'action')))).toEqual([
      'sections[4].answers[0].columns[1].key: duplicate column key "action"',
    ]);
  });

  it('a rule naming a missing field, with a suggestion and the column', () => {
    expect(problems(variant((d) => (d.rules[0].when = "answers.supervision_in_last_3_month == 'no'")))).toEqual([
      'rules[0].when: no answer has the key "supervision_in_last_3_month" (did you mean answers.supervision_in_last_3_months?) (column 1)',
    ]);
  });

  it('a rule limiting a missing answer, or one that is not a judgement', () => {
    expect(problems(variant((d) => (d.rules[0].limit.answer = 'management_gripp')))).toEqual(['rules[0].limit.answer: no answer has the key "management_gripp"']);
    expect(problems(variant((d) => (d.rules[0].limit.answer = 'child_id')))).toEqual(['rules[0].limit.answer: "child_id" is a text answer: a limit applies to a judgement']);
  });

  it('a rule limit that is not a grade of the judgement\'s scale', () => {
    expect(problems(variant((d) => (d.rules[0].limit.atBest = 'poor')))).toEqual([
      'rules[0].limit.atBest: "poor" is not a value of the scale ofsted: use one of outstanding, good, requires_improvement, inadequate',
    ]);
  });

  it('a bad expression, with its column', () => {
    expect(problems(variant((d) => (d.rules[0].when = "answers.supervision_in_last_3_months == 'no' and")))).toEqual([
      'rules[0].when: expected a value (a path such as answers.key, \'text\', a number, true or false), found the end of the expression (column 49)',
    ]);
    expect(problems(variant((d) => (d.sections[1].appliesWhen = "child.legalStatus = 'care_leaver'")))).toEqual([
      'sections[1].appliesWhen: "=" is not part of the language: write == (column 19)',
    ]);
    expect(problems(variant((d) => (d.rules[0].when = "answers.supervision_in_last_3_months == 'maybe'")))).toEqual([
      "rules[0].when: 'maybe' is not a value of answers.supervision_in_last_3_months: use one of 'yes', 'no' (column 41)",
    ]);
  });

  it('a condition that depends on what it decides', () => {
    expect(problems(variant((d) => (d.sections[1].appliesWhen = "answers.placement_stability == 'yes'")))).toEqual([
      'sections[1].appliesWhen: answers.placement_stability is answered inside what this condition decides, so it cannot decide whether it applies (column 1)',
    ]);
  });

  it('unknown fields, unknown kinds, missing and mistyped values', () => {
    expect(problems(variant((d) => (d.sections[1].colour = 'blue')))).toEqual(['sections[1].colour: unknown field "colour"']);
    // The answer with the wrong kind is the only error: rules that name it are not reported again.
    expect(problems(variant((d) => (d.sections[0].answers[0].kind = 'grade')))).toEqual([
      'sections[0].answers[0].kind: unknown kind "grade": use one of judgement, repeating, single, multiple, yesno, text, number, date, datetime, scaling, staff',
    ]);
    expect(problems(variant((d) => delete d.name))).toEqual(['name: required']);
    expect(problems(variant((d) => (d.sections[0].answers[0].required = 'yes')))).toEqual(['sections[0].answers[0].required: expected true or false, found "yes"']);
    expect(problems(variant((d) => (d.schemaVersion = 3)))).toEqual(['schemaVersion: must be one of 1, 2, not 3']);
    expect(problems(variant((d) => (d.sections[0].answers[0].key = 'Management Grip')))[0]).toBe(
      'sections[0].answers[0].key: use lower-case letters, digits and underscores, starting with a letter (for example child_plan)',
    );
  });

  it('an unknown scale is reported once, not again in the rules that use the judgement', () => {
    expect(problems(variant((d) => (d.sections[0].answers[0].scale = 'ofstedd')))).toHaveLength(1);
  });

  it('a prefill source that does not exist or cannot fill the answer kind', () => {
    expect(problems(variant((d) => (d.header[0].prefill = 'constructor')))[0]).toMatch(/^header\[0\]\.prefill: must be one of child\.externalId, .*, not "constructor"$/);
    expect(problems(variant((d) => (d.header[0].prefill = 'audit.today')))).toEqual(['header[0].prefill: audit.today cannot fill a text answer: it fills date']);
  });

  it("yesMeans only on a moderator's yes/no question, in a tool with an overall grade", () => {
    const agrees = { key: 'agrees', kind: 'yesno', label: 'Do you agree with the grading', yesMeans: 'overallGradeKept' };
    const valid = parseToolFile(variant((d) => d.sections[5].answers.push(agrees)), 'x.yaml');
    if (!valid.ok) throw new Error(JSON.stringify(valid.errors));
    expect(valid.tool.sections[5]!.answers[1]).toMatchObject({ kind: 'yesno', yesMeans: 'overallGradeKept' });
    // The auditor's question cannot say what the moderator did; a moderator's marked so can.
    expect(problems(variant((d) => d.sections[0].answers.push(agrees)))).toEqual([
      'sections[0].answers[1].yesMeans: yesMeans belongs on a question the moderator answers (in a moderation section, or marked completedBy: moderator)',
    ]);
    expect(parseToolFile(variant((d) => d.sections[0].answers.push({ ...agrees, completedBy: 'moderator' })), 'x.yaml').ok).toBe(true);
    expect(problems(variant((d) => d.sections[5].answers.push({ ...agrees, yesMeans: 'kept' })))[0]).toMatch(/^sections\[5\]\.answers\[1\]\.yesMeans: must be one of overallGradeKept, overallGradeChanged/);
    expect(problems(variant((d) => d.sections[5].answers.push({ ...agrees, kind: 'text' })))[0]).toMatch(/^sections\[5\]\.answers\[1\]/);
    expect(
      problems(
        variant((d) => {
          delete d.overall;
          d.rules = [];
          d.sections[5].answers.push(agrees);
        }),
      ),
    ).toEqual(['sections[5].answers[1].yesMeans: yesMeans speaks of the overall grade, and this tool has none: add overall, or remove yesMeans']);
    expect(problems(variant((d) => d.sections[4].answers[0].columns.push({ key: 'agreed', kind: 'yesno', label: 'Agreed', yesMeans: 'overallGradeKept' })))).toEqual([
      "sections[4].answers[0].columns[3].yesMeans: a column cannot have yesMeans: only a question the moderator answers can say what its Yes means of the overall grade",
    ]);
  });

  it('descriptors keyed by a value that is not on the scale', () => {
    expect(problems(variant((d) => (d.sections[0].answers[0].descriptors.great = 'Very good')))).toEqual([
      'sections[0].answers[0].descriptors.great: "great" is not a value of the scale ofsted: use outstanding, good, requires_improvement, inadequate',
    ]);
  });

  it('the overall naming a missing answer', () => {
    expect(problems(variant((d) => (d.overall.answer = 'overall_judgement')))).toEqual([
      'rules[1].limit.answer: no answer has the key "overall_judgement"',
      'overall.answer: no answer has the key "overall_judgement"',
    ]);
  });

  it('from in chosen mode, where it would have no effect', () => {
    expect(problems(variant((d) => (d.overall.from = ['management_grip'])))).toEqual([
      'overall.from: from lists the judgements for mode lowest-of-sections; in chosen mode the auditor grades the overall, so remove it',
    ]);
  });

  it('section kinds that need their parts', () => {
    expect(problems(variant((d) => (d.sections[4].answers = [{ key: 'actions', kind: 'text', label: 'Actions' }])))).toEqual([
      'sections[4].answers: an actionPlan section needs a repeating answer for its actions (action, owner, by when)',
    ]);
    expect(problems(variant((d) => delete d.sections[2].feedback))).toEqual(['sections[2]: a serviceUserFeedback section needs feedback: its respondents and questions']);
  });

  it('YAML syntax errors carry their line', () => {
    const broken = minimal.replace('  - key: feedback\n', '  - key: feedback\n    title: [unclosed\n');
    const errors = errorsOf(broken);
    expect(errors[0]!.file).toBe('tool.yaml');
    expect(errors[0]!.line).toBe(116);
    expect(errors[0]!.message).toMatch(/^YAML syntax error: .* \(line 116\)$/);
    expect(errors.length).toBeLessThanOrEqual(6);
  });

  it('a field given twice is a syntax error with its path and line', () => {
    const twice = minimal.replace('    title: Moderation\n', '    title: Moderation\n    title: Moderators form\n');
    expect(errorsOf(twice)).toEqual([
      { file: 'tool.yaml', path: 'sections[5].title', line: 170, message: 'YAML syntax error: the field "title" is given twice in the same mapping (line 170)' },
    ]);
  });

  it('an empty file, or one that is not a mapping', () => {
    expect(errorsOf('')).toEqual([{ file: 'tool.yaml', path: '', message: 'the file is empty' }]);
    expect(problems('- a\n- b\n')).toEqual([': a tool file is a YAML mapping of fields (schemaVersion: 1, key: …, name: …)']);
  });

  it('reports every problem at once, in line order', () => {
    const errors = errorsOf(
      variant((d) => {
        d.sections[0].answers[0].scale = 'ofstedd';
        d.sections[3].answers[1].key = 'child_id';
        d.rules[0].when = 'answers.nothing_here == 1';
      }),
    );
    expect(errors.map((e) => e.path)).toEqual(['sections[0].answers[0].scale', 'sections[3].answers[1].key', 'rules[0].when']);
    const lines = errors.map((e) => e.line!);
    expect([...lines].sort((a, b) => a - b)).toEqual(lines);
  });
});

describe('audit-tool format: which children a tool is for, option hints, conditional descriptors, links', () => {
  it('reads them from the worked example', () => {
    const result = parseToolFile(minimal, 'minimal.yaml');
    if (!result.ok) throw new Error(JSON.stringify(result.errors, null, 2));
    const { tool } = result;
    expect(tool.appliesTo).toEqual({ legalStatuses: ['cin', 'cp', 'child_in_care', 'care_leaver'] });
    // A hint on one grade of the standard Ofsted scale, without redeclaring its options.
    const good = tool.scales.find((s) => s.id === 'ofsted')!.options.find((o) => o.value === 'good')!;
    expect(good).toMatchObject({ label: 'Good', code: 'G', hint: 'Use the detailed audit guide as the benchmark for Good' });
    const management = tool.sections[0]!.answers[0]!;
    expect(management.kind === 'judgement' && management.descriptors?.good).toEqual([
      'Supervision is regular, reflective and based on the risk analysis.',
      { text: "Supervision considers the pathway plan and the young person's move to independence.", appliesWhen: "child.legalStatus == 'care_leaver'" },
    ]);
    expect(tool.guidance).toContain('[the detailed audit guide](https://www.example.org/audit-guide)');
  });

  it('an appliesTo that names no children, an unknown or repeated legal status, or ages the wrong way round', () => {
    expect(problems(variant((d) => (d.appliesTo = {})))).toEqual([
      'appliesTo: say which children the tool is for: legalStatuses, minimumAge or maximumAge; or leave appliesTo out for a tool for every child',
    ]);
    expect(problems(variant((d) => (d.appliesTo = { legalStatuses: ['cin', 'in_care', 'cin'], minimumAge: 18, maximumAge: 16 })))).toEqual([
      'appliesTo.legalStatuses[1]: must be one of early_help, cin, cp, plo, child_in_care, care_leaver, not "in_care"',
      'appliesTo.legalStatuses[2]: "cin" is listed twice',
      'appliesTo.maximumAge: maximumAge must not be less than minimumAge',
    ]);
  });

  it('a hint for a value the standard scale does not have, or hints on a scale of its own', () => {
    expect(problems(variant((d) => (d.scales[0].hints = { great: 'Benchmark' })))).toEqual([
      'scales[0].hints.great: "great" is not a value of ofsted: use one of outstanding, good, requires_improvement, inadequate',
    ]);
    const own = { id: 'risk', options: [{ value: 'low', label: 'Low' }, { value: 'high', label: 'High' }], hints: { low: 'x' } };
    expect(problems(variant((d) => d.scales.push(own)))).toEqual(['scales[1].hints: hints add help to the options of a scale named in extends; on your own scale give each option its hint']);
  });

  it('a descriptor condition that is unknown, misspelt or reads answers, with file, line and path', () => {
    const errors = errorsOf(
      variant((d) => {
        const descriptors = d.sections[0].answers[0].descriptors;
        descriptors.good[1].appliesWhen = "child.legalStatus == 'careleaver'";
        descriptors.requires_improvement = { text: 'Some reflection.', appliesWhen: 'child.age > 16' };
        descriptors.inadequate = { text: 'No oversight.', appliesWhen: "answers.supervision_in_last_3_months == 'no'" };
      }),
      'council.yaml',
    );
    expect(errors.map((e) => `${e.file} ${e.path}: ${e.message}`)).toEqual([
      "council.yaml sections[0].answers[0].descriptors.good[1].appliesWhen: 'careleaver' is not a value of child.legalStatus: use one of 'early_help', 'cin', 'cp', 'plo', 'child_in_care', 'care_leaver' (column 22)",
      'council.yaml sections[0].answers[0].descriptors.requires_improvement.appliesWhen: the child has no "age": use child.legalStatus, child.ageInYears, child.referralFactors (column 1)',
      "council.yaml sections[0].answers[0].descriptors.inadequate.appliesWhen: a descriptor's condition reads only the child's facts (child.legalStatus, child.ageInYears, child.referralFactors), not answers.supervision_in_last_3_months (column 1)",
    ]);
    expect(errors.every((e) => typeof e.line === 'number' && e.line > 0)).toBe(true);
    expect(problems(variant((d) => (d.sections[0].answers[0].descriptors.good[1].when = 'x')))).toEqual(['sections[0].answers[0].descriptors.good[1].when: unknown field "when"']);
  });

  it('a link in guidance that is not http(s) or mailto, with file, line and path', () => {
    const yamlText = variant((d) => {
      d.guidance = 'Read [the guide](javascript:alert(1)) first.';
      d.sections[1].guidance = 'See [the procedures](/procedures), or [e-mail us](mailto:nobody).';
    });
    const errors = errorsOf(yamlText, 'council.yaml');
    expect(errors.map((e) => `${e.file}:${e.line} ${e.path}: ${e.message}`)).toEqual([
      `council.yaml:${lineOf(yamlText, 'guidance: Read')} guidance: the link "javascript:alert(1" cannot be followed from Assure: a link's address starts with https://, http:// or mailto:`,
      `council.yaml:${lineOf(yamlText, 'guidance: See')} sections[1].guidance: the link "/procedures" cannot be followed from Assure: a link's address starts with https://, http:// or mailto:`,
      `council.yaml:${lineOf(yamlText, 'guidance: See')} sections[1].guidance: the link "mailto:nobody" is not an e-mail address: write mailto:name@example.org`,
    ]);
  });
});

/** The 1-based line of the first line of the text that contains `fragment`. */
function lineOf(text: string, fragment: string): number {
  return text.split('\n').findIndex((line) => line.includes(fragment)) + 1;
}

describe('the JSON schema for editors', () => {
  it('the committed audit-tools/audit-tool.schema.json is toolJsonSchema() (regenerate it as audit-tools/README.md says)', () => {
    const committed = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as unknown;
    expect(committed).toEqual(toolJsonSchema());
  });

  it('describes the top-level fields and refuses unknown ones', () => {
    const schema = toolJsonSchema() as { required: string[]; additionalProperties: boolean; properties: Record<string, unknown> };
    expect(schema.required).toEqual(['schemaVersion', 'key', 'name', 'edition', 'source', 'description', 'sections']);
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toContain('rules');
  });
});

describe('audit-tool format: practice domains and what the grades set off', () => {
  it('takes a practice domain from the fixed vocabulary on a judgement or a section, and names the choices otherwise', () => {
    const ok = parseToolFile(variant((d) => {
      d.schemaVersion = 2;
      d.sections[0].domain = 'management_oversight';
      d.sections[0].answers[0].domain = 'management_oversight';
    }), 'tool.yaml');
    expect(ok.ok).toBe(true);
    const [problem] = problems(variant((d) => (d.sections[0].answers[0].domain = 'supervision')));
    expect(problem).toMatch(/^sections\[0\]\.answers\[0\]\.domain: must be one of lived_experience_and_voice, assessment, .*overall, not "supervision"$/);
  });

  it('checks the escalation: the grades that alert, whom, and the re-audit', () => {
    const escalation = (value: unknown) => problems(variant((d) => ((d.schemaVersion = 2), (d.escalation = value))));
    expect(escalation({ alerts: [{ grades: ['good'], notify: ['team_manager'] }] })).toEqual(['escalation.alerts[0].grades[0]: must be one of requires_improvement, inadequate, not "good"']);
    expect(escalation({ alerts: [{ grades: ['inadequate'], notify: ['director'] }] })).toEqual([
      'escalation.alerts[0].notify[0]: must be one of service_manager, team_manager, head_of_service, not "director"',
    ]);
    expect(escalation({ default: 'bolton' })).toEqual(['escalation.default: must be bristol, not "bolton"']);
    expect(escalation({ reAudit: { afterWeeks: 0 } })).toEqual(['escalation.reAudit.afterWeeks: must be at least 1']);
    expect(parseToolFile(variant((d) => ((d.schemaVersion = 2), (d.escalation = { default: 'bristol', reAudit: false }))), 'tool.yaml').ok).toBe(true);
  });
});

describe('audit-tool format: escalation against the rest of the tool', () => {
  const withReAuditSection = (escalation: unknown) =>
    variant((d) => {
      d.schemaVersion = 2;
      d.escalation = escalation;
      d.sections.push({ key: 're_audit', title: 'Re-audit', kind: 'reAudit', answers: [{ key: 'actions_reviewed', kind: 'text', label: 'Actions reviewed and improvement achieved' }] });
    });

  it('refuses a re-audit section in a tool that sets no re-audit off, and both ways of naming the Inadequate alerts', () => {
    const [problem] = problems(withReAuditSection({ reAudit: false }));
    expect(problem).toMatch(/^sections\[\d+\]\.kind: a reAudit section is asked only in a re-audit, and this tool sets none off/);
    expect(parseToolFile(withReAuditSection({ default: 'bristol' }), 'tool.yaml').ok).toBe(true);
    expect(parseToolFile(withReAuditSection({ reAudit: { afterWeeks: 8 } }), 'tool.yaml').ok).toBe(true);
    expect(problems(variant((d) => (d.escalation = { inadequateAlerts: ['team_manager'], alerts: [{ grades: ['inadequate'], notify: ['team_manager'] }] })))).toEqual([
      "escalation.inadequateAlerts: give alerts or inadequateAlerts, not both: alerts names the grades and the people (inadequateAlerts is the first format's)",
    ]);
  });
});

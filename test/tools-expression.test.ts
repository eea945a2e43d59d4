import { describe, expect, it } from 'vitest';
import { checkExpression, evaluate, parseExpression, pathsIn, type Expr, type ToolContext, type ValueType } from '../src/modules/tools/expression.ts';
import { ranksOf, standardScale } from '../src/modules/tools/scales.ts';

const ofsted = standardScale('ofsted')!;
const telford = standardScale('telford_quality')!;

/** The paths of a small tool: a Bolton-like form with a criterion, judgements, a number and a date. */
const context: ToolContext = {
  paths: new Map<string, ValueType>([
    ['answers.supervision_in_last_3_months', { kind: 'choice', values: ['yes', 'no'], scale: 'yes_no' }],
    ['answers.management_grip', { kind: 'choice', values: ofsted.options.map((o) => o.value), scale: 'ofsted', ranks: ranksOf(ofsted) }],
    ['answers.overall_grade', { kind: 'choice', values: ofsted.options.map((o) => o.value), scale: 'ofsted', ranks: ranksOf(ofsted) }],
    ['answers.telford_overall', { kind: 'choice', values: telford.options.map((o) => o.value), scale: 'telford_quality', ranks: ranksOf(telford) }],
    ['answers.visits', { kind: 'number' }],
    ['answers.date_of_audit', { kind: 'date' }],
    ['answers.summary', { kind: 'text' }],
    ['answers.factors', { kind: 'choices', values: ['neglect', 'domestic_abuse'] }],
    ['answers.actions', { kind: 'rows' }],
    ['child.legalStatus', { kind: 'choice', values: ['early_help', 'cin', 'cp', 'plo', 'child_in_care', 'care_leaver'] }],
    ['child.ageInYears', { kind: 'number' }],
  ]),
};

function parse(source: string): Expr {
  const result = parseExpression(source);
  if (!result.ok) throw new Error(`${result.problem.message} (column ${result.problem.column})`);
  return result.expression;
}

/** The problem a source has, parsing or checking, as "message (column n)"; undefined when fine. */
function problemOf(source: string): string | undefined {
  const result = parseExpression(source);
  if (!result.ok) return `${result.problem.message} (column ${result.problem.column})`;
  const problems = checkExpression(result.expression, context);
  return problems.length === 0 ? undefined : problems.map((p) => `${p.message} (column ${p.column})`).join('; ');
}

function run(source: string, answers: Record<string, unknown>, child?: Record<string, unknown>): boolean {
  const expression = parse(source);
  expect(checkExpression(expression, context)).toEqual([]);
  return evaluate(expression, { answers, child: child ?? null, types: context });
}

/** The tree without positions, as nested arrays, to read precedence at a glance. */
function shape(expression: Expr): unknown {
  switch (expression.type) {
    case 'literal':
      return expression.value;
    case 'path':
      return expression.text;
    case 'list':
      return expression.items.map((item) => item.value);
    case 'not':
      return ['not', shape(expression.operand)];
    case 'logical':
    case 'compare':
      return [expression.operator, shape(expression.left), shape(expression.right)];
    case 'in':
      return [expression.negated ? 'not in' : 'in', shape(expression.left), shape(expression.right)];
    case 'call':
      return ['isAnswered', shape(expression.argument)];
  }
}

describe('rule language: parsing and precedence', () => {
  it('and binds tighter than or; not tighter than and; comparison tighter than not', () => {
    expect(shape(parse("answers.a == 'x' or answers.b == 'y' and answers.c == 'z'"))).toEqual([
      'or',
      ['==', 'answers.a', 'x'],
      ['and', ['==', 'answers.b', 'y'], ['==', 'answers.c', 'z']],
    ]);
    expect(shape(parse("not answers.a == 'x' and answers.b == 'y'"))).toEqual(['and', ['not', ['==', 'answers.a', 'x']], ['==', 'answers.b', 'y']]);
    expect(shape(parse("(answers.a == 'x' or answers.b == 'y') and not (answers.c == 'z')"))).toEqual([
      'and',
      ['or', ['==', 'answers.a', 'x'], ['==', 'answers.b', 'y']],
      ['not', ['==', 'answers.c', 'z']],
    ]);
  });

  it('reads in, not in, lists, numbers, booleans and isAnswered', () => {
    expect(shape(parse("child.legalStatus in ['child_in_care', 'care_leaver']"))).toEqual(['in', 'child.legalStatus', ['child_in_care', 'care_leaver']]);
    expect(shape(parse("child.legalStatus not in ['cp']"))).toEqual(['not in', 'child.legalStatus', ['cp']]);
    expect(shape(parse('answers.visits >= -2.5'))).toEqual(['>=', 'answers.visits', -2.5]);
    expect(shape(parse('isAnswered(answers.summary) == true'))).toEqual(['==', ['isAnswered', 'answers.summary'], true]);
    expect(shape(parse('"it\'s" == answers.summary'))).toEqual(['==', "it's", 'answers.summary']);
  });

  it('lists the paths an expression reads', () => {
    expect(pathsIn(parse("answers.a == 'x' or not isAnswered(child.b)")).map((p) => p.text)).toEqual(['answers.a', 'child.b']);
  });
});

describe('rule language: syntax errors name the column', () => {
  const cases: [string, string][] = [
    ["answers.a == 'x' and", 'expected a value (a path such as answers.key, \'text\', a number, true or false), found the end of the expression (column 21)'],
    ["answers.a = 'x'", '"=" is not part of the language: write == (column 11)'],
    ["answers.a == 'x' && answers.b == 'y'", '"&&" is not part of the language: write and (column 18)'],
    ["!isAnswered(answers.a)", '"!" is not part of the language: write not (column 1)'],
    ["answers.a == 'x", 'the text starting here has no closing \' (column 14)'],
    ["answers.a == 'x' answers.b == 'y'", 'unexpected "answers": join conditions with and / or (column 18)'],
    ['1 < answers.visits < 5', 'comparisons cannot be chained: join them with and / or (column 20)'],
    ["(answers.a == 'x'", 'expected ")" to close the bracket, found the end of the expression (column 18)'],
    ["answers.a in ['x', answers.b]", 'a list holds only fixed values: text in quotes, numbers, true or false (column 20)'],
    ['answers.visits > 3x', '"3x" is not a number; put text in quotes (column 18)'],
    ["answers.a == 'x' ; answers.b", 'unexpected character ";" (column 18)'],
    ['answers. == 1', 'expected a name after ".", found "==" (column 10)'],
    ['', 'the expression is empty (column 1)'],
  ];
  for (const [source, message] of cases) {
    it(source || '(empty)', () => expect(problemOf(source)).toBe(message));
  }

  it('refuses anything that would nest without end', () => {
    expect(problemOf(`${'('.repeat(60)}answers.visits > 1${')'.repeat(60)}`)).toBe('the expression is nested too deeply (column 41)');
    expect(problemOf(`answers.visits > ${'1'.repeat(2001)}`)).toBe('an expression can be at most 2000 characters (column 1)');
  });
});

describe('rule language: only isAnswered may be called, and only data may be read', () => {
  it('refuses function calls other than isAnswered', () => {
    expect(problemOf("eval('1')")).toBe('unknown function "eval": the only function is isAnswered(answers.key) (column 1)');
    expect(problemOf('answers.summary.toString() == 1')).toBe('unexpected "(": join conditions with and / or (column 25)');
    expect(problemOf("constructor('return 1')")).toBe('unknown function "constructor": the only function is isAnswered(answers.key) (column 1)');
    expect(problemOf("isAnswered('x')")).toBe('isAnswered takes a path, such as isAnswered(answers.key) (column 12)');
    expect(problemOf('isAnswered(answers.a, answers.b)')).toBe('expected ")" after the argument of isAnswered, found "," (column 21)');
  });

  it('refuses property access outside the tool: __proto__, constructor, prototype', () => {
    expect(problemOf("answers.__proto__ == 'x'")).toBe('no answer has the key "__proto__" (column 1)');
    expect(problemOf("answers.constructor.prototype == 'x'")).toBe('no answer has the key "constructor.prototype" (column 1)');
    expect(problemOf("__proto__.polluted == 'x'")).toBe('unknown name "__proto__": a path starts with answers. or child. (column 1)');
    expect(problemOf("globalThis.process == 'x'")).toBe('unknown name "globalThis": a path starts with answers. or child. (column 1)');
    expect(problemOf("answers['__proto__'] == 'x'")).toBe('unexpected "[": join conditions with and / or (column 8)');
    expect(problemOf('child.secret == 1')).toBe('the child has no "secret": use child.legalStatus, child.ageInYears (column 1)');
  });

  it('an unchecked expression still cannot reach the prototype when evaluated', () => {
    const answers = { summary: 'x' };
    expect(evaluate(parse('isAnswered(answers.constructor)'), { answers })).toBe(false);
    expect(evaluate(parse('isAnswered(answers.__proto__)'), { answers })).toBe(false);
    expect(evaluate(parse('isAnswered(answers.summary.length)'), { answers })).toBe(false);
    // A stored grade named like an Object property has no rank.
    expect(evaluate(parse("answers.management_grip > 'inadequate'"), { answers: { management_grip: 'constructor' }, types: context })).toBe(false);
  });
});

describe('rule language: checking against the tool', () => {
  it('unknown paths name the key, suggest a near one, and give the column', () => {
    expect(problemOf("answers.supervision_in_last_3_month == 'no'")).toBe(
      'no answer has the key "supervision_in_last_3_month" (did you mean answers.supervision_in_last_3_months?) (column 1)',
    );
    expect(problemOf("answers.management_grip == 'good' and answers.nothing == 1")).toBe('no answer has the key "nothing" (column 39)');
  });

  it('values must belong to the scale; ordering needs a graded scale', () => {
    expect(problemOf("answers.management_grip == 'excellent'")).toBe(
      "'excellent' is not a value of answers.management_grip: use one of 'outstanding', 'good', 'requires_improvement', 'inadequate' (column 28)",
    );
    expect(problemOf("answers.supervision_in_last_3_months > 'no'")).toBe(
      'answers.supervision_in_last_3_months is not graded (its scale has no order), so only == and != apply (column 1)',
    );
    expect(problemOf("answers.telford_overall < '5'")).toBe("'5' is not a grade (it is left out of scoring), so nothing is better or worse than it (column 27)");
    expect(problemOf("child.legalStatus in ['looked_after']")).toBe(
      "'looked_after' is not a value of child.legalStatus: use one of 'early_help', 'cin', 'cp', 'plo', 'child_in_care', 'care_leaver' (column 23)",
    );
  });

  it('an expression must be a condition, and operands must fit', () => {
    expect(problemOf('answers.management_grip')).toBe(
      'the expression must be a condition (true or false); compare answers.management_grip with ==, <, in or isAnswered (column 1)',
    );
    expect(problemOf("answers.visits == '3'")).toBe('answers.visits is a number: compare it with a number, without quotes (column 19)');
    expect(problemOf("answers.date_of_audit < '1 April'")).toBe("answers.date_of_audit is a date: compare it with a date in quotes, such as '2026-04-01' (column 25)");
    expect(problemOf("answers.summary > 'a'")).toBe('text can only be compared with == or != (column 19)');
    expect(problemOf("answers.actions == 'x'")).toBe('answers.actions can only be tested with isAnswered(answers.actions) (column 1)');
    expect(problemOf("answers.factors == 'neglect'")).toBe("answers.factors holds several choices: test one with 'value' in answers.factors (column 1)");
    expect(problemOf("'self_harm' in answers.factors")).toBe("'self_harm' is not an option of answers.factors: use one of 'neglect', 'domestic_abuse' (column 1)");
    expect(problemOf("answers.management_grip == answers.telford_overall")).toBe(
      'answers.management_grip and answers.telford_overall are not on the same scale and cannot be compared (column 1)',
    );
    expect(problemOf("'a' == 'a'")).toBe('this compares two fixed values: compare an answer or a fact about the child (column 1)');
  });
});

describe('rule language: evaluation', () => {
  it('compares grades by the scale order, best first', () => {
    expect(run("answers.management_grip <= 'requires_improvement'", { management_grip: 'inadequate' })).toBe(true);
    expect(run("answers.management_grip <= 'requires_improvement'", { management_grip: 'requires_improvement' })).toBe(true);
    expect(run("answers.management_grip <= 'requires_improvement'", { management_grip: 'good' })).toBe(false);
    expect(run("answers.management_grip > 'good'", { management_grip: 'outstanding' })).toBe(true);
    expect(run('answers.management_grip >= answers.overall_grade', { management_grip: 'good', overall_grade: 'inadequate' })).toBe(true);
    // Telford: 1 Exceeds good is the best; N/A (5) is not a grade at all.
    expect(run("answers.telford_overall < '3'", { telford_overall: '4' })).toBe(true);
    expect(run("answers.telford_overall < '3'", { telford_overall: '1' })).toBe(false);
    expect(run("answers.telford_overall < '3'", { telford_overall: '5' })).toBe(false);
    expect(run('answers.telford_overall == 2', { telford_overall: '2' })).toBe(true);
  });

  it('in, not in, and values in a multiple choice', () => {
    const careLeaver = { legalStatus: 'care_leaver' };
    expect(run("child.legalStatus in ['child_in_care', 'care_leaver']", {}, careLeaver)).toBe(true);
    expect(run("child.legalStatus not in ['child_in_care', 'care_leaver']", {}, careLeaver)).toBe(false);
    expect(run("child.legalStatus in ['child_in_care', 'care_leaver']", {}, { legalStatus: 'cp' })).toBe(false);
    expect(run("'neglect' in answers.factors", { factors: ['domestic_abuse', 'neglect'] })).toBe(true);
    expect(run("'neglect' in answers.factors", { factors: ['domestic_abuse'] })).toBe(false);
  });

  it('a comparison with an unanswered question is false, and so is its != and not in; isAnswered tests for an answer', () => {
    expect(run("answers.supervision_in_last_3_months == 'no'", {})).toBe(false);
    expect(run("answers.supervision_in_last_3_months != 'no'", {})).toBe(false);
    expect(run("child.legalStatus not in ['cp']", {})).toBe(false);
    expect(run("not answers.supervision_in_last_3_months == 'yes'", {})).toBe(true);
    expect(run('isAnswered(answers.summary)', { summary: '   ' })).toBe(false);
    expect(run('isAnswered(answers.summary)', { summary: 'Seen alone' })).toBe(true);
    expect(run('not isAnswered(answers.actions)', { actions: [] })).toBe(true);
  });

  it('numbers (also as text from a form) and dates', () => {
    expect(run('child.ageInYears >= 13', {}, { ageInYears: 13 })).toBe(true);
    expect(run('child.ageInYears >= 13', {}, { ageInYears: 12 })).toBe(false);
    expect(run('answers.visits > 2', { visits: '3' })).toBe(true);
    expect(run("answers.date_of_audit < '2026-04-01'", { date_of_audit: '2026-03-31' })).toBe(true);
    expect(run("answers.date_of_audit < '2026-04-01'", { date_of_audit: '2026-04-01' })).toBe(false);
  });

  it('and / or / not combine as written', () => {
    const source = "answers.supervision_in_last_3_months == 'no' or answers.management_grip == 'inadequate' and child.legalStatus == 'cp'";
    expect(run(source, { supervision_in_last_3_months: 'no', management_grip: 'good' }, { legalStatus: 'cin' })).toBe(true);
    expect(run(source, { supervision_in_last_3_months: 'yes', management_grip: 'inadequate' }, { legalStatus: 'cin' })).toBe(false);
    expect(run(source, { supervision_in_last_3_months: 'yes', management_grip: 'inadequate' }, { legalStatus: 'cp' })).toBe(true);
  });
});

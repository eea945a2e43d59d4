/**
 * The rule language of audit tools: a small, safe expression language for conditions such as
 *
 *   answers.supervision_in_last_3_months == 'no'
 *   child.legalStatus in ['child_in_care', 'care_leaver'] or answers.ehcp == 'yes'
 *   answers.management_grip > 'requires_improvement'        (on a scale: "better than")
 *
 * Text is tokenised and parsed by hand (recursive descent) into a typed AST, checked against the
 * tool it belongs to (every path must exist, every value must be one of the scale's values), and
 * evaluated by a small interpreter. Nothing is ever handed to eval or Function: an expression can
 * only read answers and a few facts about the child, and can only produce true or false.
 */

export type Span = { start: number; end: number };
export type LiteralValue = string | number | boolean;

export type LiteralExpr = Span & { type: 'literal'; value: LiteralValue };
export type PathExpr = Span & { type: 'path'; segments: string[]; text: string };
export type ListExpr = Span & { type: 'list'; items: LiteralExpr[] };
export type NotExpr = Span & { type: 'not'; operand: Expr };
export type LogicalExpr = Span & { type: 'logical'; operator: 'and' | 'or'; left: Expr; right: Expr };
export type CompareOperator = '==' | '!=' | '<' | '<=' | '>' | '>=';
export type CompareExpr = Span & { type: 'compare'; operator: CompareOperator; left: Expr; right: Expr };
export type InExpr = Span & { type: 'in'; negated: boolean; left: Expr; right: Expr };
export type CallExpr = Span & { type: 'call'; name: 'isAnswered'; argument: PathExpr };
export type Expr = LiteralExpr | PathExpr | ListExpr | NotExpr | LogicalExpr | CompareExpr | InExpr | CallExpr;

/** A problem in an expression: what is wrong and where (1-based column). */
export type ExpressionProblem = { message: string; column: number };

export type ParseResult = { ok: true; expression: Expr } | { ok: false; problem: ExpressionProblem };

const MAX_LENGTH = 2000;
const MAX_DEPTH = 40;

// ---------------------------------------------------------------------------------------------
// Tokens

type TokenType = 'number' | 'string' | 'name' | 'operator' | 'punctuation' | 'end';
type Token = Span & { type: TokenType; value: string; literal?: string | number };

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'true', 'false']);
const COMPARE_OPERATORS = new Set(['==', '!=', '<', '<=', '>', '>=']);
/** Operators people bring from other languages, and what to write instead. */
const FOREIGN_OPERATORS: Record<string, string> = { '&&': 'and', '||': 'or', '!': 'not', '=': '==', '===': '==', '!==': '!=', '<>': '!=' };

class SyntaxProblem extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const match = /^-?[0-9]+(\.[0-9]+)?/.exec(text.slice(i))!;
      i += match[0].length;
      if (/[A-Za-z_]/.test(text[i] ?? '')) throw new SyntaxProblem(`"${text.slice(start, i + 1)}" is not a number; put text in quotes`, start);
      tokens.push({ type: 'number', value: match[0], literal: Number(match[0]), start, end: i });
      continue;
    }
    if (c === "'" || c === '"') {
      let value = '';
      i++;
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\\' && (text[i + 1] === c || text[i + 1] === '\\')) i++;
        value += text[i];
        i++;
      }
      if (i >= text.length) throw new SyntaxProblem(`the text starting here has no closing ${c}`, start);
      i++;
      tokens.push({ type: 'string', value: text.slice(start, i), literal: value, start, end: i });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))!;
      i += match[0].length;
      tokens.push({ type: 'name', value: match[0], start, end: i });
      continue;
    }
    const operator = /^(===|!==|==|!=|<=|>=|<>|&&|\|\||[<>=!])/.exec(text.slice(i))?.[0];
    if (operator) {
      const instead = FOREIGN_OPERATORS[operator];
      if (instead) throw new SyntaxProblem(`"${operator}" is not part of the language: write ${instead}`, start);
      i += operator.length;
      tokens.push({ type: 'operator', value: operator, start, end: i });
      continue;
    }
    if ('()[],.'.includes(c)) {
      i++;
      tokens.push({ type: 'punctuation', value: c, start, end: i });
      continue;
    }
    throw new SyntaxProblem(`unexpected character "${c}"`, start);
  }
  tokens.push({ type: 'end', value: '', start: text.length, end: text.length });
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// Parser: or → and → not → comparison → operand

class Parser {
  private readonly tokens: Token[];
  private index = 0;
  private depth = 0;

  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  parse(): Expr {
    const expression = this.or();
    const next = this.peek();
    if (next.type !== 'end') throw new SyntaxProblem(`unexpected ${describeToken(next)}: join conditions with and / or`, next.start);
    return expression;
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.index + ahead, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const token = this.peek();
    if (token.type !== 'end') this.index++;
    return token;
  }

  private isWord(word: string, ahead = 0): boolean {
    const token = this.peek(ahead);
    return token.type === 'name' && token.value === word;
  }

  private expectPunctuation(value: string, context: string): Token {
    const token = this.peek();
    if (token.type !== 'punctuation' || token.value !== value) throw new SyntaxProblem(`expected "${value}" ${context}, found ${describeToken(token)}`, token.start);
    return this.next();
  }

  private nested<T>(parse: () => T, at: number): T {
    if (++this.depth > MAX_DEPTH) throw new SyntaxProblem('the expression is nested too deeply', at);
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private or(): Expr {
    let left = this.and();
    while (this.isWord('or')) {
      this.next();
      const right = this.and();
      left = { type: 'logical', operator: 'or', left, right, start: left.start, end: right.end };
    }
    return left;
  }

  private and(): Expr {
    let left = this.not();
    while (this.isWord('and')) {
      this.next();
      const right = this.not();
      left = { type: 'logical', operator: 'and', left, right, start: left.start, end: right.end };
    }
    return left;
  }

  private not(): Expr {
    if (this.isWord('not')) {
      const token = this.next();
      const operand = this.nested(() => this.not(), token.start);
      return { type: 'not', operand, start: token.start, end: operand.end };
    }
    return this.comparison();
  }

  private comparison(): Expr {
    const left = this.operand();
    let result: Expr = left;
    const token = this.peek();
    if (token.type === 'operator' && COMPARE_OPERATORS.has(token.value)) {
      this.next();
      const right = this.operand();
      result = { type: 'compare', operator: token.value as CompareOperator, left, right, start: left.start, end: right.end };
    } else if (this.isWord('in') || (this.isWord('not') && this.isWord('in', 1))) {
      const negated = this.isWord('not');
      if (negated) this.next();
      this.next();
      const right = this.operand();
      result = { type: 'in', negated, left, right, start: left.start, end: right.end };
    }
    const after = this.peek();
    if (result !== left && ((after.type === 'operator' && COMPARE_OPERATORS.has(after.value)) || this.isWord('in'))) {
      throw new SyntaxProblem(`comparisons cannot be chained: join them with and / or`, after.start);
    }
    return result;
  }

  private operand(): Expr {
    const token = this.peek();
    if (token.type === 'number' || token.type === 'string') {
      this.next();
      return { type: 'literal', value: token.literal!, start: token.start, end: token.end };
    }
    if (token.type === 'name' && (token.value === 'true' || token.value === 'false')) {
      this.next();
      return { type: 'literal', value: token.value === 'true', start: token.start, end: token.end };
    }
    if (token.type === 'punctuation' && token.value === '(') {
      this.next();
      const inner = this.nested(() => this.or(), token.start);
      const close = this.expectPunctuation(')', 'to close the bracket');
      return { ...inner, start: token.start, end: close.end };
    }
    if (token.type === 'punctuation' && token.value === '[') return this.list();
    if (token.type === 'name' && !KEYWORDS.has(token.value)) {
      if (this.peek(1).type === 'punctuation' && this.peek(1).value === '(') return this.call();
      return this.path();
    }
    throw new SyntaxProblem(`expected a value (a path such as answers.key, 'text', a number, true or false), found ${describeToken(token)}`, token.start);
  }

  private list(): ListExpr {
    const open = this.next();
    const items: LiteralExpr[] = [];
    while (!(this.peek().type === 'punctuation' && this.peek().value === ']')) {
      const item = this.operand();
      if (item.type !== 'literal') throw new SyntaxProblem('a list holds only fixed values: text in quotes, numbers, true or false', item.start);
      items.push(item);
      if (this.peek().type === 'punctuation' && this.peek().value === ',') this.next();
      else break;
    }
    const close = this.expectPunctuation(']', 'to close the list');
    return { type: 'list', items, start: open.start, end: close.end };
  }

  private path(): PathExpr {
    const first = this.next();
    const segments = [first.value];
    let end = first.end;
    while (this.peek().type === 'punctuation' && this.peek().value === '.') {
      this.next();
      const segment = this.peek();
      if (segment.type !== 'name') throw new SyntaxProblem(`expected a name after ".", found ${describeToken(segment)}`, segment.start);
      this.next();
      segments.push(segment.value);
      end = segment.end;
    }
    return { type: 'path', segments, text: segments.join('.'), start: first.start, end };
  }

  private call(): CallExpr {
    const name = this.next();
    if (name.value !== 'isAnswered') throw new SyntaxProblem(`unknown function "${name.value}": the only function is isAnswered(answers.key)`, name.start);
    this.next();
    const argument = this.operand();
    if (argument.type !== 'path') throw new SyntaxProblem('isAnswered takes a path, such as isAnswered(answers.key)', argument.start);
    const close = this.expectPunctuation(')', 'after the argument of isAnswered');
    return { type: 'call', name: 'isAnswered', argument, start: name.start, end: close.end };
  }
}

function describeToken(token: Token): string {
  return token.type === 'end' ? 'the end of the expression' : `"${token.value}"`;
}

/** Parses an expression into its syntax tree, or says what is wrong and where. */
export function parseExpression(text: string): ParseResult {
  if (text.length > MAX_LENGTH) return { ok: false, problem: { message: `an expression can be at most ${MAX_LENGTH} characters`, column: 1 } };
  if (!text.trim()) return { ok: false, problem: { message: 'the expression is empty', column: 1 } };
  try {
    return { ok: true, expression: new Parser(tokenize(text)).parse() };
  } catch (error) {
    if (error instanceof SyntaxProblem) return { ok: false, problem: { message: error.message, column: error.offset + 1 } };
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Types: what each path holds, so expressions are checked before a tool is accepted

export type ValueType =
  | { kind: 'boolean' }
  | { kind: 'number' }
  | { kind: 'text' }
  | { kind: 'date' }
  /** One value out of a list; `ranks` (higher is better) when the list is a graded scale. */
  | { kind: 'choice'; values: readonly string[] | null; scale?: string; ranks?: Readonly<Record<string, number>> }
  /** Several values out of a list (multiple choice, referral factors). */
  | { kind: 'choices'; values: readonly string[] | null }
  | { kind: 'staff' }
  | { kind: 'rows' }
  | { kind: 'respondent' }
  /** A field whose own definition is in error: it exists, but its uses are not checked further. */
  | { kind: 'unknown' };

/** What an expression may refer to: every path with its type ('answers.key', 'child.legalStatus'). */
export type ToolContext = { paths: ReadonlyMap<string, ValueType> };

type Typed = ValueType | { kind: 'literal'; value: LiteralValue } | { kind: 'list'; items: LiteralExpr[] };

const ROOTS = ['answers', 'child'];

/** Checks an expression against a tool: paths exist, values belong to their scales, the result is true/false. */
export function checkExpression(expression: Expr, context: ToolContext): ExpressionProblem[] {
  const problems: ExpressionProblem[] = [];
  const report = (message: string, at: Span) => problems.push({ message, column: at.start + 1 });
  const type = typeOf(expression, context, report);
  if (type && type.kind !== 'boolean') {
    report(`the expression must be a condition (true or false); compare ${describeExpr(expression)} with ==, <, in or isAnswered`, expression);
  }
  return problems;
}

type Report = (message: string, at: Span) => void;

function typeOf(expression: Expr, context: ToolContext, report: Report): Typed | null {
  switch (expression.type) {
    case 'literal':
      return { kind: 'literal', value: expression.value };
    case 'list':
      return { kind: 'list', items: expression.items };
    case 'path':
      return resolvePath(expression, context, report);
    case 'call':
      return resolvePath(expression.argument, context, report) ? { kind: 'boolean' } : null;
    case 'not': {
      const operand = typeOf(expression.operand, context, report);
      if (operand && operand.kind !== 'boolean') report(`"not" applies to a condition, and ${describeExpr(expression.operand)} is not one`, expression.operand);
      return { kind: 'boolean' };
    }
    case 'logical': {
      for (const side of [expression.left, expression.right]) {
        const type = typeOf(side, context, report);
        if (type && type.kind !== 'boolean') report(`"${expression.operator}" joins conditions, and ${describeExpr(side)} is not one: compare it, for example ${describeExpr(side)} == '…'`, side);
      }
      return { kind: 'boolean' };
    }
    case 'compare': {
      const left = typeOf(expression.left, context, report);
      const right = typeOf(expression.right, context, report);
      if (left && right) checkComparison(expression, left, right, report);
      return { kind: 'boolean' };
    }
    case 'in': {
      const left = typeOf(expression.left, context, report);
      const right = typeOf(expression.right, context, report);
      if (left && right) checkMembership(expression, left, right, report);
      return { kind: 'boolean' };
    }
  }
}

function resolvePath(path: PathExpr, context: ToolContext, report: Report): ValueType | null {
  const type = context.paths.get(path.text);
  // A field whose definition is already reported as wrong: say nothing more about its uses.
  if (type?.kind === 'unknown') return null;
  if (type) return type;
  const [root, ...rest] = path.segments;
  if (!ROOTS.includes(root!)) {
    report(`unknown name "${root}": a path starts with answers. or child.`, path);
  } else if (rest.length === 0) {
    report(`"${root}" must be followed by a name, for example ${root === 'answers' ? 'answers.overall_grade' : 'child.legalStatus'}`, path);
  } else if (root === 'child') {
    const known = [...context.paths.keys()].filter((p) => p.startsWith('child.'));
    report(`the child has no "${rest.join('.')}": use ${known.join(', ')}`, path);
  } else {
    const suggestion = closest(path.text, [...context.paths.keys()].filter((p) => p.startsWith('answers.')));
    report(`no answer has the key "${rest.join('.')}"${suggestion ? ` (did you mean ${suggestion}?)` : ''}`, path);
  }
  return null;
}

function checkComparison(node: CompareExpr, left: Typed, right: Typed, report: Report): void {
  const ordered = node.operator !== '==' && node.operator !== '!=';
  if (left.kind === 'list' || right.kind === 'list') {
    report(`a list can only follow "in": write x in ['a', 'b']`, left.kind === 'list' ? node.left : node.right);
    return;
  }
  if (left.kind === 'literal' && right.kind === 'literal') {
    report('this compares two fixed values: compare an answer or a fact about the child', node);
    return;
  }
  if (right.kind === 'literal') return checkLiteral(node.operator, node.left, left as ValueType, right.value, node.right, report);
  if (left.kind === 'literal') return checkLiteral(node.operator, node.right, right, left.value, node.left, report);
  // Two paths, or a path and a condition.
  const what = `${describeExpr(node.left)} and ${describeExpr(node.right)}`;
  if (left.kind !== right.kind) return report(`${what} hold different kinds of value and cannot be compared`, node);
  if (left.kind === 'choice' && right.kind === 'choice') {
    if (left.scale !== right.scale) return report(`${what} are not on the same scale and cannot be compared`, node);
    if (ordered && !left.ranks) return report(`${describeExpr(node.left)} is not graded, so only == and != apply`, node);
    return;
  }
  if (['choices', 'staff', 'rows', 'respondent'].includes(left.kind)) return report(unusableMessage(node.left, left as ValueType), node);
  if (ordered && (left.kind === 'text' || left.kind === 'boolean')) report(`"${node.operator}" compares numbers, dates and grades; ${what} can only be compared with == or !=`, node);
}

function checkLiteral(operator: CompareOperator, pathNode: Expr, type: ValueType, value: LiteralValue, literalNode: Expr, report: Report): void {
  const ordered = operator !== '==' && operator !== '!=';
  const subject = describeExpr(pathNode);
  switch (type.kind) {
    case 'choice': {
      if (typeof value === 'boolean') return report(`${subject} is answered with one of ${listValues(type.values)}: write the value in quotes`, literalNode);
      const text = String(value);
      if (type.values && !type.values.includes(text)) return report(`'${text}' is not a value of ${subject}: use one of ${listValues(type.values)}`, literalNode);
      if (ordered && !type.ranks) return report(`${subject} is not graded (its scale has no order), so only == and != apply`, pathNode);
      if (ordered && type.ranks![text] === undefined) return report(`'${text}' is not a grade (it is left out of scoring), so nothing is better or worse than it`, literalNode);
      return;
    }
    case 'number':
      if (typeof value !== 'number') report(`${subject} is a number: compare it with a number, without quotes`, literalNode);
      return;
    case 'date':
      if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) report(`${subject} is a date: compare it with a date in quotes, such as '2026-04-01'`, literalNode);
      return;
    case 'text':
      if (typeof value !== 'string') report(`${subject} is text: compare it with text in quotes`, literalNode);
      else if (ordered) report(`text can only be compared with == or !=`, literalNode);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') report(`${subject} is a condition: compare it with true or false`, literalNode);
      else if (ordered) report(`true and false can only be compared with == or !=`, literalNode);
      return;
    default:
      report(unusableMessage(pathNode, type), pathNode);
  }
}

function checkMembership(node: InExpr, left: Typed, right: Typed, report: Report): void {
  if (right.kind === 'list') {
    if (left.kind === 'literal' || left.kind === 'list') return report(`the left of "in" must be an answer or a fact about the child`, node.left);
    if (right.items.length === 0) return report('the list is empty', node.right);
    for (const item of right.items) checkLiteral('==', node.left, left, item.value, item, report);
    return;
  }
  if (right.kind === 'choices') {
    if (left.kind !== 'literal' || typeof left.value !== 'string') return report(`write the value in quotes, for example 'neglect' in ${describeExpr(node.right)}`, node.left);
    if (right.values && !right.values.includes(left.value)) report(`'${left.value}' is not an option of ${describeExpr(node.right)}: use one of ${listValues(right.values)}`, node.left);
    return;
  }
  report(`"in" needs a list: x in ['a', 'b'], or 'a' in a multiple-choice answer`, node.right);
}

function unusableMessage(node: Expr, type: ValueType): string {
  const subject = describeExpr(node);
  if (type.kind === 'choices') return `${subject} holds several choices: test one with 'value' in ${subject}`;
  return `${subject} can only be tested with isAnswered(${subject})`;
}

function describeExpr(expression: Expr): string {
  if (expression.type === 'path') return expression.text;
  if (expression.type === 'literal') return typeof expression.value === 'string' ? `'${expression.value}'` : String(expression.value);
  return 'this part';
}

function listValues(values: readonly string[] | null): string {
  return values ? values.map((v) => `'${v}'`).join(', ') : 'its values';
}

/** The candidate nearest to `word` by edit distance, if near enough to be a likely typo. */
function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 4)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

/** Every path an expression reads (to find what a rule depends on). */
export function pathsIn(expression: Expr): PathExpr[] {
  switch (expression.type) {
    case 'path':
      return [expression];
    case 'call':
      return [expression.argument];
    case 'not':
      return pathsIn(expression.operand);
    case 'logical':
    case 'compare':
    case 'in':
      return [...pathsIn(expression.left), ...pathsIn(expression.right)];
    default:
      return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/** Facts about the child that expressions may read (from the register). */
export type ChildFacts = {
  legalStatus?: string | null;
  ageInYears?: number | null;
  referralFactors?: readonly string[] | null;
};

export type EvaluationContext = {
  /** The audit's answers by key: a feedback respondent is an object of its questions. */
  answers: Readonly<Record<string, unknown>>;
  child?: ChildFacts | null;
  /** The tool's types: needed for "better than" on scales (which order their values). */
  types?: ToolContext;
};

/**
 * Evaluates a checked expression. A comparison that involves an unanswered question is false
 * (so is its `!=` and `not in`): use isAnswered() to test for an answer.
 */
export function evaluate(expression: Expr, context: EvaluationContext): boolean {
  return valueOf(expression, context) === true;
}

function valueOf(expression: Expr, context: EvaluationContext): unknown {
  switch (expression.type) {
    case 'literal':
      return expression.value;
    case 'list':
      return expression.items.map((item) => item.value);
    case 'path':
      return lookup(expression, context);
    case 'call':
      return isAnswered(lookup(expression.argument, context));
    case 'not':
      return valueOf(expression.operand, context) !== true;
    case 'logical':
      return expression.operator === 'and'
        ? valueOf(expression.left, context) === true && valueOf(expression.right, context) === true
        : valueOf(expression.left, context) === true || valueOf(expression.right, context) === true;
    case 'compare': {
      const left = valueOf(expression.left, context);
      const right = valueOf(expression.right, context);
      if (!isAnswered(left) || !isAnswered(right)) return false;
      if (expression.operator === '==') return same(left, right);
      if (expression.operator === '!=') return !same(left, right);
      const order = compareOrdered(expression, left, right, context);
      if (order === undefined) return false;
      return { '<': order < 0, '<=': order <= 0, '>': order > 0, '>=': order >= 0 }[expression.operator];
    }
    case 'in': {
      const left = valueOf(expression.left, context);
      const right = valueOf(expression.right, context);
      if (!isAnswered(left) || !Array.isArray(right)) return false;
      const found = right.some((item) => same(left, item));
      return expression.negated ? !found : found;
    }
  }
}

function lookup(path: PathExpr, context: EvaluationContext): unknown {
  const [root, ...rest] = path.segments;
  let value: unknown = root === 'answers' ? context.answers : root === 'child' ? (context.child ?? undefined) : undefined;
  for (const segment of rest) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, segment)) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

/** Whether a value counts as an answer: not missing, not blank, not an empty list or form. */
export function isAnswered(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'string') return value.trim() !== '';
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.values(value).some(isAnswered);
  return true;
}

function same(a: unknown, b: unknown): boolean {
  if (typeof a === typeof b) return a === b;
  // Scale values are text; a rule may write Telford's '2' as 2.
  if ((typeof a === 'number' && typeof b === 'string') || (typeof a === 'string' && typeof b === 'number')) return String(a) === String(b);
  return false;
}

/** Negative, zero or positive as left is worse/lower, equal or better/higher; undefined if unordered. */
function compareOrdered(node: CompareExpr, left: unknown, right: unknown, context: EvaluationContext): number | undefined {
  const ranks = ranksFor(node.left, context) ?? ranksFor(node.right, context);
  if (ranks) {
    const a = ranks[String(left)];
    const b = ranks[String(right)];
    return a === undefined || b === undefined ? undefined : a - b;
  }
  const a = asNumber(left);
  const b = asNumber(right);
  if (a !== undefined && b !== undefined) return a - b;
  const date = /^\d{4}-\d{2}-\d{2}$/;
  if (typeof left === 'string' && typeof right === 'string' && date.test(left) && date.test(right)) return left < right ? -1 : left > right ? 1 : 0;
  return undefined;
}

/** A number, or text holding one (form input arrives as text). */
function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && /^-?[0-9]+(\.[0-9]+)?$/.test(value.trim())) return Number(value);
  return undefined;
}

function ranksFor(node: Expr, context: EvaluationContext): Readonly<Record<string, number>> | undefined {
  if (node.type !== 'path') return undefined;
  const type = context.types?.paths.get(node.text);
  return type?.kind === 'choice' ? type.ranks : undefined;
}

/**
 * A question's condition in words, for a page that shows the question whatever the answers (a
 * page read without JavaScript): "Answer only if you answered No to ‘Do you agree with the
 * grading’." Written from the checked expression and the tool's own labels, so the words cannot
 * drift from the rule; a condition the words cannot say plainly (one on the child's facts, or a
 * "not" around a whole clause) gets none, and the page says the question is asked only for some
 * answers.
 */
import { parseExpression, type Expr, type LiteralExpr, type PathExpr } from './expression.ts';
import { scaleOf } from './judgements.ts';
import type { Answer, AuditTool } from './schema.ts';

/** "Answer only if …." for an appliesWhen, or undefined when it cannot be said plainly. */
export function conditionInWords(tool: AuditTool, source: string): string | undefined {
  const parsed = parseExpression(source);
  if (!parsed.ok) return undefined;
  const clause = words(tool, parsed.expression);
  return clause ? `Answer only if ${clause}.` : undefined;
}

function words(tool: AuditTool, expression: Expr): string | undefined {
  switch (expression.type) {
    case 'logical': {
      const left = words(tool, expression.left);
      const right = words(tool, expression.right);
      return left && right ? `${left} ${expression.operator} ${right}` : undefined;
    }
    case 'call': {
      const question = questionOf(tool, expression.argument);
      return question ? `you answered ${quoted(question)}` : undefined;
    }
    case 'not': {
      if (expression.operand.type !== 'call') return undefined;
      const question = questionOf(tool, expression.operand.argument);
      return question ? `you left ${quoted(question)} unanswered` : undefined;
    }
    case 'compare':
      return comparison(tool, expression.operator, expression.left, expression.right);
    case 'in':
      return membership(tool, expression.negated, expression.left, expression.right);
    default:
      return undefined;
  }
}

function comparison(tool: AuditTool, operator: string, left: Expr, right: Expr): string | undefined {
  if (left.type !== 'path' || right.type !== 'literal') return undefined;
  const question = questionOf(tool, left);
  if (!question) return undefined;
  const value = valueWords(tool, question, right);
  if (operator === '==') return `you answered ${value} to ${quoted(question)}`;
  if (operator === '!=') return `your answer to ${quoted(question)} is not ${value}`;
  const graded = question.kind === 'judgement' || ((question.kind === 'single' || question.kind === 'multiple') && question.scale !== undefined);
  const phrase = graded
    ? { '<': `worse than ${value}`, '<=': `${value} or worse`, '>': `better than ${value}`, '>=': `${value} or better` }[operator]
    : { '<': `less than ${value}`, '<=': `at most ${value}`, '>': `more than ${value}`, '>=': `at least ${value}` }[operator];
  return phrase ? `your answer to ${quoted(question)} is ${phrase}` : undefined;
}

function membership(tool: AuditTool, negated: boolean, left: Expr, right: Expr): string | undefined {
  // 'neglect' in answers.factors: a choice among several.
  if (left.type === 'literal' && right.type === 'path') {
    const question = questionOf(tool, right);
    if (!question) return undefined;
    return `you ${negated ? 'did not choose' : 'chose'} ${valueWords(tool, question, left)} for ${quoted(question)}`;
  }
  if (left.type !== 'path' || right.type !== 'list') return undefined;
  const question = questionOf(tool, left);
  if (!question) return undefined;
  const values = right.items.map((item) => valueWords(tool, question, item));
  const listed = values.length > 1 ? `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}` : (values[0] ?? '');
  return negated ? `your answer to ${quoted(question)} is not ${listed}` : `you answered ${listed} to ${quoted(question)}`;
}

/** The question an `answers.KEY` path reads; undefined for the child's facts or a respondent's answers. */
function questionOf(tool: AuditTool, path: PathExpr): Answer | undefined {
  if (path.segments[0] !== 'answers' || path.segments.length !== 2) return undefined;
  const key = path.segments[1];
  return [...tool.header, ...tool.sections.flatMap((section) => section.answers)].find((answer) => answer.key === key);
}

const quoted = (question: Answer) => `‘${question.label.trim().replace(/[:.]$/, '')}’`;

/** A value as the person chose it: the option's label (Yes, Requires improvement), else as written. */
function valueWords(tool: AuditTool, question: Answer, literal: LiteralExpr): string {
  const value = String(literal.value);
  if (question.kind === 'yesno') return value === 'yes' ? 'Yes' : value === 'no' ? 'No' : value;
  const options =
    question.kind === 'judgement'
      ? scaleOf(tool, question.scale)?.options
      : question.kind === 'single' || question.kind === 'multiple'
        ? (question.options ?? (question.scale ? scaleOf(tool, question.scale)?.options : undefined))
        : undefined;
  return options?.find((option) => option.value === value)?.label ?? value;
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDependencies } from '../../platform/http/types.ts';
import type { FieldError } from '../../platform/errors.ts';
import { addCalendarMonths, addDays } from '../../platform/working-days.ts';
import { LEGAL_STATUS_LABELS } from '../children/extract.ts';
import { ruleName } from './sampling.ts';
import { confirmSamplingRound, listRounds, proposeSamplingRound, replaceInRound, roundView, samplingRowsInForce, type RoundActor, type RoundView } from './rounds.ts';

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
const list = (value: unknown) => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : typeof value === 'string' ? [value] : []);

const AUDITOR_FROM_WORDS = { own_team: "the child's team", outside_service: "outside the child's service", any: 'anyone with an auditing role' } as const;

/**
 * Sampling round pages: start a round (period and rows), read its proposal and provenance,
 * replace a child or an auditor with a reason, confirm. Plain forms: no JavaScript needed.
 */
export async function roundRoutes(app: FastifyInstance, { db }: AppDependencies) {
  const actorOf = (request: FastifyRequest): RoundActor => ({ principal: request.principal!, ipAddress: request.ip, at: request.at });

  app.get('/programme/rounds', { config: { access: 'audits.allocate' } }, async (request, reply) => startPage(request, reply, {}, []));

  app.post('/programme/rounds', { config: { access: 'audits.allocate' } }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const values = { periodFrom: text(body.periodFrom), periodTo: text(body.periodTo), rowIds: list(body.rowIds), seed: text(body.seed) };
    const outcome = await proposeSamplingRound(db, actorOf(request), values, { today: request.today });
    if (outcome.ok) return reply.redirect(`/programme/rounds/${outcome.roundId}`, 303);
    return startPage(request, reply, values, outcome.errors, 400);
  });

  app.get('/programme/rounds/:id', { config: { access: 'audits.allocate' } }, async (request, reply) => roundPage(request, reply, []));

  app.get('/programme/rounds/:id/replace', { config: { access: 'audits.allocate' } }, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    return replacePage(request, reply, { unitKey: text(query.unit), childId: text(query.child), kind: text(query.kind) ?? 'child', method: 'draw' }, []);
  });

  app.post('/programme/rounds/:id/replacements', { config: { access: 'audits.allocate' } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const body = (request.body ?? {}) as Record<string, unknown>;
    const choice = text(body.choice) ?? 'draw';
    const values = {
      unitKey: text(body.unitKey), childId: text(body.childId), reason: text(body.reason),
      kind: choice === 'auditor' ? 'auditor' : 'child', method: choice === 'hand' ? 'hand' : 'draw',
      handPickedChildId: text(body.handPickedChildId), auditorId: text(body.auditorId),
    };
    const outcome = await replaceInRound(db, actorOf(request), id, values);
    if (outcome.ok) return reply.redirect(`/programme/rounds/${id}?replaced=1`, 303);
    return replacePage(request, reply, { ...values, choice }, outcome.errors, 400);
  });

  app.post('/programme/rounds/:id/confirm', { config: { access: 'audits.allocate' } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const outcome = await confirmSamplingRound(db, actorOf(request), id, { today: request.today });
    if (outcome.ok) return reply.redirect(`/programme/rounds/${id}?confirmed=${outcome.alreadyConfirmed ? 'already' : 'now'}`, 303);
    return roundPage(request, reply, outcome.errors, 409);
  });

  async function startPage(request: FastifyRequest, reply: FastifyReply, values: Record<string, unknown>, errors: FieldError[], status = 200) {
    const principal = request.principal!;
    const periodFrom = typeof values.periodFrom === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(values.periodFrom) ? values.periodFrom : request.today;
    const { schedule, rows } = await samplingRowsInForce(db, principal.organisationId, periodFrom);
    const rounds = await listRounds(db, principal);
    const nextMonth = addCalendarMonths(`${request.today.slice(0, 7)}-01`, 1);
    return reply.code(status).page('programme/views/rounds.njk', {
      pageTitle: 'Sampling rounds',
      errors,
      schedule,
      rows,
      rounds,
      values: {
        periodFrom: values.periodFrom ?? `${request.today.slice(0, 7)}-01`,
        periodTo: values.periodTo ?? addDays(nextMonth, -1),
        rowIds: values.rowIds ?? rows.map((row) => row.id),
        seed: values.seed ?? '',
      },
    });
  }

  async function viewOf(request: FastifyRequest): Promise<RoundView> {
    const { id } = request.params as { id: string };
    return roundView(db, actorOf(request), id);
  }

  async function roundPage(request: FastifyRequest, reply: FastifyReply, errors: FieldError[], status = 200) {
    const round = await viewOf(request);
    const query = request.query as Record<string, unknown>;
    return reply.code(status).page('programme/views/round.njk', {
      pageTitle: `Sampling round ${round.periodFrom} to ${round.periodTo}`,
      errors,
      round,
      replayMatches: round.replayMatches,
      banner: query.confirmed === 'now' ? 'confirmed' : query.confirmed === 'already' ? 'already' : query.replaced ? 'replaced' : null,
      ruleWords: (rule: string, rules: RoundView['rows'][number]['rules']) => ruleName(rule as Parameters<typeof ruleName>[0], rules),
      auditorFromWords: AUDITOR_FROM_WORDS,
      legalStatusLabels: LEGAL_STATUS_LABELS,
    });
  }

  async function replacePage(request: FastifyRequest, reply: FastifyReply, values: Record<string, string | undefined>, errors: FieldError[], status = 200) {
    const round = await viewOf(request);
    const unit = round.rows.flatMap((row) => row.units.map((candidate) => ({ ...candidate, row }))).find((candidate) => candidate.key === values.unitKey);
    const pick = unit?.picks.find((candidate) => candidate.childId === values.childId);
    if (!unit || !pick || round.status !== 'proposed') return reply.redirect(`/programme/rounds/${round.id}`, 303);
    return reply.code(status).page('programme/views/round-replace.njk', {
      pageTitle: `Replace ${pick.child} in the round`,
      errors,
      round,
      unit,
      pick,
      values: { ...values, choice: values.choice ?? (values.kind === 'auditor' ? 'auditor' : 'draw') },
      auditors: round.auditors.filter((auditor) => auditor.id !== pick.auditorId).map((auditor) => ({ value: auditor.id, text: auditor.name })),
      eligible: unit.eligibleChildren.map((child) => ({ value: child.id, text: `${child.label}, ${LEGAL_STATUS_LABELS[child.legalStatus as keyof typeof LEGAL_STATUS_LABELS] ?? child.legalStatus}` })),
    });
  }
}

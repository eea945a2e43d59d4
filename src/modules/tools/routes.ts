import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AppDependencies } from '../../platform/http/types.ts';
import { can } from '../../platform/access.ts';
import { notFound, type FieldError } from '../../platform/errors.ts';
import { describeToolError, downloadName, findEdition, importToolEdition, listTools, MAX_TOOL_FILE_BYTES } from './library.ts';
import { PREFILL_SOURCES, type AuditTool, type CompletedBy, type SectionKind } from './schema.ts';
import type { ToolFileError } from './tool-file.ts';
import { appliesToWords } from './applies-to.ts';

const editionParams = z.object({ toolId: z.string().uuid(), editionId: z.string().uuid() });

/** The most problems the upload page lists; a file with more has a deeper fault (wrong file). */
const MAX_LISTED_ERRORS = 200;

export async function toolRoutes(app: FastifyInstance, { db }: AppDependencies) {
  app.get('/tools', { config: { access: 'tools.view' } }, async (request, reply) => {
    const principal = request.principal!;
    return reply.page('tools/views/list.njk', { tools: await listTools(db, principal.organisationId), canManage: can(principal, 'tools.manage') });
  });

  app.get('/tools/upload', { config: { access: 'tools.manage' } }, async (_request, reply) => {
    return reply.page('tools/views/upload.njk', {});
  });

  app.post('/tools/upload', { config: { access: 'tools.manage', uploadFileSize: MAX_TOOL_FILE_BYTES } }, async (request, reply) => {
    const principal = request.principal!;
    const upload = await receiveToolFile(request);
    if ('errors' in upload) return reply.code(400).page('tools/views/upload.njk', upload);
    const result = await importToolEdition(db, principal.organisationId, upload.bytes, upload.fileName, { principal, ipAddress: request.ip, at: request.at });
    if (result.status === 'invalid') return reply.code(400).page('tools/views/upload.njk', problemsIn(upload.fileName, result.errors));
    if (result.status === 'conflict') {
      return reply.code(409).page('tools/views/upload.njk', {
        errors: [{ field: 'file', message: result.message }],
        published: { href: `/tools/${result.toolId}/editions/${result.editionId}` },
      });
    }
    const done = result.status === 'imported' ? 'added' : 'unchanged';
    return reply.redirect(`/tools/${result.toolId}/editions/${result.editionId}?done=${done}`, 303);
  });

  app.get('/tools/:toolId/editions/:editionId', { config: { access: 'tools.view' } }, async (request, reply) => {
    const { toolId, editionId } = editionParams.parse(request.params);
    const edition = await findEdition(db, request.principal!.organisationId, toolId, editionId);
    if (!edition) throw notFound('Audit tool edition');
    const tool = edition.definition;
    return reply.page('tools/views/edition.njk', {
      edition,
      tool,
      forChildren: appliesToWords(tool.appliesTo),
      // A definition stored before the format existed (no sections list) still opens.
      sections: Array.isArray(tool.sections) ? tool.sections : [],
      header: Array.isArray(tool.header) ? tool.header : [],
      scales: Object.fromEntries((tool.scales ?? []).map((scale) => [scale.id, scale])),
      rules: rulesView(tool),
      overall: overallView(tool),
      labels: { prefill: PREFILL_LABELS, completedBy: COMPLETED_BY_LABELS, sectionKind: SECTION_KIND_LABELS, respondentType: RESPONDENT_TYPE_LABELS },
      flash: doneMessage(request, edition),
      fileHref: `/tools/${toolId}/editions/${editionId}/file`,
      formHref: `/tools/${toolId}/editions/${editionId}/form`,
    });
  });

  app.get('/tools/:toolId/editions/:editionId/file', { config: { access: 'tools.view' } }, async (request, reply) => {
    const { toolId, editionId } = editionParams.parse(request.params);
    const edition = await findEdition(db, request.principal!.organisationId, toolId, editionId);
    if (!edition) throw notFound('Audit tool edition');
    // An edition stored without its file (before the library kept files) gives back its definition, which is also YAML.
    const body = edition.source_file ? Buffer.from(edition.source_file) : `${JSON.stringify(edition.definition, null, 2)}\n`;
    return reply
      .header('Content-Type', 'application/yaml; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="${downloadName(edition)}"`)
      .header('Cache-Control', 'no-store')
      .send(body);
  });
}

type Received = { bytes: Buffer; fileName: string } | { errors: FieldError[] };

/** Reads the one uploaded file into memory: tool files are small, and capped at MAX_TOOL_FILE_BYTES. */
async function receiveToolFile(request: FastifyRequest): Promise<Received> {
  const file = request.upload;
  if (!file || !file.filename) return { errors: [{ field: 'file', message: 'Select a tool file' }] };
  let bytes: Buffer;
  try {
    bytes = await file.toBuffer();
  } catch {
    return { errors: [{ field: 'file', message: `The selected file must be smaller than ${MAX_TOOL_FILE_BYTES / 1024 / 1024} MB` }] };
  }
  if (!/\.ya?ml$/i.test(file.filename)) return { errors: [{ field: 'file', message: 'The selected file must be a YAML file (.yaml or .yml)' }] };
  if (bytes.byteLength === 0) return { errors: [{ field: 'file', message: 'The selected file is empty' }] };
  return { bytes, fileName: file.filename.replace(/^.*[\\/]/, '') };
}

/** Every problem in the file, each with its path and line, for the error summary. */
function problemsIn(fileName: string, problems: ToolFileError[]) {
  const listed = problems.slice(0, MAX_LISTED_ERRORS);
  const errors: FieldError[] = listed.map((problem) => ({ field: 'file', message: describeToolError(problem) }));
  if (problems.length > listed.length) errors.push({ field: 'file', message: `and ${problems.length - listed.length} more problems` });
  return { errors, fileName, problemCount: problems.length };
}

/** Confirmations after a redirect, worded from the edition itself: nothing from the address is echoed. */
function doneMessage(request: FastifyRequest, edition: { tool_name: string; edition: string }): string | undefined {
  const done = (request.query as Record<string, unknown>).done;
  const title = `${edition.tool_name} edition ${edition.edition}`;
  if (done === 'added') return `${title} has been added to the library`;
  if (done === 'unchanged') return `${title} is already in the library, exactly as in this file: nothing has changed`;
  return undefined;
}

/** Limiting judgements in the form's words: which judgement each limits, and to what at best. */
function rulesView(tool: AuditTool) {
  const labels = answerLabels(tool);
  const scaleOf = judgementScales(tool);
  return (Array.isArray(tool.rules) ? tool.rules : []).map((rule) => {
    const target = rule.limit.answer === 'overall' ? (tool.overall?.answer ?? 'overall') : rule.limit.answer;
    const scale = (tool.scales ?? []).find((candidate) => candidate.id === scaleOf[target]);
    const atBest = scale?.options.find((option) => option.value === rule.limit.atBest)?.label ?? rule.limit.atBest;
    return { key: rule.key, when: rule.when, message: rule.message, answer: labels[target] ?? target, atBest };
  });
}

function overallView(tool: AuditTool) {
  if (!tool.overall) return undefined;
  const labels = answerLabels(tool);
  return { answer: labels[tool.overall.answer] ?? tool.overall.answer, mode: tool.overall.mode, from: (tool.overall.from ?? []).map((key) => labels[key] ?? key) };
}

function judgementScales(tool: AuditTool): Record<string, string> {
  const scales: Record<string, string> = {};
  const answers = [...(tool.header ?? []), ...(Array.isArray(tool.sections) ? tool.sections : []).flatMap((section) => section.answers ?? [])];
  for (const answer of answers) if (answer.kind === 'judgement') scales[answer.key] = answer.scale;
  return scales;
}

/** Every answer's label by key, so rules and the overall judgement read in the form's words. */
function answerLabels(tool: AuditTool): Record<string, string> {
  const labels: Record<string, string> = {};
  const add = (answers: unknown) => {
    if (!Array.isArray(answers)) return;
    for (const answer of answers as { key?: string; label?: string }[]) if (answer.key && answer.label) labels[answer.key] = answer.label;
  };
  add(tool.header);
  for (const section of Array.isArray(tool.sections) ? tool.sections : []) {
    add(section.answers);
    for (const criterion of section.criteria ?? []) if (typeof criterion === 'object' && 'key' in criterion && criterion.key) labels[criterion.key] = criterion.text;
  }
  if (tool.overall) labels.overall = labels[tool.overall.answer] ?? 'the overall judgement';
  return labels;
}

const PREFILL_LABELS: Record<keyof typeof PREFILL_SOURCES, string> = {
  'child.externalId': "the child's case ID",
  'child.initials': "the child's initials",
  'child.dateOfBirth': "the child's date of birth",
  'child.ageInYears': "the child's age",
  'child.legalStatus': "the child's legal status",
  'child.referralFactors': "the child's referral factors",
  'child.allocatedWorker': "the child's allocated worker",
  'child.allocatedTeam': "the child's allocated team",
  'child.openDate': 'the date the case was opened',
  'audit.reference': 'the audit reference',
  'audit.auditor': 'the auditor',
  'audit.caseHolder': 'the case holder',
  'audit.caseHolderManager': "the case holder's manager",
  'audit.moderator': 'the moderator',
  'audit.team': "the audit's team",
  'audit.service': "the audit's service",
  'audit.locality': "the audit's locality",
  'audit.allocatedOn': 'the date the audit was allocated',
  'audit.today': "today's date",
};

const COMPLETED_BY_LABELS: Record<CompletedBy, string> = {
  auditor: 'the auditor',
  practitioner: 'the practitioner',
  moderator: 'the moderator',
  line_manager: 'the line manager',
  qa_coordinator: 'the QA coordinator',
};

const SECTION_KIND_LABELS: Record<SectionKind, string> = {
  standard: '',
  serviceUserFeedback: 'Service user feedback',
  actionPlan: 'Action plan',
  moderation: 'Moderation',
  practitionerFeedback: 'Practitioner feedback',
  reAudit: 'Re-audit',
};

const RESPONDENT_TYPE_LABELS: Record<string, string> = {
  parent_carer: 'Parent or carer',
  child: 'Child or young person',
  foster_carer: 'Foster carer',
  other: 'Other',
};

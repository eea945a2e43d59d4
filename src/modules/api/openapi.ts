/**
 * The OpenAPI 3 description of /api/v1, served at /api/v1/openapi.json. Written by hand
 * beside the routes so it reads as documentation; the API tests check that every API route
 * is described here and that answers carry the documented fields.
 */
import { AUDIT_STATUSES, GRADES } from '../audits/tracker.ts';
import { SORT_KEYS } from '../audits/queries.ts';
import { FEED_PATHS } from '../reports/feed-openapi.ts';
import { PROGRAMME_OPENAPI_PATHS } from '../programme/api.ts';

const problem = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string', enum: ['BAD_REQUEST', 'UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT', 'INVALID', 'TOO_MANY', 'INTERNAL'] },
    message: { type: 'string' },
    errors: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' }, row: { type: 'integer' } } } },
  },
};

const rowError = {
  type: 'object',
  required: ['row', 'column', 'reason'],
  properties: {
    sheet: { type: ['string', 'null'], description: 'The workbook sheet; null for a CSV' },
    row: { type: 'integer', description: 'Spreadsheet row number (the header is row 1)' },
    column: { type: 'string' },
    value: { type: 'string' },
    reason: { type: 'string' },
  },
};

const importPreview = {
  type: 'object',
  description: 'What applying the import does (or did): computed before anything is written',
  properties: {
    adds: { type: 'integer' },
    updates: { type: 'integer' },
    unchanged: { type: 'integer' },
    closes: { type: 'integer', description: 'Open children missing from the file that it closes (only with closeMissing=true)' },
    openCount: { type: 'integer', description: 'Open children in the register when the preview was made' },
    firstClosures: { type: 'array', items: { type: 'object', properties: { externalId: { type: 'string' }, initials: { type: ['string', 'null'] } } } },
    closesMany: { type: 'boolean', description: 'More than a quarter of the open children would close: confirmManyClosures=true is needed' },
  },
};

const importResult = {
  type: 'object',
  required: ['importId', 'status', 'rowsRead', 'errorCount', 'errors'],
  properties: {
    importId: { type: 'string', format: 'uuid' },
    status: {
      type: 'string',
      enum: ['queued', 'running', 'staged', 'succeeded', 'failed', 'discarded'],
      description: 'staged: a dry run, waiting to be confirmed; discarded: nothing was imported (see message)',
    },
    message: { type: ['string', 'null'] },
    rowsRead: { type: 'integer' },
    preview: importPreview,
    created: { type: 'integer' },
    updated: { type: 'integer' },
    closed: { type: 'integer', description: 'Open children missing from a full extract, now marked closed' },
    errorCount: { type: 'integer' },
    errors: { type: 'array', items: rowError, description: 'Every bad row (up to 1,000); when there are any, nothing was imported' },
  },
};

const legalStatus = { type: 'string', enum: ['early_help', 'cin', 'cp', 'plo', 'child_in_care', 'care_leaver'] };
const nullableString = { type: ['string', 'null'] };
const nullableDate = { type: ['string', 'null'], format: 'date' };

const child = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    externalId: { type: 'string' },
    initials: { type: 'string' },
    dateOfBirth: nullableDate,
    gender: { type: ['string', 'null'], enum: ['male', 'female', 'other', 'unknown', null] },
    ethnicity: nullableString,
    legalStatus,
    allocatedWorker: nullableString,
    allocatedWorkerId: { type: ['string', 'null'], format: 'uuid' },
    allocatedTeam: nullableString,
    allocatedTeamId: { type: ['string', 'null'], format: 'uuid' },
    openDate: nullableDate,
    closeDate: nullableDate,
    referralFactors: { type: 'array', items: { type: 'string' } },
  },
};

const nullableUuid = { type: ['string', 'null'], format: 'uuid' };
const nullableGrade = { type: ['string', 'null'], enum: [...GRADES, null] };
const nullableTimestamp = { type: ['string', 'null'], format: 'date-time' };

/** "Due" means the same in every answer: the deadline of the stage the audit is in. */
const STAGE_PROPERTY = {
  type: 'string',
  enum: ['auditor', 'moderation', 'distribution', 'feedback', 'closed'],
  description: 'The stage of the lifecycle the audit is in; dueOn is its deadline',
};
const DUE_PROPERTY = { type: ['string', 'null'], format: 'date', description: 'The deadline of the stage the audit is in (working days from when the stage started); null once closed' };
const AUDITOR_DUE_PROPERTY = { type: 'string', format: 'date', description: "The deadline allocation gave the auditor (the council's auditor timescale in working days); history once the audit has moved on" };

const trackerAudit = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    reference: { type: 'integer' },
    childId: { type: 'string', format: 'uuid' },
    childInitials: { type: 'string' },
    childExternalId: { type: 'string' },
    toolId: { type: 'string', format: 'uuid' },
    toolName: { type: 'string' },
    toolEdition: { type: 'string' },
    auditorId: { type: 'string', format: 'uuid' },
    auditorName: { type: 'string' },
    caseHolderId: nullableUuid,
    caseHolderName: nullableString,
    teamId: nullableUuid,
    teamName: nullableString,
    serviceId: nullableUuid,
    serviceName: nullableString,
    status: { type: 'string', enum: [...AUDIT_STATUSES] },
    statusLabel: {
      type: 'string',
      description: "The status in words, as the pages show it: 'Feedback given' once the case holder's feedback is in while the audit awaits closing (status awaiting_feedback)",
    },
    feedbackGivenAt: { ...nullableTimestamp, description: "When the case holder's feedback was given; null before" },
    allocatedOn: { type: 'string', format: 'date' },
    stage: STAGE_PROPERTY,
    dueOn: DUE_PROPERTY,
    auditorDueOn: AUDITOR_DUE_PROPERTY,
    submittedAt: nullableTimestamp,
    moderatedAt: nullableTimestamp,
    auditorGrade: nullableGrade,
    finalGrade: nullableGrade,
    overdue: { type: 'boolean', description: 'Past the deadline of the stage it is in (the due date while with the auditor), and not closed' },
  },
};

const named = { type: 'object', required: ['id', 'name'], properties: { id: { type: 'string', format: 'uuid' }, name: { type: 'string' } } };
const nullableNamed = { oneOf: [named, { type: 'null' }] };

/** One audit as GET /audits/{id} answers it. */
const auditRecord = {
  type: 'object',
  required: ['id', 'reference', 'status', 'overdue', 'child', 'tool', 'auditor', 'allocatedOn', 'dueOn', 'answers', 'grades'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    reference: { type: 'integer' },
    status: { type: 'string', enum: [...AUDIT_STATUSES] },
    overdue: { type: 'boolean', description: 'Past the deadline of the stage it is in (the due date while with the auditor), and not closed' },
    child: { type: 'object', properties: { id: { type: 'string', format: 'uuid' }, externalId: { type: 'string' }, initials: { type: 'string' } } },
    tool: {
      type: 'object',
      description: 'The tool and the edition the audit is pinned to',
      properties: { id: { type: 'string', format: 'uuid' }, key: { type: 'string' }, name: { type: 'string' }, editionId: { type: 'string', format: 'uuid' }, edition: { type: 'string' } },
    },
    auditor: named,
    caseHolder: { ...nullableNamed, description: 'The allocated worker in the register when the audit was allocated' },
    moderator: nullableNamed,
    team: nullableNamed,
    service: nullableNamed,
    allocatedBy: { ...nullableNamed, description: 'The user who allocated the audit' },
    allocatedOn: { type: 'string', format: 'date' },
    stage: STAGE_PROPERTY,
    dueOn: DUE_PROPERTY,
    auditorDueOn: AUDITOR_DUE_PROPERTY,
    submittedAt: nullableTimestamp,
    moderatedAt: nullableTimestamp,
    closedAt: nullableTimestamp,
    answers: { type: 'object', description: "The auditor's answers, keyed by question id" },
    grades: {
      type: 'object',
      properties: {
        auditor: nullableGrade,
        final: nullableGrade,
        sections: {
          type: 'array',
          items: {
            type: 'object',
            properties: { sectionKey: { type: 'string' }, stage: { type: 'string', enum: ['auditor', 'moderator', 're_audit'] }, grade: { type: 'string' }, reason: nullableString },
          },
        },
      },
    },
  },
};

const allocation = {
  type: 'object',
  required: ['childId', 'auditorId'],
  properties: {
    childId: { type: 'string', format: 'uuid', description: 'A child in the register, within your reach, whose case is open' },
    toolId: {
      type: 'string',
      format: 'uuid',
      description: "The audit tool; its newest published edition is used. Default: the child's service's default tool if it is for this child, else the first tool whose appliesTo fits the child",
    },
    confirmNotForChild: {
      type: 'boolean',
      const: true,
      description: "Needed when the tool is not for this child (its appliesTo: legal statuses, ages): without it the allocation is refused with an error on confirmNotForChild",
    },
    auditorId: { type: 'string', format: 'uuid', description: 'A staff member with an auditing role (auditor, moderator, QA coordinator, QA lead) who is not the case holder' },
  },
};

const toolEditionSummary = {
  type: 'object',
  required: ['id', 'edition', 'status', 'publishedAt'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    edition: { type: 'string' },
    status: { type: 'string', enum: ['published', 'archived'] },
    publishedAt: { type: 'string', format: 'date-time' },
  },
};

/** One audit tool in the library, with its editions newest first. */
const tool = {
  type: 'object',
  required: ['id', 'key', 'name', 'editions'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    key: { type: 'string' },
    name: { type: 'string' },
    description: { type: 'string' },
    editions: { type: 'array', items: toolEditionSummary },
  },
};

/** One tool edition with its checked definition, as the audit form reads it. */
const toolEdition = {
  type: 'object',
  required: ['id', 'toolId', 'key', 'name', 'edition', 'status', 'publishedAt', 'definition'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    toolId: { type: 'string', format: 'uuid' },
    key: { type: 'string' },
    name: { type: 'string' },
    edition: { type: 'string' },
    status: { type: 'string', enum: ['published', 'archived'] },
    publishedAt: { type: 'string', format: 'date-time' },
    schemaVersion: { type: 'integer' },
    source: { type: 'string', description: 'The document the form comes from' },
    definition: { type: 'object', description: 'The checked tool definition: header, sections, scales (resolved in full), rules and overall grade. Its shape is the audit-tool file format (audit-tools/audit-tool.schema.json)' },
  },
};

const paging = [
  { name: 'page', in: 'query', schema: { type: 'integer', minimum: 1, default: 1 } },
  { name: 'pageSize', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
];

/** A sampling round as GET /programme/rounds/{id} gives it (see the round's page for the same). */
const samplingRound = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' }, status: { type: 'string', enum: ['proposed', 'confirmed'] },
    periodFrom: { type: 'string', format: 'date' }, periodTo: { type: 'string', format: 'date' }, asOf: { type: 'string', format: 'date' },
    seed: { type: 'integer' }, drawVersion: { type: 'integer', description: 'The version of the draw the round was proposed with and is replayed with (see the round page)' }, poolSize: { type: 'integer' }, proposedBy: { type: 'string' }, confirmedBy: { type: ['string', 'null'] },
    rows: { type: 'array', items: { type: 'object', properties: {
      id: { type: 'string' }, label: { type: 'string' }, expected: { type: 'integer' }, proposed: { type: 'integer' }, shortfall: { type: 'integer' }, rules: { type: 'object' },
      units: { type: 'array', items: { type: 'object', properties: {
        key: { type: 'string' }, kind: { type: 'string', enum: ['auditor', 'team', 'service'] }, name: { type: 'string' }, expected: { type: 'integer' }, scopeSize: { type: 'integer' }, eligible: { type: 'integer' }, shortfall: { type: 'integer' },
        exclusions: { type: 'array', items: { type: 'object', properties: { rule: { type: 'string' }, count: { type: 'integer' }, who: { type: 'array', items: { type: 'string' } } } } },
        auditorExclusions: { type: 'array', items: { type: 'object', properties: { rule: { type: 'string' }, count: { type: 'integer' }, who: { type: 'array', items: { type: 'string' } } } } },
        picks: { type: 'array', items: { type: 'object', properties: { childId: { type: 'string', format: 'uuid' }, child: { type: 'string' }, auditorId: { type: 'string', format: 'uuid' }, auditor: { type: 'string' } } } },
      } } },
    } } },
    replacements: { type: 'array', items: { type: 'object', properties: { kind: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, how: { type: 'string' }, reason: { type: 'string' }, by: { type: 'string' } } } },
  },
};

const errors = {
  '400': { description: 'The request is malformed', content: { 'application/json': { schema: problem } } },
  '401': { description: 'No valid API token', content: { 'application/json': { schema: problem } } },
  '403': { description: 'The token owner may not do this', content: { 'application/json': { schema: problem } } },
  '422': { description: 'Invalid input, named field by field', content: { 'application/json': { schema: problem } } },
};

export type TrackerParameter = { name: string; description: string; schema: Record<string, unknown> };

export function openApiDocument(trackerParameters: TrackerParameter[] = TRACKER_PARAMETERS) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Assure API',
      version: '1.0.0',
      description: 'Children\'s services quality assurance. Authenticate with a personal API token: `Authorization: Bearer <token>`. Tokens are created on "Your account". Access follows the token owner\'s roles, exactly as in the pages.',
    },
    servers: [{ url: '/api/v1' }],
    security: [{ bearerToken: [] }],
    components: {
      securitySchemes: { bearerToken: { type: 'http', scheme: 'bearer', description: 'A personal API token (assure_…)' } },
      schemas: { Problem: problem, Child: child, ImportResult: importResult, RowError: rowError, Audit: trackerAudit, AuditRecord: auditRecord, Allocation: allocation, Tool: tool, ToolEdition: toolEdition },
    },
    paths: {
      '/children': {
        get: {
          operationId: 'listChildren',
          summary: 'List children in the register that you may see',
          parameters: [
            { name: 'search', in: 'query', description: 'Case ID, initials, worker or team contains', schema: { type: 'string' } },
            { name: 'team', in: 'query', schema: { type: 'string', format: 'uuid' } },
            { name: 'legalStatus', in: 'query', schema: legalStatus },
            { name: 'status', in: 'query', schema: { type: 'string', enum: ['open', 'closed', 'all'], default: 'open' } },
            ...paging,
          ],
          responses: {
            '200': {
              description: 'A page of children',
              content: { 'application/json': { schema: { type: 'object', properties: { total: { type: 'integer' }, page: { type: 'integer' }, pageSize: { type: 'integer' }, children: { type: 'array', items: child } } } } },
            },
            ...errors,
          },
        },
      },
      '/children/imports': {
        post: {
          operationId: 'importChildren',
          summary: 'Import a case-management extract (CSV or XLSX) into the child register',
          description:
            'The request body is the file itself (at most 200 MB). If any row is invalid nothing is imported and every problem of every row is listed. A re-import updates children by their case ID and never duplicates them. Nobody is closed unless closeMissing=true; then open children missing from the file are marked closed, and past a quarter of the open children confirmManyClosures=true is needed too (otherwise nothing is imported and the answer says why). With dryRun=true nothing changes: the answer is the preview, and POST /children/imports/{id}/confirm applies exactly that preview. One import per organisation runs at a time (409 otherwise).',
          parameters: [
            { name: 'closeMissing', in: 'query', schema: { type: 'string', enum: ['true', 'false'], default: 'false' }, description: 'Close the open children missing from the file (a full extract)' },
            { name: 'fullExtract', in: 'query', schema: { type: 'string', enum: ['true', 'false'], default: 'false' }, description: 'The earlier name of closeMissing' },
            { name: 'dryRun', in: 'query', schema: { type: 'string', enum: ['true', 'false'], default: 'false' } },
            { name: 'confirmManyClosures', in: 'query', schema: { type: 'string', enum: ['true', 'false'], default: 'false' } },
            { name: 'filename', in: 'query', schema: { type: 'string' }, description: 'Recorded with the import' },
          ],
          requestBody: {
            required: true,
            content: {
              'text/csv': { schema: { type: 'string' } },
              'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': { schema: { type: 'string', format: 'binary' } },
            },
          },
          responses: {
            '201': { description: 'Imported', content: { 'application/json': { schema: importResult } } },
            '200': { description: 'Nothing imported: a dry run (status staged) or closures not confirmed (status discarded)', content: { 'application/json': { schema: importResult } } },
            '422': { description: 'Nothing imported: the rows with problems', content: { 'application/json': { schema: importResult } } },
            '409': { description: 'Another import of the organisation is running' },
            '400': errors['400'],
            '401': errors['401'],
            '403': errors['403'],
          },
        },
      },
      '/children/imports/{id}/confirm': {
        post: {
          operationId: 'confirmChildImport',
          summary: 'Apply a dry run exactly as it was previewed',
          description: 'Refused (409) when the register changed since the preview, when the import is not waiting to be confirmed, or when it closes more than a quarter of the open children without confirmManyClosures=true.',
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
            { name: 'confirmManyClosures', in: 'query', schema: { type: 'string', enum: ['true', 'false'], default: 'false' } },
          ],
          responses: { '201': { description: 'Imported', content: { 'application/json': { schema: importResult } } }, '409': { description: 'Not applied; the message says why' }, ...errors },
        },
      },
      '/children/imports/{id}': {
        get: {
          operationId: 'getChildImport',
          summary: 'The state and result of an import',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
          responses: { '200': { description: 'The import', content: { 'application/json': { schema: importResult } } }, '404': { description: 'No such import' }, ...errors },
        },
      },
      '/audits': {
        get: {
          operationId: 'listAudits',
          summary: 'List audits you may see, with the audit tracker\'s filters',
          parameters: [...trackerParameters.map((parameter) => ({ in: 'query', ...parameter })), ...paging],
          responses: {
            '200': {
              description: 'A page of audits',
              content: { 'application/json': { schema: { type: 'object', properties: { total: { type: 'integer' }, page: { type: 'integer' }, pageSize: { type: 'integer' }, audits: { type: 'array', items: trackerAudit } } } } },
            },
            ...errors,
          },
        },
        post: {
          operationId: 'allocateAudit',
          summary: 'Allocate a case file audit',
          description:
            'The case holder, team and service come from the child register. The audit is due 10 working days after today (England and Wales bank holidays); the auditor is e-mailed. Needs the QA coordinator or QA lead role.',
          requestBody: { required: true, content: { 'application/json': { schema: allocation } } },
          responses: {
            '201': { description: 'Allocated', headers: { Location: { schema: { type: 'string' } } }, content: { 'application/json': { schema: auditRecord } } },
            ...errors,
          },
        },
      },
      '/audits/{id}': {
        get: {
          operationId: 'getAudit',
          summary: 'One audit: status, tool edition, people, dates, answers and grades',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
          responses: {
            '200': { description: 'The audit', content: { 'application/json': { schema: auditRecord } } },
            '404': { description: 'No such audit, or not one you may see', content: { 'application/json': { schema: problem } } },
            ...errors,
          },
        },
      },
      // --- Sampling rounds (issue 14) ---
      '/programme/rounds': {
        post: {
          operationId: 'proposeSamplingRound',
          summary: 'Propose a sampling round: one child per expected audit, with its auditor, drawn by the schedule rows\' sampling rules',
          description: 'Draws from the register as it stands today with a seeded generator (the seed is recorded; give one to draw again the same way). Nothing is allocated until the round is confirmed. Needs the QA coordinator or QA lead role.',
          requestBody: { required: true, content: { 'application/json': { schema: {
            type: 'object', required: ['periodFrom', 'periodTo', 'rowIds'],
            properties: {
              periodFrom: { type: 'string', format: 'date' }, periodTo: { type: 'string', format: 'date' },
              rowIds: { type: 'array', items: { type: 'string', format: 'uuid' }, description: 'Rows of the schedule in force on periodFrom whose cases are chosen at random' },
              seed: { type: 'integer', description: 'A 32-bit seed; random when left out' },
            },
          } } } },
          responses: { '201': { description: 'The proposal, with each row\'s pool, exclusions by rule, choices and shortfall', content: { 'application/json': { schema: samplingRound } } }, ...errors },
        },
      },
      '/programme/rounds/{id}': {
        get: {
          operationId: 'getSamplingRound',
          summary: 'A sampling round: its proposal and provenance (seed, rules, pool, exclusions, replacements, who confirmed)',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
          responses: { '200': { description: 'The round', content: { 'application/json': { schema: samplingRound } } }, '404': { description: 'No such round', content: { 'application/json': { schema: problem } } }, ...errors },
        },
      },
      '/programme/rounds/{id}/confirm': {
        post: {
          operationId: 'confirmSamplingRound',
          summary: 'Confirm a round: every proposed audit is allocated at once, in one transaction, with its e-mail',
          description: 'A round confirmed twice allocates once: the second answer says alreadyConfirmed. If any audit cannot be allocated, nothing is, and the answer (409) names the child.',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
          responses: {
            '200': { description: 'Allocated', content: { 'application/json': { schema: { type: 'object', properties: { alreadyConfirmed: { type: 'boolean' }, audits: { type: 'array', items: { type: 'object', properties: { id: { type: 'string', format: 'uuid' }, reference: { type: 'integer' } } } } } } } } },
            '409': { description: 'An audit could not be allocated; nothing was', content: { 'application/json': { schema: problem } } },
            ...errors,
          },
        },
      },
      // --- end of sampling rounds ---
      '/tools': {
        get: {
          operationId: 'listTools',
          summary: 'List the audit tools in your organisation\'s library, each with its editions',
          description: 'Needs the right to view tools, as the Audit tools pages do.',
          responses: {
            '200': { description: 'The tools, by name', content: { 'application/json': { schema: { type: 'object', properties: { tools: { type: 'array', items: tool } } } } } },
            ...errors,
          },
        },
      },
      '/tools/{toolId}/editions/{editionId}': {
        get: {
          operationId: 'getToolEdition',
          summary: 'One edition of an audit tool, with its definition',
          parameters: [
            { name: 'toolId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
            { name: 'editionId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
          ],
          responses: {
            '200': { description: 'The edition', content: { 'application/json': { schema: toolEdition } } },
            '404': { description: 'No such edition of that tool in your organisation', content: { 'application/json': { schema: problem } } },
            ...errors,
          },
        },
      },
      // The data feed for BI tools: its paths and column dictionary live with the feed.
      ...FEED_PATHS,
      // The audit programme (schedule and compliance).
      ...PROGRAMME_OPENAPI_PATHS,
    },
  };
}

const uuid = { type: 'string', format: 'uuid' };
const isoDateText = { type: 'string', format: 'date' };

/** The tracker's filters (trackerFilterSchema in audits/tracker.ts), as query parameters. */
const TRACKER_PARAMETERS: TrackerParameter[] = [
  {
    name: 'status',
    description: 'One or more statuses, repeated or comma-separated',
    schema: { type: 'array', items: { type: 'string', enum: [...AUDIT_STATUSES] } },
  },
  { name: 'team', description: 'The team the audit belongs to', schema: uuid },
  { name: 'service', description: 'The service the audit belongs to', schema: uuid },
  { name: 'tool', description: 'The audit tool', schema: uuid },
  { name: 'grade', description: 'The final grade, or the auditor\'s grade until moderated', schema: { type: 'string', enum: [...GRADES] } },
  { name: 'overdue', description: 'Only audits past the deadline of the stage they are in', schema: { type: 'string', enum: ['yes', 'no'], default: 'no' } },
  { name: 'allocatedFrom', description: 'Allocated on or after this date', schema: isoDateText },
  { name: 'allocatedTo', description: 'Allocated on or before this date', schema: isoDateText },
  { name: 'sort', description: 'The column to sort by', schema: { type: 'string', enum: [...SORT_KEYS], default: 'allocated' } },
  { name: 'order', description: 'Sort order', schema: { type: 'string', enum: ['asc', 'desc'], default: 'desc' } },
];

import { FEED_COLUMNS, FEED_DATASETS } from './feed.ts';

/**
 * The data feed's part of the OpenAPI document: one path per table, each with its column
 * dictionary, written from the same definitions that write the CSV.
 */
const problem = { $ref: '#/components/schemas/Problem' };

function dictionary(dataset: (typeof FEED_DATASETS)[number]): string {
  return FEED_COLUMNS[dataset].columns.map((column) => `- \`${column.name}\`: ${column.description}`).join('\n');
}

export const FEED_PATHS = {
  '/feed/{dataset}': {
    get: {
      operationId: 'readDataFeed',
      summary: 'A table of the data feed for BI tools, as CSV',
      description: [
        'Flat tables for Power BI, Qlik or a spreadsheet: the audits allocated in the period that the token owner\'s reports count (the whole organisation, or their services and teams alone: the service and team an audit was allocated to), and the judgements, practitioner feedback, family feedback and actions of those audits. The answer is CSV (UTF-8 with a byte-order mark, CRLF line ends; text that starts like a formula is prefixed with an apostrophe), streamed as it is read. Every download is recorded in the activity log.',
        ...FEED_DATASETS.map((dataset) => `\n\n**${dataset}** (${FEED_COLUMNS[dataset].title.toLowerCase()}) — ${FEED_COLUMNS[dataset].description}. Columns:\n\n${dictionary(dataset)}`),
      ].join(''),
      parameters: [
        { name: 'dataset', in: 'path', required: true, schema: { type: 'string', enum: [...FEED_DATASETS] } },
        {
          name: 'period',
          in: 'query',
          description: 'q:YYYY-N (quarter N of the financial year starting in April of YYYY), fy:YYYY (a financial year), m:YYYY-MM (a month) or range (with from and to). Default: the current quarter',
          schema: { type: 'string', pattern: '^(q:\\d{4}-[1-4]|fy:\\d{4}|m:\\d{4}-\\d{2}|range)$' },
        },
        { name: 'from', in: 'query', description: 'With period=range: the first day (YYYY-MM-DD)', schema: { type: 'string', format: 'date' } },
        { name: 'to', in: 'query', description: 'With period=range: the last day; at most ten years after from', schema: { type: 'string', format: 'date' } },
      ],
      responses: {
        '200': { description: 'The table as CSV, one header row then one row per record', content: { 'text/csv': { schema: { type: 'string' } } } },
        '401': { description: 'No valid token', content: { 'application/json': { schema: problem } } },
        '403': { description: 'The token owner may not read reports', content: { 'application/json': { schema: problem } } },
        '404': { description: 'No such table', content: { 'application/json': { schema: problem } } },
        '422': { description: 'The period is not one: the field is named', content: { 'application/json': { schema: problem } } },
      },
    },
  },
};

import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppDependencies } from '../../platform/http/types.ts';
import { can, dataScope } from '../../platform/access.ts';
import { logActivities, type ActivityEntry } from '../../platform/activity.ts';
import { ACTION_STATUS_LABELS, ACTION_STATUS_TAG_CLASSES, listAuditActions, type ActionView } from '../actions/service.ts';
import { searchAudits } from '../audits/audit.ts';
import { AUDIT_LIST_LABELS } from '../audits/tracker.ts';
import { LEGAL_STATUS_LABELS } from '../children/extract.ts';
import * as children from '../children/service.ts';

const searchText = z.string().trim().max(100, 'Search must be 100 characters or fewer');

/**
 * The header search: a child, an audit or an action found by the child's case ID or the audit's
 * reference. Each kind is looked up through the same access rules as its own pages (nobody finds
 * a child they may not see), and every child it shows is logged as a view of that child.
 */
export async function searchRoutes(app: FastifyInstance, { db }: AppDependencies) {
  app.get('/search', { config: { access: 'account' } }, async (request, reply) => {
    const principal = request.principal!;
    const raw = (request.query as Record<string, unknown>).q;
    const parsed = searchText.safeParse(typeof raw === 'string' ? raw : '');
    const q = parsed.success ? parsed.data : '';
    const errors = parsed.success ? [] : [{ field: 'q', message: parsed.error.issues[0]!.message }];
    if (!q) return reply.code(errors.length ? 400 : 200).page('search/views/search.njk', { q: typeof raw === 'string' ? raw : '', errors, searched: false });

    const foundChildren = can(principal, 'children.view') ? await children.findChildrenByCaseId(db, dataScope(principal, 'children.view'), q) : [];
    const audits = await searchAudits(db, principal, q, request.today);
    const actions: ActionView[] = [];
    for (const audit of audits) actions.push(...(await listAuditActions(db, principal, audit.id, request.today)));

    // A search that shows a child is a look at that child: it goes to the log as a view.
    const entries: ActivityEntry[] = [
      { action: 'view', recordType: 'search', summary: `header search: ${foundChildren.length} children, ${audits.length} audits, ${actions.length} actions` },
      ...foundChildren.map((child): ActivityEntry => ({ action: 'view', recordType: 'child', recordId: child.id, childId: child.id, summary: 'found by search' })),
      ...audits.map((audit): ActivityEntry => ({ action: 'view', recordType: 'audit', recordId: audit.id, childId: audit.childId, summary: 'found by search' })),
    ];
    await logActivities(db, { principal, ipAddress: request.ip, at: request.at }, entries);

    return reply.page('search/views/search.njk', {
      q,
      errors,
      searched: true,
      children: foundChildren,
      audits,
      actions,
      legalStatusLabels: LEGAL_STATUS_LABELS,
      actionStatusLabels: ACTION_STATUS_LABELS,
      actionStatusTagClasses: ACTION_STATUS_TAG_CLASSES,
      ...AUDIT_LIST_LABELS,
    });
  });
}

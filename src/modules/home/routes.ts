import type { FastifyInstance } from 'fastify';
import type { AppDependencies } from '../../app.ts';
import { can } from '../../platform/access.ts';

/** The home page: what this person can reach. "My work" grows with the audit lifecycle. */
export async function homeRoutes(app: FastifyInstance, _deps: AppDependencies) {
  app.get('/', { config: { access: 'account' } }, async (request, reply) => {
    const principal = request.principal!;
    const links = [
      { href: '/audits', text: 'Audit tracker', description: 'Every audit you may see, with filters and exports.', show: can(principal, 'audits.view') },
      { href: '/children', text: 'Children', description: 'The child register loaded from the case-management system.', show: can(principal, 'children.view') },
      { href: '/children/imports/new', text: 'Import children', description: 'Load a case-management extract (CSV or XLSX).', show: can(principal, 'children.import') },
      { href: '/organisation', text: 'Organisation', description: 'Services, localities, teams, staff and users.', show: can(principal, 'org.view') },
      { href: '/activity', text: 'Activity log', description: 'Who viewed or changed which record, and when.', show: can(principal, 'activity.view') },
    ].filter((link) => link.show);
    return reply.page('home/views/home.njk', { links });
  });
}

import type { Role, Scope } from '../db/types.ts';

/**
 * Who may do what: the one place access is decided. Pages, exports and the API all ask
 * `can` (may this person use this capability at all?) and `dataScope` (which children's
 * records may they see through it?). Nothing else in the product grants access.
 */
export const ROLES: readonly Role[] = [
  'practitioner',
  'auditor',
  'moderator',
  'qa_coordinator',
  'qa_lead',
  'senior_leader',
  'administrator',
];

export const ROLE_LABELS: Record<Role, string> = {
  practitioner: 'Practitioner',
  auditor: 'Auditor (manager)',
  moderator: 'Moderator',
  qa_coordinator: 'QA coordinator',
  qa_lead: 'QA lead',
  senior_leader: 'Senior leader',
  administrator: 'Administrator',
};

export const SCOPE_LABELS: Record<Scope, string> = {
  team: 'Own team',
  service: 'Service',
  organisation: 'Whole organisation',
};

export type Permission =
  /** Pages every signed-in person has: home, own account, own API tokens. */
  | 'account'
  /** Read the organisation's structure: services, teams, staff. */
  | 'org.view'
  /** Change the organisation's structure, staff, users and role grants; import staff. */
  | 'org.manage'
  /** Read the child register (within scope). */
  | 'children.view'
  /** Import a case-management extract into the child register. */
  | 'children.import'
  /** Read the audit tracker and export it (within scope). */
  | 'audits.view'
  /** Allocate a case file audit: choose the child, the tool and the auditor. */
  | 'audits.allocate'
  /** Read the reports: grades, moderation and activity over a period (within scope). */
  | 'reports.view'
  /** Write the quarterly QA report's commentary and issue it (a frozen edition). */
  | 'reports.issue'
  /** Keep the organisation's themes list: the themes the report looks for in strengths and areas for improvement. */
  | 'themes.manage'
  /** Read the activity log. */
  | 'activity.view'
  /** Read the audit-tool library: each tool, its editions, the form and its file. */
  | 'tools.view'
  /** Load a new tool or a new edition of one into the library. */
  | 'tools.manage'
  /** Read the audit programme: the schedule of expectations, compliance with it (within scope) and the calendar. */
  | 'programme.view'
  /** Keep the schedule of expectations (a new version applying from a date) and the calendar's dated entries. */
  | 'programme.manage';

const EVERYONE: Permission[] = ['account', 'audits.view'];

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  practitioner: [...EVERYONE],
  auditor: [...EVERYONE, 'children.view', 'tools.view', 'reports.view'],
  // Moderators are the service managers: they read their service's compliance.
  moderator: [...EVERYONE, 'children.view', 'tools.view', 'reports.view', 'programme.view'],
  qa_coordinator: [...EVERYONE, 'children.view', 'children.import', 'org.view', 'tools.view', 'audits.allocate', 'reports.view', 'programme.view'],
  qa_lead: [...EVERYONE, 'children.view', 'children.import', 'org.view', 'tools.view', 'tools.manage', 'audits.allocate', 'reports.view', 'programme.view', 'programme.manage', 'reports.issue', 'themes.manage'],
  senior_leader: [...EVERYONE, 'children.view', 'org.view', 'tools.view', 'reports.view', 'programme.view'],
  administrator: [...EVERYONE, 'children.view', 'children.import', 'org.view', 'org.manage', 'activity.view', 'tools.view', 'tools.manage'],
};

export type Grant = { role: Role; scope: Scope; teamId: string | null; serviceId: string | null };

export type Principal = {
  userId: string;
  organisationId: string;
  staffId: string | null;
  email: string;
  displayName: string;
  grants: Grant[];
};

export function roles(principal: Principal): Role[] {
  return [...new Set(principal.grants.map((grant) => grant.role))];
}

export function can(principal: Principal | null | undefined, permission: Permission): boolean {
  if (!principal) return false;
  return principal.grants.some((grant) => ROLE_PERMISSIONS[grant.role].includes(permission));
}

/**
 * Which records a permission reaches. A practitioner sees the cases they hold; a manager
 * their team; a service manager their service; QA roles and senior leaders the organisation.
 * Everyone also sees the audits they carry out themselves (`staffId`).
 */
export type DataScope =
  | { kind: 'organisation'; organisationId: string }
  | { kind: 'limited'; organisationId: string; teamIds: string[]; serviceIds: string[]; staffId: string | null };

export function dataScope(principal: Principal, permission: Permission): DataScope {
  const grants = principal.grants.filter((grant) => ROLE_PERMISSIONS[grant.role].includes(permission));
  if (grants.some((grant) => grant.scope === 'organisation' && grant.role !== 'practitioner')) {
    return { kind: 'organisation', organisationId: principal.organisationId };
  }
  const teamIds = new Set<string>();
  const serviceIds = new Set<string>();
  for (const grant of grants) {
    // A practitioner's reach is their own caseload, whatever scope the grant was given.
    if (grant.role === 'practitioner') continue;
    if (grant.scope === 'team' && grant.teamId) teamIds.add(grant.teamId);
    if (grant.scope === 'service' && grant.serviceId) serviceIds.add(grant.serviceId);
  }
  return {
    kind: 'limited',
    organisationId: principal.organisationId,
    teamIds: [...teamIds],
    serviceIds: [...serviceIds],
    staffId: principal.staffId,
  };
}

/**
 * A scope without the person's own reach: the organisation, or their teams and services alone —
 * not the audits they reach elsewhere because they audited, moderated, hold the case, were sent
 * or alerted to them. What a report counts (see `reportScope`), and the tracker's "your services
 * and teams only" filter, so a report's figure and the audits its link lists stay the same.
 */
export function unitsAlone(scope: DataScope): DataScope {
  return scope.kind === 'limited' ? { ...scope, staffId: null } : scope;
}

/**
 * What a report reaches: QA roles and senior leaders the organisation; a service manager their
 * service, a team manager their team — alone, so a service's figures are the service's whoever
 * reads them. Built on the tracker's scope (`audits.view`), which a report's links open.
 */
export function reportScope(principal: Principal): DataScope {
  return unitsAlone(dataScope(principal, 'audits.view'));
}

/** The people around an action that decide who may verify it (staff ids; the user who marked it done). */
export type ActionParties = { ownerId: string | null; ownerLineManagerId: string | null; caseHolderId: string | null; doneById: string | null };

/**
 * Verifying an action is a check by someone with standing over it: the owner's line manager,
 * or the QA team (a QA coordinator or QA lead). Never the owner, never whoever marked it done,
 * and never the practitioner whose case was audited — the audit's subject does not sign off
 * what the audit asked of others, whatever else they can see.
 */
export function mayVerifyAction(principal: Principal, action: ActionParties): boolean {
  const { staffId } = principal;
  if (staffId && (staffId === action.ownerId || staffId === action.caseHolderId)) return false;
  if (principal.userId === action.doneById) return false;
  if (staffId && action.ownerLineManagerId === staffId) return true;
  return principal.grants.some((grant) => grant.role === 'qa_coordinator' || grant.role === 'qa_lead');
}

import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** Row types of every table. Column names are snake_case as in SQL. */
/** A timestamp with a database default: optional on insert. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
/** Dates without time are 'YYYY-MM-DD' strings on both drivers (see db/index.ts). */
type DateOnly = string;
/** jsonb columns: written as JSON text (JSON.stringify), read as values. */
type Json<T> = ColumnType<T, string | undefined, string>;

export type Role = 'practitioner' | 'auditor' | 'moderator' | 'qa_coordinator' | 'qa_lead' | 'senior_leader' | 'administrator';
export type Scope = 'team' | 'service' | 'organisation';
export type LegalStatus = 'early_help' | 'cin' | 'cp' | 'plo' | 'child_in_care' | 'care_leaver';
export type Gender = 'male' | 'female' | 'other' | 'unknown';
export type AuditStatus =
  | 'allocated'
  | 'in_progress'
  | 'in_moderation'
  | 'returned'
  | 'moderated'
  | 'distributed'
  | 'awaiting_feedback'
  | 'closed';
export type Grade = 'outstanding' | 'good' | 'requires_improvement' | 'inadequate';

export interface OrganisationsTable {
  id: Generated<string>;
  slug: string;
  name: string;
  settings: Json<Record<string, unknown>>;
  /** Whose bank holidays are not working days: a gov.uk division. */
  bank_holiday_division: ColumnType<BankHolidayDivision, BankHolidayDivision | undefined, BankHolidayDivision>;
  /** MFA for every local account, not only administrators and QA leads. */
  mfa_required_for_everyone: Generated<boolean>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export type BankHolidayDivision = 'england-and-wales' | 'scotland' | 'northern-ireland';

/** A gov.uk bank-holidays.json an administrator loaded; the newest replaces the bundled one. */
export interface BankHolidayFilesTable {
  id: Generated<string>;
  organisation_id: string;
  loaded_by: string | null;
  loaded_at: Timestamp;
  file_name: string;
  content: Json<unknown>;
  first_date: DateOnly;
  last_date: DateOnly;
}

export interface LocalitiesTable {
  id: Generated<string>;
  organisation_id: string;
  name: string;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface ServicesTable {
  id: Generated<string>;
  organisation_id: string;
  name: string;
  locality_id: string | null;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface TeamsTable {
  id: Generated<string>;
  organisation_id: string;
  service_id: string;
  locality_id: string | null;
  name: string;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface StaffTable {
  id: Generated<string>;
  organisation_id: string;
  staff_number: string | null;
  full_name: string;
  email: string | null;
  job_title: string;
  team_id: string | null;
  line_manager_id: string | null;
  start_date: DateOnly | null;
  leaving_date: DateOnly | null;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface UsersTable {
  id: Generated<string>;
  organisation_id: string;
  staff_id: string | null;
  email: string;
  display_name: string;
  password_hash: string;
  failed_sign_ins: Generated<number>;
  locked_until: NullableTimestamp;
  password_changed_at: Timestamp;
  disabled_at: NullableTimestamp;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
  /** The identity provider's issuer and subject, remembered once the person is matched. */
  oidc_issuer: string | null;
  oidc_subject: string | null;
  /** TOTP secret, sealed (platform/auth/sealed.ts); confirmed once a first code was accepted. */
  totp_secret: string | null;
  totp_confirmed_at: NullableTimestamp;
  /** The last TOTP time step accepted: a code is never accepted twice. */
  totp_last_step: number | null;
  /** E-mailed at each event of their audits, or told of them in the daily digest only. */
  notification_choice: Generated<NotificationChoice>;
}

export type NotificationChoice = 'each_event' | 'daily_digest';

/** An event for someone who reads them in their daily digest, waiting for the next digest. */
export interface NotificationDigestItemsTable {
  id: Generated<string>;
  organisation_id: string;
  user_id: string;
  audit_id: string | null;
  subject: string;
  text_body: string;
  dedupe_key: string;
  created_at: Timestamp;
  /** The day a digest took it; null while it waits. */
  digested_on: DateOnly | null;
}

export interface MfaRecoveryCodesTable {
  id: Generated<string>;
  organisation_id: string;
  user_id: string;
  code_hash: string;
  used_at: NullableTimestamp;
  created_at: CreatedAt;
}

export interface OidcSignInsTable {
  state_hash: string;
  code_verifier: string;
  nonce: string;
  next_path: string;
  expires_at: Date | string;
  created_at: CreatedAt;
}

export interface RoleGrantsTable {
  id: Generated<string>;
  organisation_id: string;
  user_id: string;
  role: Role;
  scope: Scope;
  team_id: string | null;
  service_id: string | null;
  created_at: CreatedAt;
  /** The identity provider's group that granted this role (OIDC_GROUP_ROLES); null: an administrator did. */
  granted_by_group: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface SessionsTable {
  id: string;
  organisation_id: string;
  user_id: string;
  created_at: CreatedAt;
  last_seen_at: Timestamp;
  expires_at: Timestamp;
  ip_address: string | null;
  user_agent: string | null;
  /** What a person sees and ends a session by; the id (the token's hash) never leaves the server. */
  public_id: Generated<string>;
  sign_in_method: ColumnType<'password' | 'oidc', 'password' | 'oidc' | undefined, never>;
  /** Signed in with a password, waiting for the MFA code: opens nothing yet. */
  awaiting_mfa: Generated<boolean>;
  mfa_failures: Generated<number>;
  mfa_passed_at: NullableTimestamp;
}

export interface ApiTokensTable {
  id: Generated<string>;
  organisation_id: string;
  user_id: string;
  name: string;
  token_hash: string;
  token_prefix: string;
  created_at: CreatedAt;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  expires_at: ColumnType<Date, Date | string, Date | string>;
}

/** Sign-in attempts per e-mail and address in the current window: the rate limit, shared by every app server. */
export interface SignInThrottleTable {
  email_key: string;
  ip_address: string;
  window_started_at: ColumnType<Date, Date | string, Date | string>;
  attempts: number;
}

export interface ChildrenTable {
  id: Generated<string>;
  organisation_id: string;
  external_id: string;
  initials: string;
  date_of_birth: DateOnly | null;
  gender: Gender | null;
  ethnicity: string | null;
  legal_status: LegalStatus;
  allocated_worker_id: string | null;
  allocated_team_id: string | null;
  open_date: DateOnly | null;
  close_date: DateOnly | null;
  referral_factors: Json<string[]>;
  last_import_id: string | null;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface ChildImportsTable {
  id: Generated<string>;
  organisation_id: string;
  uploaded_by: string | null;
  source: 'page' | 'api' | 'command';
  filename: string;
  format: 'csv' | 'xlsx';
  full_extract: Generated<boolean>;
  status: ChildImportStatus;
  rows_read: Generated<number>;
  error_count: Generated<number>;
  created_count: Generated<number>;
  updated_count: Generated<number>;
  closed_count: Generated<number>;
  /** Open children in the register when the preview was made. */
  open_count: Generated<number>;
  unchanged_count: Generated<number>;
  /** The first children the import closes, as the preview listed them. */
  first_closures: Json<{ externalId: string; initials: string | null }[]>;
  /** The register the preview was computed against; a confirmation against another is refused. */
  register_fingerprint: string | null;
  close_date: DateOnly | null;
  sheets: Json<{ read: { name: string; list: string | null; rows: number }[]; skipped: { name: string; reason: string }[] }>;
  /** Children by Annex A list, and how many were on more than one. */
  list_counts: Json<Record<string, number>>;
  message: string | null;
  created_at: CreatedAt;
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
  confirmed_by: string | null;
  reopened_at: NullableTimestamp;
  reopened_by: string | null;
  reopened_count: Generated<number>;
}

export type ChildImportStatus = 'queued' | 'running' | 'staged' | 'succeeded' | 'failed' | 'discarded';

export interface ChildImportClosuresTable {
  import_id: string;
  child_id: string;
  organisation_id: string;
}

/** Which import created, updated or closed which child: the history behind the import's one activity entry. */
export interface ChildImportChangesTable {
  organisation_id: string;
  import_id: string;
  child_id: string;
  change: 'created' | 'updated' | 'closed';
}

export interface ChildImportErrorsTable {
  import_id: string;
  organisation_id: string;
  row_number: number;
  column_name: string;
  value: Generated<string>;
  reason: string;
  sheet: string | null;
}

export interface ChildImportRowsTable {
  import_id: string;
  sheet: Generated<string>;
  source_list: string | null;
  row_number: number;
  external_id: string;
  initials: string | null;
  date_of_birth: DateOnly | null;
  gender: Gender | null;
  ethnicity: string | null;
  legal_status: LegalStatus;
  allocated_worker_id: string | null;
  allocated_team_id: string | null;
  open_date: DateOnly | null;
  close_date: DateOnly | null;
  referral_factors: Json<string[]>;
  /** The fields the row's sheet had no column for: a bit per field of KEPT_WHEN_ABSENT (children/extract.ts). */
  absent_fields: Generated<number>;
}

export interface AuditToolsTable {
  id: Generated<string>;
  organisation_id: string;
  key: string;
  name: string;
  description: Generated<string>;
  created_at: CreatedAt;
}

export interface AuditToolEditionsTable {
  id: Generated<string>;
  organisation_id: string;
  tool_id: string;
  edition: string;
  definition: Json<unknown>;
  source: string;
  schema_version: Generated<number>;
  status: Generated<'published' | 'archived'>;
  /** The tool file as loaded, byte for byte: what the edition downloads back as. */
  source_file: Uint8Array | null;
  file_name: string | null;
  published_at: Timestamp;
  created_by: string | null;
  created_at: CreatedAt;
}

export interface AuditsTable {
  id: Generated<string>;
  organisation_id: string;
  reference: Generated<number>;
  child_id: string;
  tool_edition_id: string;
  auditor_id: string;
  case_holder_id: string | null;
  moderator_id: string | null;
  team_id: string | null;
  service_id: string | null;
  status: AuditStatus;
  allocated_on: DateOnly;
  due_on: DateOnly;
  submitted_at: NullableTimestamp;
  moderated_at: NullableTimestamp;
  closed_at: NullableTimestamp;
  auditor_grade: Grade | null;
  final_grade: Grade | null;
  /** The moderator's development comments to the auditor. */
  moderator_comments: ColumnType<string | null, string | null | undefined, string | null>;
  answers: Json<Record<string, unknown>>;
  allocated_by: string | null;
  desktop_only: Generated<boolean>;
  re_audit_of: string | null;
  completed_sections: Json<string[]>;
  /** The case holder's answers to the tool's practitioner feedback questions, and who gave them when. */
  practitioner_feedback: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  feedback_by: ColumnType<string | null, string | null | undefined, string | null>;
  feedback_at: NullableTimestamp;
  /** The QA coordinator's comments on closing the audit. */
  closing_comments: ColumnType<string | null, string | null | undefined, string | null>;
  /** When the current stage of the lifecycle started, and its deadline (none once closed). */
  stage_started_on: ColumnType<DateOnly | null, DateOnly | null | undefined, DateOnly | null>;
  stage_due_on: ColumnType<DateOnly | null, DateOnly | null | undefined, DateOnly | null>;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface ServiceDefaultToolsTable {
  organisation_id: string;
  service_id: string;
  tool_id: string;
}

export interface AuditJudgementsTable {
  audit_id: string;
  organisation_id: string;
  section_key: string;
  stage: 'auditor' | 'moderator' | 're_audit';
  grade: string;
  reason: string | null;
  created_at: CreatedAt;
}

/** One change of an audit's status: append-only, the database refuses updates and deletes. */
export interface AuditTransitionsTable {
  id: Generated<number>;
  organisation_id: string;
  audit_id: string;
  /** Null for the first row, the allocation. */
  from_status: AuditStatus | null;
  to_status: AuditStatus;
  transition: string;
  actor_user_id: string | null;
  actor_label: string;
  reason: string | null;
  at: Timestamp;
}

/** A council's timescales; a council without a row has Bristol's (the column defaults). */
export interface OrganisationTimescalesTable {
  organisation_id: string;
  auditor_days: Generated<number>;
  moderation_days: Generated<number>;
  distribution_days: Generated<number>;
  feedback_days: Generated<number>;
  re_audit_weeks: Generated<number>;
  case_direction_review_months: Generated<number>;
  action_verification_months: Generated<number>;
  version: Generated<number>;
  updated_at: Timestamp;
}

export interface ActivityLogTable {
  id: Generated<number>;
  organisation_id: string | null;
  user_id: string | null;
  actor: string;
  action: string;
  record_type: string;
  record_id: string | null;
  child_id: string | null;
  summary: Generated<string>;
  ip_address: string | null;
  at: Timestamp;
}

export type EmailStatus = 'queued' | 'sending' | 'sent' | 'failed';

export interface EmailOutboxTable {
  id: Generated<string>;
  organisation_id: string;
  to_address: string;
  subject: string;
  text_body: string;
  html_body: string | null;
  dedupe_key: string | null;
  status: Generated<EmailStatus>;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  last_error: string | null;
  created_at: CreatedAt;
  sent_at: NullableTimestamp;
  locked_until: NullableTimestamp;
}

export type RecipientRole = 'team_manager' | 'case_holder' | 'cp_chair' | 'iro' | 'other';

/** Someone a moderated audit was sent to: a member of staff, or a named person by e-mail. */
export interface AuditRecipientsTable {
  id: Generated<string>;
  organisation_id: string;
  audit_id: string;
  staff_id: string | null;
  email: string | null;
  name: string;
  role: RecipientRole;
  sent_by: string | null;
  sent_at: CreatedAt;
  /** Sent to someone who cannot open Assure: the QA coordinator sends them a copy securely. */
  needs_secure_copy: Generated<boolean>;
  secure_copy_sent_at: NullableTimestamp;
  secure_copy_sent_by: string | null;
}

export type ActionStatus = 'open' | 'done' | 'verified';
/**
 * Where an action was agreed: an audit's action plan, a case direction on an Inadequate audit,
 * or the moderator's recommendation at moderation (Lambeth's second line).
 */
export type ActionSource = 'action_plan' | 'case_direction' | 'moderation';

/** An agreed action from an audit's action plan (overdue and verification due are queries). */
export interface ActionsTable {
  id: Generated<string>;
  organisation_id: string;
  audit_id: string;
  child_id: string;
  source: ColumnType<ActionSource, ActionSource | undefined, ActionSource>;
  answer_key: string;
  row_index: number;
  text: string;
  owner_id: string | null;
  due_on: ColumnType<DateOnly | null, DateOnly | null | undefined, DateOnly | null>;
  status: ColumnType<ActionStatus, ActionStatus | undefined, ActionStatus>;
  done_at: NullableTimestamp;
  evidence: string | null;
  done_by: string | null;
  verified_at: NullableTimestamp;
  verified_by: string | null;
  verification_note: string | null;
  version: Generated<number>;
  created_at: CreatedAt;
}

/** Why someone is alerted to an audit: it was submitted Inadequate, or moderated Inadequate. */
export type AuditAlertKind = 'inadequate_submitted' | 'inadequate_moderated' | 'requires_improvement_submitted' | 'requires_improvement_moderated';

/** An audit someone must act on (submitted or moderated Inadequate), until they acknowledge it. */
export interface AuditAlertsTable {
  id: Generated<string>;
  organisation_id: string;
  audit_id: string;
  staff_id: string;
  kind: AuditAlertKind;
  created_at: CreatedAt;
  acknowledged_at: NullableTimestamp;
}

/** The service manager's direction on a case whose audit was moderated Inadequate. */
export interface CaseDirectionsTable {
  id: Generated<string>;
  organisation_id: string;
  audit_id: string;
  child_id: string;
  direction: string;
  directed_by: string | null;
  directed_by_label: string;
  directed_on: DateOnly;
  review_due_on: DateOnly;
  created_at: CreatedAt;
  reviewed_at: NullableTimestamp;
  reviewed_by: string | null;
  review_notes: string | null;
}

/** One organisation's daily reminder digests: the row is the claim, so each day runs once. */
export interface ReminderRunsTable {
  organisation_id: string;
  run_date: DateOnly;
  started_at: Timestamp;
  finished_at: NullableTimestamp;
  digests: number | null;
}

/** A page of the audit form as typed when it could not be saved (see the migration). */
export interface AuditFormDraftsTable {
  audit_id: string;
  organisation_id: string;
  page: string;
  fields: Json<Record<string, unknown>>;
  saved_by: string | null;
  created_at: Generated<Timestamp>;
  updated_at: Generated<Timestamp>;
}

/** One version of an organisation's schedule of expectations; applies from its date until the next. */
export interface ProgrammeScheduleVersionsTable {
  id: Generated<string>;
  organisation_id: string;
  applies_from: DateOnly;
  note: Generated<string>;
  created_by: string | null;
  version: Generated<number>;
  created_at: CreatedAt;
}

export type ProgrammeActivity = 'case_audit' | 'observation' | 'thematic_audit' | 'supervision_audit' | 'peer_audit' | 'visit' | 'other';
export type ProgrammePer = 'auditor' | 'team' | 'service' | 'open_cases_percent';
export type CaseSelection = 'random' | 'auditor' | 'other';

/** One row of a schedule version: what is expected of a service (or every service). */
export interface ProgrammeScheduleRowsTable {
  id: Generated<string>;
  organisation_id: string;
  schedule_version_id: string;
  position: number;
  service_id: string | null;
  activity: ProgrammeActivity;
  activity_label: string;
  tool_id: string | null;
  form_label: Generated<string>;
  /** A count per auditor, team or service in each period, or a whole percentage of open cases. */
  quantity: number;
  per: ProgrammePer;
  period_months: number;
  auditor_roles: Json<Role[]>;
  auditor_label: Generated<string>;
  moderator_role: Role | null;
  moderation_label: Generated<string>;
  selected_by: CaseSelection;
  selection_label: Generated<string>;
  sampling: Json<Record<string, unknown>>;
  created_at: CreatedAt;
}

/** The QA lead's draft commentary on a report (per period and filters), saved with a version. */
export interface ReportCommentariesTable {
  organisation_id: string;
  report_key: string;
  commentary: Json<Record<string, string>>;
  version: Generated<number>;
  updated_by: string | null;
  updated_at: Timestamp;
}

/** A quarterly QA report as issued: frozen content (tables, charts, commentary), one row per edition. */
export interface IssuedReportsTable {
  id: Generated<string>;
  organisation_id: string;
  report_key: string;
  edition: number;
  period_label: string;
  period_from: DateOnly;
  period_to: DateOnly;
  service_id: string | null;
  team_id: string | null;
  tool_id: string | null;
  content: Json<unknown>;
  issued_by: string;
  issued_by_name: string;
  issued_at: Timestamp;
}

export type CalendarEntryKind = 'moderation_panel' | 'practice_week' | 'other';

/** A dated entry of the programme's calendar (a moderation panel, a practice week). */
export interface ProgrammeCalendarEntriesTable {
  id: Generated<string>;
  organisation_id: string;
  kind: CalendarEntryKind;
  title: string;
  starts_on: DateOnly;
  ends_on: DateOnly;
  note: Generated<string>;
  created_by: string | null;
  created_at: CreatedAt;
}

/** A theme looked for in the strengths and areas for improvement: its name and the phrases that mark it. */
export interface ThemesTable {
  id: Generated<string>;
  organisation_id: string;
  name: string;
  phrases: Json<string[]>;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

/** A sampling round: the draw of children for the schedule rows chosen at random, and what it read. */
export interface ProgrammeRoundsTable {
  id: Generated<string>;
  organisation_id: string;
  period_from: DateOnly;
  period_to: DateOnly;
  status: 'proposed' | 'confirmed';
  as_of: DateOnly;
  seed: number;
  schedule_version_id: string | null;
  draw_rows: Json<unknown>;
  snapshot: Json<unknown>;
  /** The pool's children, packed and deflated (rounds proposed before it keep them in `snapshot`). */
  snapshot_children: Uint8Array | null;
  /** The version of the draw the round was proposed with, so that its replay draws alike (see sampling.ts). */
  draw_version: Generated<number>;
  proposal: Json<unknown>;
  proposed_by: string;
  proposed_at: Timestamp;
  confirmed_at: NullableTimestamp;
  confirmed_by: string | null;
  version: Generated<number>;
  created_at: CreatedAt;
}

/** A replacement of a proposed child or auditor in a round, with its reason. */
export interface ProgrammeRoundReplacementsTable {
  id: Generated<string>;
  organisation_id: string;
  round_id: string;
  sequence: number;
  kind: 'child' | 'auditor';
  unit_key: string;
  child_id: string;
  new_child_id: string | null;
  auditor_id: string | null;
  new_auditor_id: string | null;
  hand_picked: Generated<boolean>;
  draw_seed: number | null;
  reason: string;
  made_by: string;
  made_at: Timestamp;
}

/** An audit a confirmed round allocated. */
export interface ProgrammeRoundAuditsTable {
  round_id: string;
  audit_id: string;
  organisation_id: string;
  schedule_row_id: string | null;
}

export interface Database {
  report_commentaries: ReportCommentariesTable;
  issued_reports: IssuedReportsTable;
  themes: ThemesTable;
  audit_form_drafts: AuditFormDraftsTable;
  organisations: OrganisationsTable;
  localities: LocalitiesTable;
  services: ServicesTable;
  teams: TeamsTable;
  staff: StaffTable;
  users: UsersTable;
  role_grants: RoleGrantsTable;
  sessions: SessionsTable;
  mfa_recovery_codes: MfaRecoveryCodesTable;
  oidc_sign_ins: OidcSignInsTable;
  api_tokens: ApiTokensTable;
  sign_in_throttle: SignInThrottleTable;
  children: ChildrenTable;
  child_imports: ChildImportsTable;
  child_import_errors: ChildImportErrorsTable;
  child_import_rows: ChildImportRowsTable;
  child_import_closures: ChildImportClosuresTable;
  child_import_changes: ChildImportChangesTable;
  audit_tools: AuditToolsTable;
  service_default_tools: ServiceDefaultToolsTable;
  audit_tool_editions: AuditToolEditionsTable;
  audits: AuditsTable;
  audit_judgements: AuditJudgementsTable;
  activity_log: ActivityLogTable;
  email_outbox: EmailOutboxTable;
  bank_holiday_files: BankHolidayFilesTable;
  audit_transitions: AuditTransitionsTable;
  organisation_timescales: OrganisationTimescalesTable;
  actions: ActionsTable;
  reminder_runs: ReminderRunsTable;
  audit_recipients: AuditRecipientsTable;
  audit_alerts: AuditAlertsTable;
  case_directions: CaseDirectionsTable;
  notification_digest_items: NotificationDigestItemsTable;
  programme_schedule_versions: ProgrammeScheduleVersionsTable;
  programme_schedule_rows: ProgrammeScheduleRowsTable;
  programme_calendar_entries: ProgrammeCalendarEntriesTable;
  programme_rounds: ProgrammeRoundsTable;
  programme_round_replacements: ProgrammeRoundReplacementsTable;
  programme_round_audits: ProgrammeRoundAuditsTable;
}

export type Organisation = Selectable<OrganisationsTable>;
export type Staff = Selectable<StaffTable>;
export type NewStaff = Insertable<StaffTable>;
export type StaffUpdate = Updateable<StaffTable>;
export type User = Selectable<UsersTable>;
export type RoleGrant = Selectable<RoleGrantsTable>;
export type Child = Selectable<ChildrenTable>;
export type Audit = Selectable<AuditsTable>;
export type OutboxEmail = Selectable<EmailOutboxTable>;

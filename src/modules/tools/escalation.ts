/**
 * What a tool's grades set off, read from its definition: who is alerted at which grade, whether
 * an audit moderated Inadequate is re-audited (and when), and whether the service manager records
 * a case direction. The escalation belongs to the tool: each council's form says its own, and
 * Bristol's process is the default only for a tool that says `default: bristol`.
 *
 * A stored edition is read as the format of its own version read it, so an audit keeps the
 * process it was started under: a version-1 definition (the first format) was read as Bristol's
 * process, with `inadequateAlerts` naming who its Inadequate alerts go to.
 */
import { escalationSchema, type AlertGrade, type AlertRecipient, type Escalation } from './schema.ts';

export type ToolAlert = { grade: AlertGrade; notify: readonly AlertRecipient[]; instruction: string | null };

export type ToolEscalation = {
  alerts: readonly ToolAlert[];
  /** A re-audit of an audit moderated Inadequate; afterWeeks null: the council's re-audit timescale. */
  reAudit: { afterWeeks: number | null } | null;
  /** The service manager records a case direction when the audit is moderated Inadequate. */
  caseDirection: boolean;
};

/** Bristol's QAF (PROCESS.md §4.3–4.7): the service manager alerted on Inadequate, re-audit, case direction. */
export const BRISTOL_ESCALATION: ToolEscalation = {
  alerts: [{ grade: 'inadequate', notify: ['service_manager'], instruction: null }],
  reAudit: { afterWeeks: null },
  caseDirection: true,
};

export const NO_ESCALATION: ToolEscalation = { alerts: [], reAudit: null, caseDirection: false };

/** The escalation of a tool definition (a checked tool, or one stored as JSON). */
export function toolEscalation(definition: unknown): ToolEscalation {
  const fields = definition !== null && typeof definition === 'object' ? (definition as Record<string, unknown>) : {};
  const parsed = escalationSchema.safeParse(fields.escalation ?? {});
  const own: Escalation = parsed.success ? parsed.data : {};
  const firstFormat = fields.schemaVersion === undefined || fields.schemaVersion === 1;
  const saysItsOwn = own.default !== undefined || own.alerts !== undefined || own.reAudit !== undefined || own.caseDirection !== undefined;
  const base = own.default === 'bristol' || (firstFormat && !saysItsOwn) ? BRISTOL_ESCALATION : NO_ESCALATION;
  const alerts: ToolAlert[] = own.alerts
    ? own.alerts.flatMap((alert) => alert.grades.map((grade) => ({ grade, notify: alert.notify, instruction: alert.instruction ?? null })))
    : base.alerts.map((alert) => (own.inadequateAlerts && alert.grade === 'inadequate' ? { ...alert, notify: own.inadequateAlerts } : alert));
  if (!own.alerts && own.inadequateAlerts && !alerts.some((alert) => alert.grade === 'inadequate')) {
    alerts.push({ grade: 'inadequate', notify: own.inadequateAlerts, instruction: null });
  }
  return {
    alerts,
    reAudit: own.reAudit === undefined ? base.reAudit : own.reAudit === false ? null : { afterWeeks: own.reAudit.afterWeeks ?? null },
    caseDirection: own.caseDirection ?? base.caseDirection,
  };
}

/** Who a grade alerts, each kind once, in the tool's order; with the form's instruction, if it gives one. */
export function alertsAtGrade(escalation: ToolEscalation, grade: string | null): { notify: AlertRecipient[]; instruction: string | null } {
  const matching = escalation.alerts.filter((alert) => alert.grade === grade);
  const notify = [...new Set(matching.flatMap((alert) => alert.notify))];
  return { notify, instruction: matching.find((alert) => alert.instruction)?.instruction ?? null };
}

/**
 * The tool as its re-audit's form reads it. From format version 2 a tool's `reAudit` section
 * ("Actions reviewed and improvement achieved", "Re-audit graded as") is asked in the re-audit,
 * of the second auditor, and nowhere else; its own appliesWhen is not read there, since the
 * re-audit exists only because the first audit was moderated Inadequate. A version-1 tool's
 * re-audits keep the form they always had.
 */
export function reAuditForm<T extends { schemaVersion: number; sections: readonly { kind: string; appliesWhen?: string | undefined }[] }>(tool: T): T {
  if (tool.schemaVersion < 2 || !tool.sections.some((section) => section.kind === 'reAudit')) return tool;
  // A kept edition (tools/editions.ts) gives the same re-audit form each time, and with it what
  // judgements.ts works out once per tool object.
  const made = reAuditForms.get(tool);
  if (made) return made as T;
  const form = {
    ...tool,
    sections: tool.sections.map((section) => {
      if (section.kind !== 'reAudit') return section;
      const { appliesWhen: _ignored, ...rest } = section;
      return Object.freeze({ ...rest, kind: 'standard' });
    }),
  };
  // Shared like the edition it comes from: frozen like it.
  Object.freeze(form.sections);
  reAuditForms.set(tool, Object.freeze(form));
  return form;
}

const reAuditForms = new WeakMap<object, object>();

/**
 * How far two graders agree beyond chance: Cohen's weighted kappa with quadratic weights, for
 * grades on an ordered scale (Outstanding … Inadequate). A moderator who moves Good to
 * Requires improvement disagrees less than one who moves Outstanding to Inadequate, and the
 * quadratic weights say by how much. The standard error is the large-sample one of Fleiss,
 * Cohen and Everitt (1969), for a 95% confidence interval.
 */
export type Kappa = {
  /** Audits behind the figure. */
  n: number;
  /** Share of audits where both gave the same grade. */
  agreement: number;
  kappa: number;
  low: number;
  high: number;
};

/** `matrix[i][j]`: audits the first grader put in category i and the second in j (both in the scale's order). */
export function weightedKappa(matrix: readonly (readonly number[])[]): Kappa | null {
  const k = matrix.length;
  const n = matrix.reduce((sum, row) => sum + row.reduce((a, b) => a + b, 0), 0);
  if (k < 2 || n === 0) return null;
  const p = matrix.map((row) => row.map((count) => count / n));
  const rows = p.map((row) => row.reduce((a, b) => a + b, 0));
  const cols = p[0]!.map((_, j) => p.reduce((sum, row) => sum + row[j]!, 0));
  const w = (i: number, j: number) => 1 - (i - j) ** 2 / (k - 1) ** 2;
  let observed = 0;
  let expected = 0;
  let agreement = 0;
  for (let i = 0; i < k; i++) {
    agreement += p[i]![i]!;
    for (let j = 0; j < k; j++) {
      observed += w(i, j) * p[i]![j]!;
      expected += w(i, j) * rows[i]! * cols[j]!;
    }
  }
  // Every audit in one and the same category for both graders: chance explains it all.
  if (1 - expected < 1e-12) return null;
  const kappa = (observed - expected) / (1 - expected);
  const rowMean = rows.map((_, i) => cols.reduce((sum, col, j) => sum + col * w(i, j), 0));
  const colMean = cols.map((_, j) => rows.reduce((sum, row, i) => sum + row * w(i, j), 0));
  let spread = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) spread += p[i]![j]! * (w(i, j) - (rowMean[i]! + colMean[j]!) * (1 - kappa)) ** 2;
  }
  const variance = Math.max(0, (spread - (kappa - expected * (1 - kappa)) ** 2) / (n * (1 - expected) ** 2));
  const margin = 1.959964 * Math.sqrt(variance);
  return { n, agreement, kappa, low: Math.max(-1, kappa - margin), high: Math.min(1, kappa + margin) };
}

/** Fewer audits than this and a rate or kappa is flagged as resting on small numbers. */
export const SMALL_NUMBERS = 10;

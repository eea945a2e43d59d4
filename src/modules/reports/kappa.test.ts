import { describe, expect, it } from 'vitest';
import { weightedKappa } from './kappa.ts';

describe('weighted kappa (quadratic weights)', () => {
  it('is 1 when the moderator keeps every grade, and undefined when every audit has one grade', () => {
    expect(weightedKappa([[2, 0, 0, 0], [0, 3, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])?.kappa).toBeCloseTo(1, 10);
    expect(weightedKappa([[0, 0, 0, 0], [0, 5, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])).toBeNull();
    expect(weightedKappa([[0, 0], [0, 0]])).toBeNull();
  });

  it('agrees with the disagreement-weight form computed by hand, with a confidence interval near the bootstrap one', () => {
    const matrix = [
      [3, 2, 0, 0],
      [1, 10, 4, 0],
      [0, 3, 8, 1],
      [0, 0, 2, 2],
    ];
    // 1 − Σ(i−j)²p_ij / Σ(i−j)²p_i.p_.j over these 36 audits = 1 − 0.4444 / 1.6975 = 0.73826.
    const result = weightedKappa(matrix)!;
    expect(result.n).toBe(36);
    expect(result.kappa).toBeCloseTo(0.738255, 5);
    expect(result.agreement).toBeCloseTo(23 / 36, 10);
    // A bootstrap of 20,000 resamples gives a standard error of 0.079; the asymptotic one is 0.073.
    const standardError = (result.high - result.low) / (2 * 1.959964);
    expect(standardError).toBeGreaterThan(0.06);
    expect(standardError).toBeLessThan(0.09);
  });

  it('is negative when the moderator systematically reverses the auditor', () => {
    expect(weightedKappa([[0, 0, 0, 3], [0, 0, 3, 0], [0, 3, 0, 0], [3, 0, 0, 0]])!.kappa).toBeLessThan(-0.9);
  });
});

import { describe, expect, it } from 'vitest';
import { candidatePhrases, phraseLemmas, phraseProblems, proposePhrases, readSentences, sentenceHas, sentencesMarking, themeMatcher } from './themes-text.ts';

const marks = (text: string, phrase: string) => readSentences(text).some((sentence) => sentenceHas(sentence, phraseLemmas(phrase)));

describe('matching a theme phrase on lemmas', () => {
  it('finds a phrase in another form of its words, with a few words between', () => {
    expect(marks('The chronologies were out of date.', 'chronology out of date')).toBe(true);
    expect(marks('The chronology has not been updated since the review.', 'chronology not updated')).toBe(true);
    expect(marks("The father's views are not recorded.", "father's views not recorded")).toBe(true);
    expect(marks('The plan didn’t say who does what by when.', 'who does what by when')).toBe(true);
    expect(marks('Multi-agency working was strong.', 'multi-agency working')).toBe(true);
    expect(marks('There was no chronology on the file.', 'no chronology')).toBe(true);
  });

  it('does not find what the text does not say', () => {
    // The opposite, the words out of order, too far apart, or across two sentences.
    expect(marks('The chronology is up to date.', 'chronology out of date')).toBe(false);
    expect(marks('The chronology is up to date.', 'no chronology')).toBe(false);
    expect(marks('Supervision is recorded every month.', 'supervision not recorded')).toBe(false);
    expect(marks('Out of date information was removed from the chronology.', 'chronology out of date')).toBe(false);
    expect(marks('The chronology, which the family helped to write over many months, is out of date.', 'chronology out of date')).toBe(false);
    expect(marks('The chronology is complete. Contacts are out of date.', 'chronology out of date')).toBe(false);
  });

  it('returns the sentences that mark a theme, for the evidence page', () => {
    const theme = themeMatcher({ id: 't', name: 'Chronology', phrases: ['chronology out of date', 'chronology not updated'] });
    const found = sentencesMarking(readSentences('Visits are regular. The chronology was not updated. The plan is clear.'), theme);
    expect(found.map((sentence) => sentence.text)).toEqual(['The chronology was not updated.']);
  });
});

describe('refusing phrases that would mark nothing or everything', () => {
  it('accepts the phrases of a real theme', () => {
    expect(phraseProblems(['chronology out of date', 'drift', 'voice of the child'])).toEqual([]);
  });

  it('refuses no phrase, common words only, too short, too long, and a word in every audit', () => {
    expect(phraseProblems([])).toEqual(['Enter at least one word or phrase that marks the theme, one on each line']);
    const problems = phraseProblems(['...', 'the of', 'ab', 'one two three four five six seven eight nine', 'child', 'plans']);
    expect(problems).toEqual([
      'Line 1, “...”: has no words: enter words that mark the theme',
      'Line 2, “the of”: has only common words, which are in almost every sentence: add a word that says what the theme is about',
      'Line 3, “ab”: is too short: use a word of 4 letters or more',
      'Line 4, “one two three four five six seven eight nine”: is too long to be found in a sentence: use 8 words or fewer',
      'Line 5, “child”: “child” alone is in almost every audit: add the words that make it a theme, such as “child not recorded”',
      'Line 6, “plans”: “plan” alone is in almost every audit: add the words that make it a theme, such as “plan not recorded”',
    ]);
  });
});

describe('proposing themes', () => {
  const phrasesOf = (text: string) => candidatePhrases(readSentences(text));

  it('reads noun phrases by lemma', () => {
    expect([...phrasesOf('Contingency plans were missing. The family network meeting helped.')]).toEqual(expect.arrayContaining(['contingency plan', 'family network', 'network meeting', 'family network meeting']));
  });

  it('ranks first the phrases used in more audits now than before, and leaves out known themes', () => {
    const now = [
      'No contingency plan is recorded.',
      'The contingency plan is missing.',
      'There is no contingency plan. The family network helps.',
      'The family network is strong.',
      'Housing need is not assessed.',
    ].map(phrasesOf);
    const before = ['The family network is strong.', 'The family network helps.', 'The family network is good.', 'Visits are regular.'].map(phrasesOf);
    const proposals = proposePhrases(now, before, { known: [] });
    expect(proposals[0]).toMatchObject({ phrase: 'contingency plan', audits: 3, earlierAudits: 0 });
    // The family network is as common before as now: not distinctive. Housing need is in one audit only.
    expect(proposals.map((proposal) => proposal.phrase)).not.toContain('family network');
    expect(proposals.map((proposal) => proposal.phrase)).not.toContain('housing need');
    expect(proposePhrases(now, before, { known: [phraseLemmas('contingency plan')] }).map((proposal) => proposal.phrase)).not.toContain('contingency plan');
  });

  it('proposes nothing from no audits, and the most used phrases when there is nothing earlier', () => {
    expect(proposePhrases([], [], { known: [] })).toEqual([]);
    const now = ['No contingency plan.', 'The contingency plan is missing.', 'Housing need is high.'].map(phrasesOf);
    expect(proposePhrases(now, [], { known: [] }).map((proposal) => proposal.phrase)).toEqual(['contingency plan']);
  });
});

import { createRequire } from 'node:module';
import winkNLP from 'wink-nlp';
import { memoised } from './memo.ts';

/**
 * Reading the strengths and areas for improvement: wink-nlp (with its small English model,
 * shipped as an npm package and run in this process — no text leaves the server) splits the
 * text into sentences and tokens, tags each token's part of speech and gives its lemma, so a
 * theme's phrase "chronology out of date" is found in "the chronologies were out of date".
 */

type Nlp = ReturnType<typeof winkNLP>;
let loaded: Nlp | undefined;

/**
 * The model is loaded at first use, not at start-up: it is a large module that every process
 * would otherwise parse, though only the reports' themes read text. Only what matching needs:
 * sentences and parts of speech (lemmas follow from them); no entities or sentiment.
 */
function englishModel(): Nlp {
  loaded ??= winkNLP(createRequire(import.meta.url)('wink-eng-lite-web-model'), ['sbd', 'pos']);
  return loaded;
}

/**
 * A word of a sentence as the matcher sees it: its lemma and, where the text has it in another
 * form, that form too ("working" is the noun in "multi-agency working" and the verb's lemma
 * "work" elsewhere); whether it is a stop word; its part of speech.
 */
export type Word = { lemma: string; forms: readonly string[]; stop: boolean; pos: string };
export type Sentence = { text: string; words: Word[] };

/** Parts of speech that carry no meaning for a theme: articles and punctuation. */
const SKIPPED = new Set(['DET', 'PUNCT', 'SYM', 'SPACE']);

const KEPT = new Set(["'s", 'no', 'neither', 'nor']);

/** Words the model leaves as written that mean the same to a reader. */
const SAME_AS: Record<string, string> = { "n't": 'not', never: 'not', no: 'not', 'multi-agency': 'multiagency', multiagency: 'multiagency', 'multi agency': 'multiagency' };

const same = (text: string) => SAME_AS[text] ?? text;

/** The text's sentences, each with its words (lemmas), articles and punctuation left out. */
export function readSentences(text: string): Sentence[] {
  const nlp = englishModel();
  const its = nlp.its;
  const doc = nlp.readDoc(text);
  // Whole-document arrays: reading token by token is several times slower.
  const tokens = doc.tokens();
  // The model's lemma helper is typed for its add-on; it reads a token as the others do.
  const lemmas = tokens.out(its.lemma as unknown as typeof its.normal) as string[];
  const normals = tokens.out(its.normal) as string[];
  const pos = tokens.out(its.pos) as string[];
  const types = tokens.out(its.type) as string[];
  const stops = tokens.out(its.stopWordFlag) as unknown as boolean[];
  const sentences: Sentence[] = [];
  const spans = doc.sentences().out(its.span) as unknown as [number, number][];
  const texts = doc.sentences().out() as string[];
  spans.forEach(([first, last], index) => {
    const words: Word[] = [];
    for (let at = first; at <= last; at += 1) {
      // The possessive "'s" stays ("father's views"), and so does the determiner "no": "no chronology" is not "chronology".
      if (types[at] === 'punctuation' || (SKIPPED.has(pos[at]!) && !KEPT.has(normals[at]!))) continue;
      const lemma = same(lemmas[at]!.toLowerCase());
      const normal = same(normals[at]!);
      words.push({ lemma, forms: normal === lemma ? [lemma] : [lemma, normal], stop: Boolean(stops[at]), pos: pos[at]! });
    }
    sentences.push({ text: texts[index]!.trim(), words });
  });
  return sentences;
}

/** A phrase as the words it is matched on: each word's lemma, or the word as written. */
export type PhraseWords = readonly (readonly string[])[];

/** A phrase's lemmas, read once (memo.ts): every report matches the council's themes by them. */
export const phraseLemmas = memoised(
  (phrase: string): PhraseWords => readSentences(phrase).flatMap((sentence) => sentence.words.map((word) => word.forms)),
  (phrase) => phrase,
  2000,
);

/** Whether a word of the text is this word of a phrase, in any of their forms. */
const isWord = (word: Word, forms: readonly string[]) => forms.some((form) => word.forms.includes(form));

/**
 * Words of the text that may come between two words of a phrase: "chronology has not been
 * updated" is "chronology not updated" with two words between. More would join words of
 * different clauses.
 */
export const MAX_GAP = 3;

/** Whether the sentence holds the phrase's lemmas in order, each within MAX_GAP words of the last. */
export function sentenceHas(sentence: Sentence, lemmas: PhraseWords): boolean {
  if (!lemmas.length) return false;
  const words = sentence.words;
  for (let start = 0; start < words.length; start += 1) {
    if (!isWord(words[start]!, lemmas[0]!)) continue;
    if (followsFrom(words, start, lemmas, 1)) return true;
  }
  return false;
}

function followsFrom(words: readonly Word[], at: number, lemmas: PhraseWords, next: number): boolean {
  if (next === lemmas.length) return true;
  for (let position = at + 1; position <= Math.min(words.length - 1, at + 1 + MAX_GAP); position += 1) {
    if (isWord(words[position]!, lemmas[next]!) && followsFrom(words, position, lemmas, next + 1)) return true;
  }
  return false;
}

/** A theme ready to match: its phrases as lemmas. */
export type ThemeMatcher = { id: string; name: string; phrases: PhraseWords[] };

export function themeMatcher(theme: { id: string; name: string; phrases: readonly string[] }): ThemeMatcher {
  return { id: theme.id, name: theme.name, phrases: theme.phrases.map(phraseLemmas).filter((lemmas) => lemmas.length > 0) };
}

/** The sentences of a text that mark the theme. */
export function sentencesMarking(sentences: readonly Sentence[], theme: ThemeMatcher): Sentence[] {
  return sentences.filter((sentence) => theme.phrases.some((lemmas) => sentenceHas(sentence, lemmas)));
}

// ——— Refusing phrases that would mark nothing, or everything ———

/** Words found in nearly every audit of a child's case: alone, they would mark every audit. */
const UBIQUITOUS = new Set([
  'child', 'case', 'family', 'plan', 'work', 'worker', 'social', 'parent', 'mother', 'record', 'visit', 'audit', 'practice', 'need', 'young', 'person',
  'good', 'well', 'evidence', 'service', 'team', 'review', 'support', 'meeting', 'time', 'file', 'assessment', 'action', 'view', 'school',
]);
const MAX_WORDS = 8;
const MIN_LETTERS = 4;

/**
 * Why a theme's phrases cannot be saved, by line (empty when they can): no phrase at all, a
 * phrase of common words only, one too short, too long to be found in a sentence, or a single
 * word found in nearly every audit. Phrases are matched as words, never as patterns, so no
 * phrase can run away with the server.
 */
export function phraseProblems(phrases: readonly string[]): string[] {
  if (!phrases.length) return ['Enter at least one word or phrase that marks the theme, one on each line'];
  const problems: string[] = [];
  phrases.forEach((phrase, index) => {
    const problem = phraseProblem(phrase);
    if (problem) problems.push(`Line ${index + 1}, “${phrase}”: ${problem}`);
  });
  return problems;
}

function phraseProblem(phrase: string): string | null {
  const words = readSentences(phrase).flatMap((sentence) => sentence.words).filter((word) => /\p{L}/u.test(word.lemma));
  if (!words.length) return 'has no words: enter words that mark the theme';
  if (words.length > MAX_WORDS) return `is too long to be found in a sentence: use ${MAX_WORDS} words or fewer`;
  const meaningful = words.filter((word) => !word.stop || word.lemma === 'not');
  if (!meaningful.length || meaningful.every((word) => word.lemma === 'not')) return 'has only common words, which are in almost every sentence: add a word that says what the theme is about';
  if (meaningful.reduce((letters, word) => letters + word.lemma.replace(/[^\p{L}]/gu, '').length, 0) < MIN_LETTERS) return `is too short: use a word of ${MIN_LETTERS} letters or more`;
  if (meaningful.length === 1 && UBIQUITOUS.has(meaningful[0]!.lemma)) return `“${meaningful[0]!.lemma}” alone is in almost every audit: add the words that make it a theme, such as “${meaningful[0]!.lemma} not recorded”`;
  return null;
}

// ——— Proposing themes ———

/** Parts of speech a proposed phrase is made of; it ends on a noun. */
const PHRASE_POS = new Set(['NOUN', 'PROPN', 'ADJ']);
const NOUNS = new Set(['NOUN', 'PROPN']);

/** The noun phrases of a text as lemma bigrams and trigrams ("family network", "contingency plan"). */
export function candidatePhrases(sentences: readonly Sentence[]): Set<string> {
  const found = new Set<string>();
  for (const { words } of sentences) {
    for (let start = 0; start < words.length; start += 1) {
      for (const length of [2, 3]) {
        const run = words.slice(start, start + length);
        if (run.length < length) continue;
        if (!run.every((word) => PHRASE_POS.has(word.pos) && !word.stop && /^\p{L}[\p{L}-]+$/u.test(word.lemma))) continue;
        if (!NOUNS.has(run.at(-1)!.pos)) continue;
        found.add(run.map((word) => word.lemma).join(' '));
      }
    }
  }
  return found;
}

export type Proposal = { phrase: string; audits: number; earlierAudits: number; score: number };

/**
 * The phrases most distinctive of this period against earlier ones: each audit's phrases counted
 * once, ranked by the log-odds ratio of an audit using the phrase now and before, divided by its
 * standard error (a z-score; add-½ smoothing, so a phrase never seen before still ranks by how
 * many audits use it). Only phrases of at least `minAudits` audits, and not already a theme's.
 */
export function proposePhrases(current: readonly Set<string>[], earlier: readonly Set<string>[], options: { known: readonly PhraseWords[]; minAudits?: number; limit?: number }): Proposal[] {
  const minAudits = options.minAudits ?? 2;
  const now = documentFrequency(current);
  const before = documentFrequency(earlier);
  const [n1, n2] = [current.length, earlier.length];
  const proposals: Proposal[] = [];
  for (const [phrase, a] of now) {
    if (a < minAudits) continue;
    const lemmas = phrase.split(' ');
    if (options.known.some((known) => sentenceHas({ text: phrase, words: lemmas.map((lemma) => ({ lemma, forms: [lemma], stop: false, pos: 'NOUN' })) }, known))) continue;
    const b = before.get(phrase) ?? 0;
    const odds = (k: number, n: number) => Math.log((k + 0.5) / (n - k + 0.5));
    const variance = 1 / (a + 0.5) + 1 / (n1 - a + 0.5) + 1 / (b + 0.5) + 1 / (n2 - b + 0.5);
    // With nothing earlier to compare against, the phrases most used now come first.
    const score = n2 ? (odds(a, n1) - odds(b, n2)) / Math.sqrt(variance) : a / n1;
    proposals.push({ phrase, audits: a, earlierAudits: b, score: Math.round(score * 100) / 100 });
  }
  return proposals
    .filter((proposal) => proposal.score > 0)
    .sort((x, y) => y.score - x.score || y.audits - x.audits || x.phrase.localeCompare(y.phrase))
    .slice(0, options.limit ?? 8);
}

function documentFrequency(documents: readonly Set<string>[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const phrases of documents) for (const phrase of phrases) counts.set(phrase, (counts.get(phrase) ?? 0) + 1);
  return counts;
}

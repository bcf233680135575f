/**
 * How text becomes search terms, for indexing and for queries alike: split on spaces and
 * punctuation, split letter–digit runs (`4bit` → `4bit 4 bit`, `int8` → `int8 int 8`),
 * lowercase, drop stop words, and strip common English suffixes so that `quantize`,
 * `quantized`, `quantizing` and `quantization` meet at one stem. A change here changes every
 * stored term, so it bumps ANALYZER_VERSION and stored indexes are rebuilt.
 */

/** Stored in the index header; an index built by another analyzer is rebuilt, not reused. */
export const ANALYZER_VERSION = 1;

const SPLIT = /[\s\p{P}\p{S}]+/u;
const LETTERS_DIGITS = /\p{L}+|\p{N}+/gu;

/** Words, with the letter and digit runs of mixed words added after the word itself. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const word of text.split(SPLIT)) {
    if (word === '') continue;
    out.push(word);
    const runs = word.match(LETTERS_DIGITS);
    if (runs && runs.length > 1) out.push(...runs);
  }
  return out;
}

const STOP_WORDS = new Set(
  (
    'a an and are as at be by for from has have how i in into is it its of on or that the their this to was were ' +
    'what when where which with you your'
  ).split(' '),
);

// Longest first: the first suffix that leaves a stem of at least MIN_STEM letters is stripped.
const SUFFIXES = [
  'izations',
  'isations',
  'ization',
  'isation',
  'ations',
  'ation',
  'izing',
  'ising',
  'izers',
  'isers',
  'izer',
  'iser',
  'ized',
  'ised',
  'izes',
  'ises',
  'ize',
  'ise',
  'ings',
  'ing',
  'ed',
  'es',
  's',
  'e',
];
const MIN_STEM = 3;

/** A light suffix stripper (not Porter): enough to join a word's inflections, never a dictionary. */
export function stem(word: string): string {
  if (!/^\p{L}+$/u.test(word)) return word;
  for (const suffix of SUFFIXES) {
    if (!word.endsWith(suffix) || word.length - suffix.length < MIN_STEM) continue;
    // `loss`, `class`: a double s is part of the word, not a plural.
    if (suffix === 's' && word.endsWith('ss')) return word;
    // `speed`, `need`: an -eed ending is rarely a past tense.
    if (suffix === 'ed' && word.endsWith('eed')) return word;
    return word.slice(0, -suffix.length);
  }
  return word;
}

/** One token as stored and searched: lowercased and stemmed; null for a stop word. */
export function processTerm(term: string): string | null {
  const lower = term.toLowerCase();
  if (STOP_WORDS.has(lower)) return null;
  return stem(lower);
}

/** The distinct terms of a text, as the index sees them. */
export function terms(text: string): Set<string> {
  const out = new Set<string>();
  for (const t of tokenize(text)) {
    const p = processTerm(t);
    if (p) out.add(p);
  }
  return out;
}

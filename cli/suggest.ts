/**
 * "Did you mean" for the CLI: several close names, best first, including prefix
 * matches (`lora-finetuning` → `lora-finetuning-mlx`), which a single closest
 * match by edit distance (node/suggest.ts) would miss.
 */
import { editDistance } from '../node/suggest.js';

/**
 * Known names close to `input`, best first: small edit distances (up to a third of the
 * input's length, at least 1), then prefix relations in either direction. Case-insensitive.
 */
export function suggest(input: string, candidates: Iterable<string>, limit = 3): string[] {
  const wanted = input.toLowerCase();
  if (wanted.length === 0) return [];
  const threshold = Math.max(1, Math.floor(wanted.length / 3));
  const scored: { name: string; score: number }[] = [];
  for (const name of new Set(candidates)) {
    const lower = name.toLowerCase();
    if (lower === wanted) continue;
    const distance = editDistance(wanted, lower);
    const extendsInput = lower.startsWith(wanted) && wanted.length >= 2;
    const prefixOfInput = wanted.startsWith(lower) && lower.length >= 3;
    if (!extendsInput && !prefixOfInput && distance > threshold) continue;
    // A name the input is a truncation of beats a shorter name the input merely starts with.
    const score = distance <= threshold ? distance : threshold + distance + (extendsInput ? 0 : 0.5);
    scored.push({ name, score });
  }
  scored.sort((x, y) => x.score - y.score || x.name.localeCompare(y.name));
  return scored.slice(0, limit).map((s) => s.name);
}

/** `' Did you mean: a, b?'` or `''`: ready to append to an error message. */
export function formatSuggestions(names: readonly string[]): string {
  return names.length === 0 ? '' : ` Did you mean: ${names.join(', ')}?`;
}

/**
 * Which indices a list of names and patterns selects, as Elasticsearch reads such a list: `*` matches
 * any run of characters, `-pattern` removes what earlier items added, and names starting with a dot
 * (hidden and system indices) are only matched by patterns that start with a dot. A plain name that
 * is not there is reported, so that a typo is not silently ignored.
 */

function toRegExp(pattern: string): RegExp {
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`);
}

export function matchesPattern(name: string, pattern: string): boolean {
  if (name.startsWith('.') && !pattern.startsWith('.')) return false;
  return toRegExp(pattern).test(name);
}

export interface Selection {
  /** Selected names, in the order of `available`. */
  selected: string[];
  /** Plain names (no wildcard) that are not in `available`. */
  missing: string[];
}

export function selectIndices(available: readonly string[], patterns: readonly string[]): Selection {
  const chosen = new Set<string>();
  const missing: string[] = [];
  for (const pattern of patterns) {
    if (pattern.startsWith('-')) {
      const exclude = pattern.slice(1);
      for (const name of [...chosen]) if (matchesPattern(name, exclude)) chosen.delete(name);
      continue;
    }
    const matched = available.filter((name) => matchesPattern(name, pattern));
    if (matched.length === 0 && !pattern.includes('*')) missing.push(pattern);
    for (const name of matched) chosen.add(name);
  }
  return { selected: available.filter((name) => chosen.has(name)), missing };
}

/**
 * Document counts per index, for backup records and drills: each index refreshed first (what a snapshot
 * flushes is then searchable too), then `_count` per index. Counting changes nothing an operator sees.
 */
import { answerOf, type EsClient } from './connection.js';
import { nameGroups } from './restore.js';

/** The open indices a list of names and patterns selects now (none for patterns that match nothing). */
export async function openIndices(client: EsClient, patterns: readonly string[]): Promise<string[]> {
  try {
    const rows = await client.cat.indices({
      index: patterns.join(','),
      format: 'json',
      h: 'index',
      expand_wildcards: 'open',
    });
    return rows
      .map((r) => r.index ?? '')
      .filter((n) => n !== '')
      .sort();
  } catch (err) {
    if (answerOf(err)?.type === 'index_not_found_exception') return [];
    throw err;
  }
}

/** Top-level documents of each named index (refreshed first); indices that are gone are left out. */
export async function documentCounts(client: EsClient, indices: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const group of nameGroups(indices))
    await client.indices.refresh({
      index: group,
      ignore_unavailable: true,
      allow_no_indices: true,
      expand_wildcards: 'open',
    });
  for (const index of indices) {
    try {
      counts.set(index, (await client.count({ index, expand_wildcards: 'none' })).count);
    } catch (err) {
      if (answerOf(err)?.type !== 'index_not_found_exception') throw err;
    }
  }
  return counts;
}

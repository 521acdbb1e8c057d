/**
 * Strict, shell-safe names. Every name an operator passes (backup names, buckets, claims, instances,
 * indices) is checked here before anything happens, so that a name carrying `;`, `$(` or a path
 * separator is refused with a clear message instead of reaching a command line or an object key.
 */
import { usageError } from '../util/errors.js';

interface NameRule {
  what: string;
  pattern: RegExp;
  explain: string;
}

const RULES = {
  bucket: {
    what: 'bucket name',
    pattern: /^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    explain:
      '3-63 characters: lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit',
  },
  objectKey: {
    what: 'object name',
    pattern: /^(?!\/)(?!.*\/\/)(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9._\/=+-]{1,512}$/,
    explain: 'letters, digits and . _ - = + /, no leading slash, no "." or ".." path parts',
  },
  kubernetesName: {
    what: 'Kubernetes name',
    pattern: /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
    explain:
      'lower-case letters, digits and hyphens, at most 63 characters, starting and ending with a letter or digit',
  },
  backupName: {
    what: 'backup name',
    pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/,
    explain: 'letters, digits, dots, underscores and hyphens, as printed by the list command',
  },
} as const satisfies Record<string, NameRule>;

export type NameKind = keyof typeof RULES;

export function checkName(kind: NameKind, value: string, source?: string): string {
  const rule: NameRule = RULES[kind];
  if (!rule.pattern.test(value)) {
    const shown = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
    const where = source ? ` (${source})` : '';
    throw usageError(`invalid ${rule.what}${where}: ${shown}; allowed: ${rule.explain}`);
  }
  return value;
}

export function isValidName(kind: NameKind, value: string): boolean {
  return RULES[kind].pattern.test(value);
}

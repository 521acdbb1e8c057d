/**
 * The single place secrets are scrubbed. Every log line and every error message shown to a user
 * passes through redact(). Credentials are registered as soon as they are loaded.
 */
const secrets = new Set<string>();
const MASK = '***';

/** Registers a value that must never be printed. Short values are ignored to avoid masking noise. */
export function registerSecret(value: string | undefined): void {
  if (value !== undefined && value.length >= 4) secrets.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(MASK);
  }
  // Credentials that reach us in URLs or headers without being registered.
  out = out.replace(/(\/\/[^/\s:@]+:)[^@\s/]+@/g, `$1${MASK}@`);
  out = out.replace(/(X-Amz-Credential=|X-Amz-Signature=|Signature=|Credential=)[^&\s,]+/gi, `$1${MASK}`);
  out = out.replace(/(authorization:\s*)\S+(\s+\S+)?/gi, `$1${MASK}`);
  return out;
}

/** For tests: forget registered secrets. */
export function clearSecrets(): void {
  secrets.clear();
}

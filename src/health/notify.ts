/**
 * Notifications: one JSON event per failed backup, failed restore, target gone stale (and failed drill,
 * once drills exist) to a webhook whose URL and headers come from files (the chart mounts
 * notifications.webhook.existingSecret, keys `url` and optionally `headers`, a JSON object). Formats:
 * `json` (the event itself) or `slack` (Slack-compatible {text}). Bounded retries on network errors
 * and 5xx/429. The URL and header values are registered as secrets: never logged, and an event only
 * carries what it is built from (store, target, names, redacted messages), never a credential.
 */
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { StoreName } from '../stores/types.js';
import { ExitCode, StackbackupError, messageOf, usageError } from '../util/errors.js';
import { warn } from '../util/log.js';
import { redact, registerSecret } from '../util/redact.js';
import { withRetry } from '../util/retry.js';

export type EventKind = 'backup_failed' | 'restore_failed' | 'target_stale' | 'drill_failed';
export type WebhookFormat = 'json' | 'slack';

export interface HealthEvent {
  kind: EventKind;
  store: StoreName | null;
  target: string | null;
  /** What failed or went stale, for people (redacted). */
  message: string;
  /** The Job, backup or command concerned, when known. */
  subject: string | null;
  /** Exit code of a failed command. */
  exitCode: number | null;
  time: string;
  /** The next thing to run. */
  runbook: string;
}

export interface Webhook {
  url: URL;
  headers: Record<string, string>;
  format: WebhookFormat;
  attempts: number;
  timeoutMs: number;
  baseDelayMs: number;
}

const RUNBOOK: Record<EventKind, string> = {
  backup_failed: "Run ./restore/status.sh, then read the failed Job's logs (kubectl logs job/<name>).",
  restore_failed: 'Read the restore output above the error; the restore script says what was changed and how to retry.',
  target_stale: "Run ./restore/status.sh for the reason; the store's ./restore/list-*.sh shows its backups.",
  drill_failed: 'Run ./restore/status.sh and read the drill Job logs.',
};

export function makeEvent(
  kind: EventKind,
  fields: {
    store?: StoreName | null;
    target?: string | null;
    message: string;
    subject?: string | null;
    exitCode?: number | null;
  },
  now: Date = new Date(),
): HealthEvent {
  return {
    kind,
    store: fields.store ?? null,
    target: fields.target ?? null,
    message: redact(fields.message),
    subject: fields.subject === undefined || fields.subject === null ? null : redact(fields.subject),
    exitCode: fields.exitCode ?? null,
    time: now.toISOString(),
    runbook: RUNBOOK[kind],
  };
}

/** The request body: the event, or a Slack-compatible message. */
export function payload(event: HealthEvent, format: WebhookFormat): string {
  if (format === 'json') return JSON.stringify({ source: 'stackbackup', ...event });
  const what = [event.store, event.target].filter((x) => x !== null).join('/');
  const title = {
    backup_failed: 'Backup failed',
    restore_failed: 'Restore failed',
    target_stale: 'Backups stale',
    drill_failed: 'Restore drill failed',
  }[event.kind];
  const lines = [
    `*${title}*${what === '' ? '' : `: ${what}`}`,
    event.message,
    ...(event.subject === null ? [] : [`Subject: ${event.subject}`]),
    `Next: ${event.runbook}`,
  ];
  return JSON.stringify({ text: lines.join('\n') });
}

function readFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new StackbackupError(`cannot read the webhook ${what} file ${path}`, {
      exitCode: ExitCode.usage,
      hint: 'Check notifications.webhook.existingSecret: keys url and (optionally) headers.',
      cause: err,
    });
  }
}

/**
 * The webhook from the environment: STACKBACKUP_WEBHOOK_URL_FILE (undefined: no notifications),
 * STACKBACKUP_WEBHOOK_HEADERS_FILE (optional, a JSON object of header names and values) and
 * STACKBACKUP_WEBHOOK_FORMAT (json, slack).
 */
export function webhookFromEnv(env: NodeJS.ProcessEnv = process.env): Webhook | undefined {
  const urlFile = env.STACKBACKUP_WEBHOOK_URL_FILE;
  if (urlFile === undefined || urlFile === '') return undefined;
  const text = readFile(urlFile, 'URL');
  registerSecret(text);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usageError(
      `the webhook URL in ${urlFile} is not a URL`,
      'Put an http(s):// address under key url of the Secret.',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw usageError(`the webhook URL in ${urlFile} is not http(s)`);
  const headers: Record<string, string> = {};
  const headersFile = env.STACKBACKUP_WEBHOOK_HEADERS_FILE;
  // The Secret's headers key is optional: its file is then absent.
  if (headersFile !== undefined && headersFile !== '' && existsSync(headersFile)) {
    const raw = readFile(headersFile, 'headers');
    let parsed: unknown = {};
    if (raw !== '') {
      try {
        parsed = JSON.parse(raw);
      } catch {
        throw usageError(`the webhook headers in ${headersFile} are not a JSON object`);
      }
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw usageError(`the webhook headers in ${headersFile} are not a JSON object`);
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v !== 'string' || !/^[A-Za-z0-9-]+$/.test(k))
        throw usageError(`webhook header "${k}" in ${headersFile} needs a token name and a string value`);
      registerSecret(v);
      headers[k] = v;
    }
  }
  const format = env.STACKBACKUP_WEBHOOK_FORMAT ?? 'json';
  if (format !== 'json' && format !== 'slack')
    throw usageError(`STACKBACKUP_WEBHOOK_FORMAT must be "json" or "slack", got ${JSON.stringify(format)}`);
  return { url, headers, format, attempts: 3, timeoutMs: 10_000, baseDelayMs: 500 };
}

class TransientError extends Error {}

function post(hook: Webhook, body: string): Promise<void> {
  const send = hook.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      hook.url,
      {
        method: 'POST',
        timeout: hook.timeoutMs,
        headers: { ...hook.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve();
          else if (status >= 500 || status === 429) reject(new TransientError(`HTTP ${status}`));
          else reject(new Error(`HTTP ${status}`));
        });
      },
    );
    req.on('timeout', () => req.destroy(new TransientError(`no answer within ${hook.timeoutMs / 1000}s`)));
    req.on('error', (err) => reject(err instanceof TransientError ? err : new TransientError(messageOf(err))));
    req.end(body);
  });
}

/** Sends one event; never throws (a notification must not change a command's outcome): returns whether it arrived. */
export async function notify(hook: Webhook, event: HealthEvent): Promise<boolean> {
  try {
    await withRetry(() => post(hook, payload(event, hook.format)), {
      attempts: hook.attempts,
      baseDelayMs: hook.baseDelayMs,
      isTransient: (err) => err instanceof TransientError,
    });
    return true;
  } catch (err) {
    warn(`notification ${event.kind} was not delivered to the webhook at ${hook.url.host}: ${messageOf(err)}`);
    return false;
  }
}

/**
 * The one place the Elasticsearch verbs talk to Elasticsearch from: a client of the official
 * @elastic/elasticsearch package for a Connection, and the translation of its failures into
 * StackbackupErrors that say what went wrong and what to check (unreachable, credentials refused,
 * Elasticsearch's own reason). Credentials never reach a message (they are registered with the redactor).
 */
import { readFileSync } from 'node:fs';
import type { Client } from '@elastic/elasticsearch';
import { ExitCode, StackbackupError, fileError, messageOf, type ExitCodeValue } from '../../util/errors.js';
import { VALUES, type Connection } from './settings.js';

export type EsClient = Client;

type EsModule = typeof import('@elastic/elasticsearch');
/** The client library, loaded by the first connect(): other commands start without it. */
let esModule: EsModule | undefined;

/** The client's error classes, once connect() has loaded the library (no client, no client errors). */
function clientErrors(): EsModule['errors'] | undefined {
  return esModule?.errors;
}

/** Requests that wait for Elasticsearch to finish (snapshot, restore) get their own timeout and no retry. */
export interface LongRequest {
  requestTimeout: number;
  maxRetries: 0;
}

export function longRequest(timeoutSeconds: number): LongRequest {
  return { requestTimeout: timeoutSeconds * 1000, maxRetries: 0 };
}

/**
 * The package is CommonJS: Node's import() gives its exports both by name and as `default`; from the
 * job image's bundle (scripts/bundle.mjs) a lazily loaded CommonJS chunk has only `default`.
 */
async function loadClientLibrary(): Promise<EsModule> {
  const loaded: EsModule & { default?: EsModule } = await import('@elastic/elasticsearch');
  return typeof loaded.Client === 'function' ? loaded : (loaded.default ?? loaded);
}

export async function connect(connection: Connection): Promise<EsClient> {
  esModule ??= await loadClientLibrary();
  let ca: string | undefined;
  if (connection.caFile !== undefined) {
    try {
      ca = readFileSync(connection.caFile, 'utf8');
    } catch (err) {
      throw fileError('reading the Elasticsearch CA bundle', connection.caFile, err);
    }
  }
  return new esModule.Client({
    node: connection.url.origin + connection.url.pathname.replace(/\/+$/, ''),
    auth:
      connection.username !== undefined && connection.password !== undefined
        ? { username: connection.username, password: connection.password }
        : undefined,
    tls: ca === undefined ? undefined : { ca },
    requestTimeout: 60_000,
    maxRetries: 2,
  });
}

/** What Elasticsearch answered: HTTP status, error type and reason, when the failure is an answer. */
export interface EsAnswer {
  status: number;
  type: string | undefined;
  reason: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** Elasticsearch's answer inside a client error, or undefined for connection-level failures. */
export function answerOf(err: unknown): EsAnswer | undefined {
  const errors = clientErrors();
  if (errors === undefined || !(err instanceof errors.ResponseError)) return undefined;
  const status = err.meta.statusCode ?? 0;
  const body: unknown = err.meta.body;
  const error = isObject(body) ? body.error : undefined;
  if (isObject(error)) {
    const root = Array.isArray(error.root_cause) && isObject(error.root_cause[0]) ? error.root_cause[0] : undefined;
    const type = typeof error.type === 'string' ? error.type : undefined;
    const reason =
      typeof error.reason === 'string'
        ? error.reason
        : typeof root?.reason === 'string'
          ? root.reason
          : JSON.stringify(error);
    const caused =
      isObject(error.caused_by) && typeof error.caused_by.reason === 'string'
        ? ` (caused by: ${error.caused_by.reason})`
        : '';
    return { status, type, reason: `${reason}${caused}` };
  }
  if (typeof error === 'string') return { status, type: undefined, reason: error };
  return { status, type: undefined, reason: typeof body === 'string' && body !== '' ? body : err.message };
}

/** True when Elasticsearch has no handler for the request at all (an API this build lacks, such as SLM). */
export function isMissingApi(err: unknown): boolean {
  const answer = answerOf(err);
  if (answer === undefined) return false;
  if (answer.status === 405) return true;
  return (
    (answer.status === 400 || answer.status === 404) &&
    answer.type === undefined &&
    /no handler found/i.test(answer.reason)
  );
}

/**
 * Turns a client failure into an operator-facing error. `what` is the action (`registering snapshot
 * repository "sts-backup"`); `exitCode` overrides the code for answers (not for unreachable/credentials).
 */
export function esError(
  err: unknown,
  connection: Connection,
  what: string,
  hint?: string,
  exitCode?: ExitCodeValue,
): StackbackupError {
  if (err instanceof StackbackupError) return err;
  const where = connection.url.origin;
  const errors = clientErrors();
  if (errors === undefined)
    return new StackbackupError(`failed while ${what} at ${where}: ${messageOf(err)}`, { hint, cause: err });
  if (err instanceof errors.ConnectionError || err instanceof errors.NoLivingConnectionsError) {
    return new StackbackupError(`cannot reach Elasticsearch at ${where} while ${what}: ${messageOf(err)}`, {
      exitCode: ExitCode.unreachable,
      hint: `Check ${VALUES.url} and that Elasticsearch is running and reachable from this pod.`,
      cause: err,
    });
  }
  if (err instanceof errors.TimeoutError) {
    return new StackbackupError(`Elasticsearch at ${where} did not answer in time while ${what}`, {
      exitCode: ExitCode.unreachable,
      hint: 'Check the cluster health (GET _cluster/health); for long snapshots and restores raise --timeout-seconds.',
      cause: err,
    });
  }
  if (err instanceof errors.ProductNotSupportedError) {
    return new StackbackupError(
      `${where} is not an Elasticsearch server this client supports while ${what}: ${messageOf(err)}`,
      {
        exitCode: ExitCode.usage,
        hint: `Check ${VALUES.url}.`,
        cause: err,
      },
    );
  }
  const answer = answerOf(err);
  if (answer !== undefined) {
    if (answer.status === 401 || answer.status === 403) {
      return new StackbackupError(
        `Elasticsearch refused ${answer.status === 401 ? 'the credentials' : 'the request'} (HTTP ${answer.status}) while ${what}: ${answer.reason}`,
        {
          exitCode: ExitCode.credentials,
          hint: `Check the user in the Secret named by ${VALUES.auth} and its privileges (snapshot and restore need "manage" on the cluster and the indices).`,
          cause: err,
        },
      );
    }
    return new StackbackupError(
      `Elasticsearch answered HTTP ${answer.status}${answer.type ? ` ${answer.type}` : ''} while ${what}: ${answer.reason}`,
      {
        exitCode: exitCode ?? ExitCode.failure,
        hint,
        cause: err,
      },
    );
  }
  return new StackbackupError(`failed while ${what}: ${messageOf(err)}`, { hint, cause: err });
}

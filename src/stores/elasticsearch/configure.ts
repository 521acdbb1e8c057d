/**
 * `elasticsearch configure` (the chart's Helm hook Job after each install and upgrade; safe to rerun):
 *   1. registers the snapshot repository `sts-backup`: type s3 in the chart's bucket, reaching the
 *      in-cluster S3 endpoint (endpoint, protocol, path-style access, base path), credentials from the
 *      nodes' keystore (`s3.client.<client>.access_key`/`secret_key`); inline credentials only behind
 *      an explicit switch (older Elasticsearch). Or type fs, a folder shared by every node (path.repo).
 *   2. verifies it (`_verify`: every node writes and reads a test file) and names the nodes;
 *   3. engine slm: puts the SLM policy from the values (schedule, name template, indices, retention)
 *      and warns when SLM is not running. Engine cronjob: removes our SLM policy if one exists, so
 *      that only the chart's CronJob takes snapshots. Engine none (scheduled snapshots off, restores
 *      only): removes our SLM policy too.
 * Everything is a PUT of the full desired state, so a rerun converges.
 */
import { checkElasticsearchCron } from '../../config/cron.js';
import { optionalText, text as optionText } from '../../config/options.js';
import { ELASTICSEARCH_SLM_POLICY } from '../../storage/layout.js';
import { ExitCode, StackbackupError, usageError } from '../../util/errors.js';
import { log, section, warn } from '../../util/log.js';
import type { StoreContext } from '../types.js';
import { answerOf, connect, esError, isMissingApi } from './connection.js';
import {
  policyRequest,
  repositoryRequest,
  type PolicySpec,
  type RepositoryRequest,
  type RepositorySpec,
  type S3InlineCredentials,
} from './requests.js';
import {
  DEFAULT_INDICES,
  DEFAULT_SCHEDULE,
  VALUES,
  parseBucket,
  parseConnection,
  parseFlag,
  parseIndexPatterns,
  parseRepository,
  parseRetention,
  type Connection,
} from './settings.js';

export type Engine = 'slm' | 'cronjob' | 'none';

/** The repository as asked for; inline credentials are resolved from the job's S3 credentials at run time. */
export type RepositoryChoice =
  | {
      type: 's3';
      bucket: string;
      client: string;
      basePath: string;
      endpoint: URL | undefined;
      pathStyleAccess: boolean;
      inlineCredentials: boolean;
    }
  | { type: 'fs'; location: string };

export interface ConfigureOptions {
  connection: Connection;
  repository: string;
  choice: RepositoryChoice;
  verify: boolean;
  engine: Engine;
  /** The policy (engine slm), or the settings a cronjob engine would use (for the record). */
  policy: PolicySpec;
}

export interface ConfigureResult {
  url: string;
  repository: string;
  /** The repository body sent (inline secret masked). */
  body: RepositoryRequest['repository'];
  verifiedBy: string[];
  engine: Engine;
  /** The SLM policy put (engine slm). */
  policy: ReturnType<typeof policyRequest> | null;
  slmMode: string | null;
  /** Engine cronjob: whether an SLM policy of ours was removed. */
  removedPolicy: boolean;
}

const CLIENT_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

function parseS3Endpoint(raw: unknown): URL | undefined {
  if (optionalText(raw, `--s3-endpoint (${VALUES.endpoint})`) === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(String(raw));
  } catch {
    throw usageError(
      `--s3-endpoint (${VALUES.endpoint}) "${String(raw)}" is not a URL`,
      'Use http(s)://host:port, as Elasticsearch reaches the S3 endpoint.',
    );
  }
  if (
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.username !== '' ||
    url.password !== '' ||
    (url.pathname !== '/' && url.pathname !== '') ||
    url.search !== ''
  ) {
    throw usageError(
      `--s3-endpoint (${VALUES.endpoint}) "${String(raw)}" must be http(s)://host[:port] without credentials or a path`,
    );
  }
  return url;
}

export function validateConfigure(raw: {
  url?: unknown;
  repository?: unknown;
  repositoryType?: unknown;
  bucket?: unknown;
  client?: unknown;
  basePath?: unknown;
  s3Endpoint?: unknown;
  pathStyleAccess?: unknown;
  inlineCredentials?: unknown;
  location?: unknown;
  verify?: unknown;
  engine?: unknown;
  schedule?: unknown;
  indices?: unknown;
  expireAfter?: unknown;
  minCount?: unknown;
  maxCount?: unknown;
}): ConfigureOptions {
  const type = optionText(raw.repositoryType, `--repository-type (${VALUES.repositoryType})`, 's3');
  let choice: RepositoryChoice;
  if (type === 's3') {
    const client = optionText(raw.client, `--client (${VALUES.client})`, 'default');
    if (!CLIENT_NAME.test(client))
      throw usageError(
        `--client (${VALUES.client}) ${JSON.stringify(client)} is not an S3 client name: lower-case letters, digits, _ and -`,
      );
    const basePath = (optionalText(raw.basePath, `--base-path (${VALUES.basePath})`) ?? '').replace(/^\/+|\/+$/g, '');
    if (basePath !== '' && !/^[A-Za-z0-9._=+-]+(\/[A-Za-z0-9._=+-]+)*$/.test(basePath)) {
      throw usageError(
        `--base-path (${VALUES.basePath}) ${JSON.stringify(String(raw.basePath))}: use letters, digits, . _ = + - and / between folders`,
      );
    }
    choice = {
      type: 's3',
      bucket: parseBucket(raw.bucket),
      client,
      basePath,
      endpoint: parseS3Endpoint(raw.s3Endpoint),
      pathStyleAccess: parseFlag(raw.pathStyleAccess, true, `--path-style-access (${VALUES.pathStyleAccess})`),
      inlineCredentials: parseFlag(raw.inlineCredentials, false, `--inline-credentials (${VALUES.inlineCredentials})`),
    };
  } else if (type === 'fs') {
    const location = optionText(raw.location, `--location (${VALUES.location})`, '');
    // Absolute (inside path.repo), or relative to the nodes' first path.repo folder, as Elasticsearch reads it.
    if (location === '' || /[\0\n]/.test(location) || location.split('/').includes('..')) {
      throw usageError(
        `--location (${VALUES.location}) must be a folder in path.repo of every Elasticsearch node (absolute, or relative to the first path.repo entry), got ${JSON.stringify(location)}`,
      );
    }
    choice = { type: 'fs', location };
  } else {
    throw usageError(`--repository-type (${VALUES.repositoryType}) must be "s3" or "fs", got ${JSON.stringify(type)}`);
  }
  const engine = optionText(raw.engine, `--engine (${VALUES.engine})`, 'slm');
  if (engine !== 'slm' && engine !== 'cronjob' && engine !== 'none')
    throw usageError(`--engine (${VALUES.engine}) must be "slm", "cronjob" or "none", got ${JSON.stringify(engine)}`);
  const repository = parseRepository(raw.repository);
  const retention = parseRetention(raw);
  const schedule = checkElasticsearchCron(
    optionText(raw.schedule, `--schedule (${VALUES.schedule})`, DEFAULT_SCHEDULE),
    `--schedule (${VALUES.schedule})`,
  );
  const policy: PolicySpec = {
    policyId: ELASTICSEARCH_SLM_POLICY,
    repository,
    schedule,
    indices: parseIndexPatterns(raw.indices ?? DEFAULT_INDICES, `--indices (${VALUES.indices})`),
    expireAfter: retention.expireAfter,
    minCount: retention.minCount,
    maxCount: retention.maxCount,
  };
  return {
    connection: parseConnection(raw.url),
    repository,
    choice,
    verify: parseFlag(raw.verify, true, '--verify'),
    engine,
    policy,
  };
}

/** The repository spec with the inline credentials resolved from the job's S3 credentials (only when switched on). */
export function repositorySpec(choice: RepositoryChoice, ctx: StoreContext): RepositorySpec {
  if (choice.type === 'fs') return choice;
  let inlineCredentials: S3InlineCredentials | undefined;
  if (choice.inlineCredentials) {
    if (ctx.storage.kind !== 's3') {
      throw usageError(
        `inline repository credentials (${VALUES.inlineCredentials}=true) come from the jobs' S3 credentials, but none are configured`,
        'Set STACKBACKUP_S3_ENDPOINT and STACKBACKUP_S3_ACCESS_KEY_FILE/STACKBACKUP_S3_SECRET_KEY_FILE (the chart does), or keep the credentials in the Elasticsearch keystore.',
      );
    }
    inlineCredentials = { access_key: ctx.storage.accessKey, secret_key: ctx.storage.secretKey };
  } else {
    inlineCredentials = undefined;
  }
  const endpoint = choice.endpoint ?? (ctx.storage.kind === 's3' ? ctx.storage.endpoint : undefined);
  return {
    type: 's3',
    bucket: choice.bucket,
    client: choice.client,
    basePath: choice.basePath,
    endpoint,
    pathStyleAccess: choice.pathStyleAccess,
    inlineCredentials,
  };
}

/** The body as it may be shown: an inline secret key masked. */
export function shownBody(request: RepositoryRequest): RepositoryRequest['repository'] {
  const body = request.repository;
  if (body?.type === 's3' && body.settings.secret_key !== undefined)
    return { ...body, settings: { ...body.settings, secret_key: '***' } };
  return body;
}

function keystoreHint(spec: RepositorySpec): string {
  if (spec.type === 'fs')
    return `Check that ${spec.location} is listed in path.repo of every Elasticsearch node and is the same shared folder on each of them.`;
  const c = spec.client;
  const endpoint = spec.endpoint === undefined ? `the endpoint of S3 client "${c}"` : spec.endpoint.host;
  return [
    `Check on every Elasticsearch node: the keystore holds s3.client.${c}.access_key and s3.client.${c}.secret_key`,
    `(the chart's minio.accessKey/minio.secretKey; after adding them: POST _nodes/reload_secure_settings),`,
    `bucket "${spec.bucket}" exists (the chart's bucket-init Job creates it), and the nodes reach ${endpoint}.`,
  ].join(' ');
}

export async function runConfigure(options: ConfigureOptions, ctx: StoreContext): Promise<ConfigureResult> {
  const { connection, repository } = options;
  const spec = repositorySpec(options.choice, ctx);
  const request = repositoryRequest(repository, spec);
  const client = await connect(connection);
  try {
    let cluster = '';
    try {
      cluster = (await client.cluster.health()).cluster_name;
    } catch (err) {
      throw esError(err, connection, 'checking the cluster health');
    }
    section(
      `Registering snapshot repository "${repository}" (type ${spec.type}) in Elasticsearch cluster "${cluster}" at ${connection.url.origin}`,
    );
    log(`repository settings: ${JSON.stringify(shownBody(request)?.settings ?? {})}`);
    try {
      await client.snapshot.createRepository(request);
    } catch (err) {
      const answer = answerOf(err);
      if (answer !== undefined && /repository type \[[a-z0-9_-]+\] does not exist/.test(answer.reason)) {
        throw new StackbackupError(
          `Elasticsearch at ${connection.url.origin} cannot register repository "${repository}": it has no "${spec.type}" repository type (${answer.reason})`,
          {
            exitCode: ExitCode.usage,
            hint:
              spec.type === 's3'
                ? `Elasticsearch 8 has S3 support built in; 7.x needs the repository-s3 plugin on every node (bin/elasticsearch-plugin install repository-s3). Or use a shared folder: ${VALUES.repositoryType}=fs.`
                : `Use ${VALUES.repositoryType}=s3.`,
            cause: err,
          },
        );
      }
      throw esError(err, connection, `registering snapshot repository "${repository}"`, keystoreHint(spec));
    }
    log(`repository "${repository}" registered`);

    let verifiedBy: string[] = [];
    if (options.verify) {
      section(`Verifying repository "${repository}" (every node writes and reads a test file)`);
      try {
        const answer = await client.snapshot.verifyRepository({ name: repository });
        verifiedBy = Object.values(answer.nodes)
          .map((n) => n.name)
          .sort();
      } catch (err) {
        throw esError(err, connection, `verifying snapshot repository "${repository}"`, keystoreHint(spec));
      }
      log(`repository "${repository}" verified by ${verifiedBy.length} node(s): ${verifiedBy.join(', ')}`);
    }

    let policy: ConfigureResult['policy'] = null;
    let slmMode: string | null = null;
    let removedPolicy = false;
    if (options.engine === 'slm') {
      policy = policyRequest(options.policy);
      section(
        `Putting SLM policy "${policy.policy_id}": schedule "${policy.schedule}", indices ${options.policy.indices.join(',')}, retention expire_after ${options.policy.expireAfter}, min_count ${options.policy.minCount}, max_count ${options.policy.maxCount}`,
      );
      try {
        await client.slm.putLifecycle(policy);
      } catch (err) {
        if (isMissingApi(err)) {
          throw new StackbackupError(
            `Elasticsearch at ${connection.url.origin} has no snapshot lifecycle management (SLM): it does not know PUT _slm/policy`,
            {
              exitCode: ExitCode.usage,
              hint: `Let the chart's CronJob take the snapshots instead: --set ${VALUES.engine}=cronjob (same schedule and retention). The repository "${repository}" is registered.`,
              cause: err,
            },
          );
        }
        throw esError(
          err,
          connection,
          `putting SLM policy "${policy.policy_id}"`,
          `Check ${VALUES.schedule}, ${VALUES.indices} and the retention values.`,
        );
      }
      try {
        slmMode = (await client.slm.getStatus()).operation_mode;
      } catch (err) {
        throw esError(err, connection, 'reading the SLM status');
      }
      if (slmMode !== 'RUNNING')
        warn(`SLM is ${slmMode}: the policy will not run until SLM is started (POST _slm/start)`);
      log(`SLM policy "${policy.policy_id}" in place (SLM ${slmMode})`);
    } else {
      section(
        options.engine === 'cronjob'
          ? `Engine cronjob: the chart's CronJob takes the snapshots; removing SLM policy "${ELASTICSEARCH_SLM_POLICY}" if there is one`
          : `No scheduled snapshots (restores only): removing SLM policy "${ELASTICSEARCH_SLM_POLICY}" if there is one`,
      );
      try {
        await client.slm.deleteLifecycle({ policy_id: ELASTICSEARCH_SLM_POLICY });
        removedPolicy = true;
        log(
          `removed SLM policy "${ELASTICSEARCH_SLM_POLICY}"${options.engine === 'cronjob' ? ', so that snapshots are not taken twice' : ''}`,
        );
      } catch (err) {
        const answer = answerOf(err);
        if (isMissingApi(err)) log('this Elasticsearch has no SLM: nothing to remove');
        else if (answer?.status === 404) log(`no SLM policy "${ELASTICSEARCH_SLM_POLICY}": nothing to remove`);
        else throw esError(err, connection, `removing SLM policy "${ELASTICSEARCH_SLM_POLICY}"`);
      }
    }
    return {
      url: connection.url.origin,
      repository,
      body: shownBody(request),
      verifiedBy,
      engine: options.engine,
      policy,
      slmMode,
      removedPolicy,
    };
  } finally {
    await client.close();
  }
}

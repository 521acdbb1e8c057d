/**
 * Every request body stackbackup sends to Elasticsearch, built here and typed with the official
 * client's request types (estypes), so that a misspelt or misplaced field fails the build:
 *   repository   PUT _snapshot/sts-backup        type s3 (the chart's bucket) or fs (a shared folder)
 *   policy       PUT _slm/policy/sts-backup      schedule, name template, indices, retention
 *   snapshot     PUT _snapshot/sts-backup/NAME   the cronjob engine's snapshot
 *   restore      POST _snapshot/sts-backup/NAME/_restore
 *   drill        POST _snapshot/sts-backup/NAME/_restore   renamed drill-<index>, no aliases, no replicas
 *
 * One deliberate extension of the types: the S3 client settings endpoint, protocol and
 * path_style_access. Current Elasticsearch documents them as node settings
 * (`s3.client.CLIENT.endpoint` in elasticsearch.yml) and its repository API still accepts them in the
 * repository's settings (S3ClientSettings.refine overrides the named client's settings with them),
 * which is how the repository can point at the in-cluster endpoint without touching the nodes. The
 * client's types list only repository settings, so these three are declared below and added to the
 * official type, never in place of it. Credentials (`access_key`, `secret_key`) are only sent inline
 * when asked for (the older Elasticsearch behaviour); by default they come from the keystore.
 */
import type { estypes } from '@elastic/elasticsearch';
import { ELASTICSEARCH_DRILL_RENAME, ELASTICSEARCH_SNAPSHOT_TEMPLATE } from '../../storage/layout.js';

/** S3 client settings Elasticsearch also takes as repository settings (see above). */
export interface S3ClientOverrides {
  /** host[:port] of the S3 service, without the scheme. */
  endpoint?: string;
  protocol?: 'http' | 'https';
  path_style_access?: boolean;
}

/** Inline S3 credentials: only older Elasticsearch (6.x, 7.x with es.allow_insecure_settings) reads them. */
export interface S3InlineCredentials {
  access_key: string;
  secret_key: string;
}

export type S3RepositorySettings = estypes.SnapshotS3RepositorySettings &
  S3ClientOverrides &
  Partial<S3InlineCredentials>;

export type S3RepositoryRequest = estypes.SnapshotCreateRepositoryRequest & {
  repository: estypes.SnapshotS3Repository & { settings: S3RepositorySettings };
};

export type FsRepositoryRequest = estypes.SnapshotCreateRepositoryRequest & {
  repository: estypes.SnapshotSharedFileSystemRepository;
};

export type RepositoryRequest = S3RepositoryRequest | FsRepositoryRequest;

export type RepositorySpec =
  | {
      type: 's3';
      bucket: string;
      /** The named S3 client of the nodes (`s3.client.<client>.*`, keystore credentials). */
      client: string;
      /** Folder in the bucket ('' = the bucket's root). */
      basePath: string;
      /** Where Elasticsearch reaches the S3 endpoint (http(s)://host:port); undefined = the client's own setting. */
      endpoint: URL | undefined;
      pathStyleAccess: boolean;
      /** Sent inline only when set (the explicit switch). */
      inlineCredentials: S3InlineCredentials | undefined;
    }
  | { type: 'fs'; location: string };

export function repositoryRequest(name: string, spec: RepositorySpec): RepositoryRequest {
  if (spec.type === 'fs') {
    return {
      name,
      verify: false,
      repository: { type: 'fs', settings: { location: spec.location } },
    } satisfies FsRepositoryRequest;
  }
  const settings: S3RepositorySettings = { bucket: spec.bucket, client: spec.client };
  if (spec.basePath !== '') settings.base_path = spec.basePath;
  if (spec.endpoint !== undefined) {
    settings.endpoint = spec.endpoint.host;
    settings.protocol = spec.endpoint.protocol === 'https:' ? 'https' : 'http';
  }
  settings.path_style_access = spec.pathStyleAccess;
  if (spec.inlineCredentials !== undefined) {
    settings.access_key = spec.inlineCredentials.access_key;
    settings.secret_key = spec.inlineCredentials.secret_key;
  }
  // verify=false here: `configure` verifies with its own call, so that the answer names the nodes.
  return { name, verify: false, repository: { type: 's3', settings } } satisfies S3RepositoryRequest;
}

export interface PolicySpec {
  policyId: string;
  repository: string;
  /** Elasticsearch cron, checked by config/cron.ts. */
  schedule: string;
  indices: string[];
  expireAfter: string;
  minCount: number;
  maxCount: number;
}

/** Snapshot metadata that marks the snapshots stackbackup takes (both engines). */
export const SNAPSHOT_METADATA = { taken_by: 'stackbackup' } as const;

export function policyRequest(spec: PolicySpec): estypes.SlmPutLifecycleRequest {
  return {
    policy_id: spec.policyId,
    schedule: spec.schedule,
    name: ELASTICSEARCH_SNAPSHOT_TEMPLATE,
    repository: spec.repository,
    config: {
      indices: spec.indices,
      // A pattern that matches nothing (yet) must not fail the snapshot, as with StackState's policy.
      ignore_unavailable: true,
      include_global_state: false,
      metadata: { ...SNAPSHOT_METADATA, engine: 'slm' },
    },
    retention: { expire_after: spec.expireAfter, min_count: spec.minCount, max_count: spec.maxCount },
  } satisfies estypes.SlmPutLifecycleRequest;
}

export function snapshotRequest(
  repository: string,
  snapshot: string,
  indices: string[],
): estypes.SnapshotCreateRequest {
  return {
    repository,
    snapshot,
    indices,
    ignore_unavailable: true,
    include_global_state: false,
    wait_for_completion: true,
    metadata: { ...SNAPSHOT_METADATA, engine: 'cronjob' },
  } satisfies estypes.SnapshotCreateRequest;
}

/** Restores exactly the named indices (already resolved against the snapshot), without cluster state. */
export function restoreRequest(
  repository: string,
  snapshot: string,
  indices: string[],
): estypes.SnapshotRestoreRequest {
  return {
    repository,
    snapshot,
    indices,
    include_global_state: false,
    include_aliases: true,
    wait_for_completion: true,
  } satisfies estypes.SnapshotRestoreRequest;
}

/**
 * A drill's restore: the named indices renamed to `drill-<index>` (so a live index is never opened or
 * replaced), without aliases (a live alias must never point at a drill index) and without replicas.
 */
export function drillRestoreRequest(
  repository: string,
  snapshot: string,
  indices: string[],
): estypes.SnapshotRestoreRequest {
  return {
    ...restoreRequest(repository, snapshot, indices),
    rename_pattern: ELASTICSEARCH_DRILL_RENAME.pattern,
    rename_replacement: ELASTICSEARCH_DRILL_RENAME.replacement,
    include_aliases: false,
    index_settings: { 'index.number_of_replicas': 0 },
  } satisfies estypes.SnapshotRestoreRequest;
}

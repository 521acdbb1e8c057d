/**
 * The real-node tier, the two gateway modes: the chart's s3proxy gateway pod (the image of
 * scripts/images/recipes/s3proxy.sh) in front of a MinIO pod standing in for AWS S3
 * (minio.s3gateway) and, after `helm uninstall`, in front of an Azurite pod standing in for Azure Blob
 * Storage (minio.azuregateway). Through each: one StackGraph backup by the scheduled CronJob, listed and
 * restored by the operator scripts, the store equal to the backup; the backup is in the backend, not in
 * the gateway (which keeps nothing).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { HELM_BUILDS, helm } from '../chart/helm.js';
import { AZURITE_ACCOUNT, AZURITE_KEY } from '../servers/azurite.js';
import {
  GRAPH_CLAIM,
  NS,
  RELEASE,
  RESTRICTED_CONTAINER,
  RESTRICTED_POD,
  SECRET_KEY,
  baseValues,
  image,
  imageValue,
  stackGraphRoundTrip,
  standInValues,
  startRealNode,
  type RealNode,
} from './real-node.js';

const CLOUD_ACCESS = 'cloudaccess01';
const CLOUD_SECRET = 'cloudsecret0123456789';

let node: RealNode;

before(async () => {
  node = await startRealNode('real-node-gateways', ['jobs', 'minio', 's3proxy', 'azurite', 'stackgraph-standin']);
  await node.apply(GRAPH_CLAIM);
});

after(async () => {
  await node?.stop();
});

/** A Deployment and Service NAME of IMAGE on a claim of its own at DATA (the cloud service the gateway fronts). */
async function backend(
  name: string,
  imageName: string,
  port: number,
  data: string,
  container: Record<string, unknown>,
): Promise<string> {
  const labels = { app: name };
  await node.apply({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  await node.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: { selector: labels, ports: [{ name: 'api', port, targetPort: port }] },
  });
  await node.apply({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          securityContext: RESTRICTED_POD,
          containers: [
            {
              name,
              image: image(imageName).reference,
              imagePullPolicy: 'Never',
              securityContext: RESTRICTED_CONTAINER,
              ports: [{ containerPort: port }],
              readinessProbe: { tcpSocket: { port }, periodSeconds: 2 },
              resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '512Mi' } },
              volumeMounts: [
                { name: 'data', mountPath: data },
                { name: 'tmp', mountPath: '/tmp' },
              ],
              ...container,
            },
          ],
          volumes: [
            { name: 'data', persistentVolumeClaim: { claimName: name } },
            { name: 'tmp', emptyDir: {} },
          ],
        },
      },
    },
  });
  await node.rollout(`deployment/${name}`);
  const folder = await node.cluster.volumePath(NS, name);
  assert.ok(folder !== undefined, `the claim of ${name} is bound`);
  return folder;
}

/** Each mode is a release of its own: removed after each test, passed or not. */
afterEach(async () => {
  const removed = await helm(
    ['uninstall', RELEASE, '--namespace', NS, '--wait', '--timeout', '120s'],
    node.helmEnv,
    HELM_BUILDS[0].binary,
  );
  assert.equal(removed.code, 0, removed.stderr);
});

/** The chart's values of a gateway mode: the gateway's image built here, StackGraph on the stand-in. */
function gatewayValues(minio: Record<string, unknown>): Record<string, unknown> {
  const values = baseValues({ elasticsearch: { enabled: false }, stackGraph: standInValues() });
  const base = values.minio as Record<string, unknown>;
  return {
    ...values,
    minio: {
      accessKey: base.accessKey,
      secretKey: base.secretKey,
      persistence: { enabled: false },
      gateway: { image: imageValue('s3proxy'), javaOpts: '-Xmx128m -XX:TieredStopAtLevel=1' },
      ...minio,
    },
  };
}

describe('the gateway modes on a real kubelet', () => {
  it('S3 gateway: s3proxy in front of a MinIO pod; a StackGraph backup and restore through it, the backup stored in the backend', async () => {
    const folder = await backend('cloud-s3', 'minio', 9000, '/data', {
      env: [
        { name: 'MINIO_ROOT_USER', value: CLOUD_ACCESS },
        { name: 'MINIO_ROOT_PASSWORD', value: CLOUD_SECRET },
        { name: 'MINIO_BROWSER', value: 'off' },
      ],
    });
    await node.install(
      gatewayValues({
        s3gateway: {
          enabled: true,
          serviceEndpoint: 'http://cloud-s3:9000',
          provider: 's3',
          accessKey: CLOUD_ACCESS,
          secretKey: CLOUD_SECRET,
        },
      }),
    );
    const pods = await node.kubectl(['get', 'pods', '--output', 'jsonpath={range .items[*]}{.metadata.name} {end}']);
    assert.match(pods, /stackbackup-gateway-/, 'the gateway serves the in-cluster endpoint');
    const gatewayLog = await node.kubectl(['logs', `deployment/${RELEASE}-gateway`]);
    assert.match(gatewayLog, /run-s3proxy: serving S3 on \S+ in front of s3 at http:\/\/cloud-s3:9000/);
    assert.ok(!gatewayLog.includes(CLOUD_SECRET) && !gatewayLog.includes(SECRET_KEY), 'no credential in its log');

    const name = await stackGraphRoundTrip(node, 's3gw');
    assert.ok(existsSync(join(folder, 'sts-stackgraph-backup', name)), `${name} is stored in the backend MinIO`);
  });

  it('Azure gateway: s3proxy in front of an Azurite pod; a StackGraph backup and restore through it, the backup stored in the backend', async () => {
    const folder = await backend('cloud-blob', 'azurite', 10000, '/data', {});
    await node.install(
      gatewayValues({
        accessKey: AZURITE_ACCOUNT,
        secretKey: AZURITE_KEY,
        azuregateway: { enabled: true, serviceEndpoint: `http://cloud-blob:10000/${AZURITE_ACCOUNT}` },
      }),
    );
    const gatewayLog = await node.kubectl(['logs', `deployment/${RELEASE}-gateway`]);
    assert.match(gatewayLog, /in front of azureblob-sdk at http:\/\/cloud-blob:10000\/devstoreaccount1/);
    assert.ok(!gatewayLog.includes(AZURITE_KEY), 'no account key in its log');

    const name = await stackGraphRoundTrip(node, 'azgw');
    // Azurite keeps blob names in its metadata database (the data in extent files), saved every few seconds.
    const stored = async (): Promise<boolean> => {
      const db = readdirSync(folder).find((f) => f.startsWith('__azurite_db_blob__'));
      return db !== undefined && readFileSync(join(folder, db), 'utf8').includes(name);
    };
    for (let i = 0; i < 30 && !(await stored()); i++) await new Promise((r) => setTimeout(r, 1000));
    assert.ok(await stored(), `${name} is stored in the backend Azurite: ${readdirSync(folder).join(', ')}`);
  });
});

/**
 * The container images built without Docker (scripts/images/build.sh, run by scripts/setup.sh): the
 * job image's OCI archive is read as a registry or containerd would read it (index.json -> manifest
 * -> config, every blob checked against its digest) and then RUN with runc under the restrictions the
 * chart asks for (read-only root, uid/gid 65532, no capabilities, no new privileges, its own network
 * namespace with nothing but loopback, a tmpfs on /tmp). Inside it, stackbackup, node, vmbackup,
 * vmrestore and restic run and are the very binaries the rest of the suite tests. The images of the
 * test cluster exist and run as non-root. (The pod sandbox image, pause, is the real node's: scripts/install/node-images.sh.)
 * Needs root (runc, umoci unpack); umoci and runc come from scripts/install/image-tools.sh.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { REPO_ROOT, TOOLS_DIR, tempDir, toolPath } from '../servers/harness.js';

const IMAGES_DIR = join(TOOLS_DIR, 'images');
const BUILD_HINT = 'run: bash scripts/images/build.sh (scripts/setup.sh builds every image)';
const APP_VERSION = (parse(readFileSync(join(REPO_ROOT, 'chart', 'Chart.yaml'), 'utf8')) as { appVersion: string })
  .appVersion;

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
}
interface OciIndex {
  schemaVersion: number;
  manifests: Descriptor[];
}
interface OciManifest {
  schemaVersion: number;
  config: Descriptor;
  layers: Descriptor[];
}
interface OciConfig {
  architecture: string;
  os: string;
  config: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[];
    Cmd?: string[];
    WorkingDir?: string;
    ExposedPorts?: Record<string, object>;
  };
  rootfs: { type: string; diff_ids: string[] };
}
interface IndexEntry {
  name: string;
  reference: string;
  containerdName: string;
  archive: string;
  digest: string;
  user: string;
}
interface RuntimeSpec {
  process: {
    terminal?: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env?: string[];
    cwd: string;
    capabilities?: Record<string, string[]>;
    noNewPrivileges?: boolean;
    rlimits?: unknown[];
  };
  root: { path: string; readonly?: boolean };
  hostname?: string;
  mounts: { destination: string; type: string; source: string; options?: string[] }[];
  linux: { namespaces: { type: string; path?: string }[]; [key: string]: unknown };
  [key: string]: unknown;
}

/** One member of a tar archive, read with the system tar (the archive is a plain OCI layout tar). */
function member(archive: string, path: string): Buffer {
  return execFileSync('tar', ['-xOf', archive, path], { maxBuffer: 1 << 30 });
}
const blobPath = (digest: string): string => `blobs/${digest.replace(':', '/')}`;
const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

function readImage(archive: string): {
  index: OciIndex;
  manifest: OciManifest;
  config: OciConfig;
  manifestDescriptor: Descriptor;
} {
  assert.ok(existsSync(archive), `image archive ${archive} is missing; ${BUILD_HINT}`);
  const listing = execFileSync('tar', ['-tf', archive], { encoding: 'utf8' }).split('\n');
  assert.ok(
    listing.includes('oci-layout') && listing.includes('index.json'),
    `${archive} is not an OCI layout tar: ${listing.slice(0, 5).join(', ')}`,
  );
  const index = JSON.parse(member(archive, 'index.json').toString('utf8')) as OciIndex;
  assert.equal(index.manifests.length, 1, 'one image per archive');
  const manifestDescriptor = index.manifests[0]!;
  const manifestBytes = member(archive, blobPath(manifestDescriptor.digest));
  assert.equal(sha256(manifestBytes), manifestDescriptor.digest, 'manifest blob matches its digest');
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as OciManifest;
  const configBytes = member(archive, blobPath(manifest.config.digest));
  assert.equal(sha256(configBytes), manifest.config.digest, 'config blob matches its digest');
  const config = JSON.parse(configBytes.toString('utf8')) as OciConfig;
  return { index, manifest, config, manifestDescriptor };
}

const JOBS_ARCHIVE = join(IMAGES_DIR, `jobs-${APP_VERSION}.tar`);
const UMOCI = toolPath('umoci', 'image-tools');
const RUNC = toolPath('runc', 'image-tools');

let work = '';
let runcRoot = '';
let bundle = '';
let baseSpec: RuntimeSpec;
const containers = new Set<string>();
let seq = 0;

/** Runs ARGS in a fresh container of the job image; returns exit code and output. */
async function runInImage(
  args: string[],
  specBundle = bundle,
  spec = baseSpec,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const id = `stackbackup-images-${process.pid}-${++seq}`;
  const config: RuntimeSpec = structuredClone(spec);
  config.process.args = args;
  await writeFile(join(specBundle, 'config.json'), JSON.stringify(config, null, 2));
  containers.add(id);
  const child = spawn(RUNC, ['--root', runcRoot, 'run', '--bundle', specBundle, id], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  spawnSync(RUNC, ['--root', runcRoot, 'delete', '--force', id]);
  containers.delete(id);
  return { code, stdout, stderr };
}

/** The restricted runtime spec: what the chart's securityContext asks a kubelet for. */
function restrict(spec: RuntimeSpec): RuntimeSpec {
  const s = structuredClone(spec);
  s.root.readonly = true;
  s.process.terminal = false;
  s.process.noNewPrivileges = true;
  s.process.capabilities = { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] };
  s.mounts = s.mounts.filter((m) => m.destination !== '/tmp');
  s.mounts.push({
    destination: '/tmp',
    type: 'tmpfs',
    source: 'tmpfs',
    options: ['nosuid', 'nodev', 'noexec', 'mode=1777', 'size=64m'],
  });
  if (!s.linux.namespaces.some((n) => n.type === 'network')) s.linux.namespaces.push({ type: 'network' });
  return s;
}

/** Each image is unpacked once (umoci takes seconds for the large ones) and shared by its tests. */
const unpacked = new Map<string, Promise<{ dir: string; spec: RuntimeSpec }>>();
function unpackOnce(archive: string, tag: string, name: string): Promise<{ dir: string; spec: RuntimeSpec }> {
  let bundle = unpacked.get(name);
  if (!bundle) {
    bundle = unpack(archive, tag, name);
    unpacked.set(name, bundle);
  }
  return bundle;
}

async function unpack(archive: string, tag: string, name: string): Promise<{ dir: string; spec: RuntimeSpec }> {
  const layout = join(work, `${name}-layout`);
  const dir = join(work, `${name}-bundle`);
  await mkdir(layout, { recursive: true });
  execFileSync('tar', ['-xf', archive, '-C', layout]);
  execFileSync(UMOCI, ['unpack', '--image', `${layout}:${tag}`, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  await rm(layout, { recursive: true, force: true });
  return { dir, spec: JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as RuntimeSpec };
}

before(async () => {
  assert.equal(process.getuid?.(), 0, 'this test runs containers with runc and needs root');
  work = await tempDir('images');
  runcRoot = join(work, 'runc-state');
  await mkdir(runcRoot, { recursive: true });
  const jobsImage = await unpack(JOBS_ARCHIVE, APP_VERSION, 'jobs');
  bundle = jobsImage.dir;
  // What the image's config gives the runtime: umoci derives the process from it.
  assert.deepEqual(
    [jobsImage.spec.process.user.uid, jobsImage.spec.process.user.gid],
    [65532, 65532],
    'the image config makes the runtime user 65532:65532',
  );
  assert.deepEqual(jobsImage.spec.process.args, ['stackbackup', '--help']);
  baseSpec = restrict(jobsImage.spec);
});

after(async () => {
  for (const id of containers) spawnSync(RUNC, ['--root', runcRoot, 'delete', '--force', id]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the job image (OCI archive built by scripts/images/recipes/jobs.sh)', () => {
  it('has the config the chart relies on: user 65532:65532, entrypoint stackbackup, HOME=/tmp', () => {
    const { index, manifest, config, manifestDescriptor } = readImage(JOBS_ARCHIVE);
    assert.equal(
      manifestDescriptor.annotations?.['io.containerd.image.name'],
      `docker.io/stackbackup/jobs:${APP_VERSION}`,
      'the name `ctr images import` gives it',
    );
    assert.equal(
      manifestDescriptor.annotations?.['org.opencontainers.image.ref.name'],
      APP_VERSION,
      'the tag skopeo copy oci-archive:FILE:TAG reads',
    );
    assert.equal(index.schemaVersion, 2);
    assert.equal(config.os, 'linux');
    assert.equal(config.architecture, 'amd64');
    assert.equal(config.config.User, '65532:65532');
    assert.deepEqual(config.config.Entrypoint, ['stackbackup']);
    assert.deepEqual(config.config.Cmd, ['--help']);
    assert.equal(config.config.WorkingDir, '/app');
    assert.ok(config.config.Env?.includes('HOME=/tmp'), `Env: ${JSON.stringify(config.config.Env)}`);
    assert.ok(
      config.config.Env?.some((e) => /^PATH=.*\/usr\/local\/bin/.test(e)),
      'node and stackbackup are on PATH',
    );
    assert.equal(manifest.layers.length, config.rootfs.diff_ids.length);
    for (const layer of manifest.layers)
      assert.equal(sha256(member(JOBS_ARCHIVE, blobPath(layer.digest))), layer.digest, `layer ${layer.digest}`);
  });

  it('is readable by skopeo as the archive to push (skopeo copy oci-archive:FILE:TAG docker://...)', () => {
    const skopeo = spawnSync('skopeo', ['inspect', '--config', `oci-archive:${JOBS_ARCHIVE}:${APP_VERSION}`], {
      encoding: 'utf8',
    });
    assert.equal(skopeo.error, undefined, 'skopeo is installed by scripts/install/image-tools.sh');
    assert.equal(skopeo.status, 0, skopeo.stderr);
    const config = JSON.parse(skopeo.stdout) as OciConfig;
    assert.equal(config.config.User, '65532:65532');
    assert.deepEqual(config.config.Entrypoint, ['stackbackup']);
  });

  it('ships the same binaries the tests run (node 22, vmbackup, vmrestore, restic) and the CLI bundle', async () => {
    const rootfs = join(bundle, 'rootfs');
    const same = async (inImage: string, onHost: string): Promise<void> =>
      assert.equal(
        sha256(await readFile(join(rootfs, inImage))),
        sha256(await readFile(onHost)),
        `${inImage} is ${onHost}`,
      );
    await same('usr/local/bin/node', join(TOOLS_DIR, 'node22', 'bin', 'node'));
    await same('usr/local/bin/vmbackup', toolPath('vmbackup', 'victoria-metrics'));
    await same('usr/local/bin/vmrestore', toolPath('vmrestore', 'victoria-metrics'));
    await same('usr/local/bin/restic', toolPath('restic', 'restic'));
    await same('app/dist/job/stackbackup.mjs', join(REPO_ROOT, 'dist', 'job', 'stackbackup.mjs'));
  });

  it('runs stackbackup, node, vmbackup, vmrestore and restic at the pinned versions under runc', async () => {
    const help = await runInImage(['stackbackup', '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /stackgraph/);
    const node = await runInImage(['node', '--version']);
    assert.equal(node.code, 0, node.stderr);
    assert.equal(node.stdout.trim(), 'v22.18.0');
    const restic = await runInImage(['restic', 'version']);
    assert.equal(restic.code, 0, restic.stderr);
    assert.match(restic.stdout, /^restic 0\.14\.0 /);
    // Debian's VictoriaMetrics 1.79.5 build prints no version text; the binaries are the pinned
    // package's (the checksum test above), and they start in the image's libraries.
    for (const tool of ['vmbackup', 'vmrestore']) {
      const res = await runInImage([tool, '-version']);
      assert.equal(res.code, 0, `${tool}: ${res.stderr}`);
    }
    assert.equal(readFileSync(join(TOOLS_DIR, 'stamps', 'victoria-metrics'), 'utf8').split('+')[0], '1.79.5');
    const vmHelp = await runInImage(['vmbackup', '-help']);
    assert.match(vmHelp.stdout + vmHelp.stderr, /vmbackup performs backups/);
  });

  it('is confined: uid/gid 65532, no capabilities, no new privileges, read-only root, writable /tmp, no network', async () => {
    const res = await runInImage([
      'sh',
      '-c',
      [
        'id -u; id -g; echo "HOME=$HOME"; pwd',
        'grep -E "^(CapEff|CapPrm|CapBnd|NoNewPrivs):" /proc/self/status',
        'if touch /probe 2>/dev/null; then echo "root: writable"; else echo "root: read-only"; fi',
        'if touch /app/probe 2>/dev/null; then echo "app: writable"; else echo "app: read-only"; fi',
        'echo data >/tmp/probe && echo "tmp: $(cat /tmp/probe)"',
        'echo "interfaces: $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\\n" " ")"',
      ].join('; '),
    ]);
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.trim().split('\n');
    assert.deepEqual(lines.slice(0, 4), ['65532', '65532', 'HOME=/tmp', '/app']);
    const status = Object.fromEntries(
      lines.filter((l) => /^(Cap|NoNew)/.test(l)).map((l) => l.split(/:\s+/) as [string, string]),
    );
    assert.deepEqual(status, {
      CapPrm: '0000000000000000',
      CapEff: '0000000000000000',
      CapBnd: '0000000000000000',
      NoNewPrivs: '1',
    });
    assert.ok(lines.includes('root: read-only'), res.stdout);
    assert.ok(lines.includes('app: read-only'), res.stdout);
    assert.ok(lines.includes('tmp: data'), res.stdout);
    assert.match(res.stdout, /^interfaces: lo $/m, "only loopback in the container's network namespace");
    // The CLI itself writes nothing outside /tmp: a full command (an error on purpose: no endpoint).
    const list = await runInImage(['stackbackup', 'stackgraph', 'list', '--bucket', 'b', '--json']);
    assert.doesNotMatch(list.stderr, /EROFS|read-only file system/i, list.stderr);
  });
});

describe('the images of the test cluster', () => {
  const indexPath = join(IMAGES_DIR, 'index.json');
  const entries = (): IndexEntry[] => {
    assert.ok(existsSync(indexPath), `${indexPath} is missing; ${BUILD_HINT}`);
    return (JSON.parse(readFileSync(indexPath, 'utf8')) as { images: IndexEntry[] }).images;
  };
  const expected: Record<string, { user: string; entrypoint: string; port?: string }> = {
    jobs: { user: '65532:65532', entrypoint: 'stackbackup' },
    minio: { user: '65532:65532', entrypoint: 'minio', port: '9000/tcp' },
    s3proxy: { user: '65532:65532', entrypoint: 'java', port: '9000/tcp' },
    azurite: { user: '65532:65532', entrypoint: 'node', port: '10000/tcp' },
    'victoria-metrics': { user: '65532:65532', entrypoint: 'victoria-metrics', port: '8428/tcp' },
    elasticsearch: { user: '65532:65532', entrypoint: '/usr/share/elasticsearch/bin/elasticsearch', port: '9200/tcp' },
    'stackgraph-standin': { user: '65532:65532', entrypoint: 'sts-graph-standin' },
  };

  for (const [name, want] of Object.entries(expected)) {
    it(`${name}: the archive exists and runs as ${want.user}`, () => {
      const entry = entries().find((e) => e.name === name);
      assert.ok(entry, `${name} is not in ${indexPath}; ${BUILD_HINT}`);
      const { config, manifestDescriptor } = readImage(entry.archive);
      assert.equal(manifestDescriptor.digest, entry.digest, "index.json names the archive's manifest");
      assert.equal(manifestDescriptor.annotations?.['io.containerd.image.name'], entry.containerdName);
      assert.equal(config.config.User, want.user);
      assert.notEqual(config.config.User?.split(':')[0], '0', 'non-root');
      assert.equal(config.config.Entrypoint?.[0], want.entrypoint);
      if (want.port) assert.ok(config.config.ExposedPorts?.[want.port], `${name} exposes ${want.port}`);
    });
  }

  // Each image's program starts under the same restrictions as the job image (read-only root, its
  // user, no capabilities, no network): the image has what the program needs.
  const smoke: Record<string, { args: string[]; output: RegExp }> = {
    minio: { args: ['minio', '--version'], output: /^minio version /m },
    s3proxy: { args: ['java', '-jar', '/opt/s3proxy/s3proxy', '--version'], output: /\b4\.1\.0\b/ },
    azurite: {
      args: ['node', '/opt/azurite/node_modules/azurite/dist/src/blob/main.js', '--version'],
      output: /^3\.37\.0$/m,
    },
    'victoria-metrics': { args: ['victoria-metrics', '-help'], output: /victoria-metrics is a time series database/ },
    elasticsearch: {
      args: ['/usr/share/elasticsearch/bin/elasticsearch', '--version'],
      output: /^Version: 8\.19\.2,/m,
    },
    'stackgraph-standin': { args: ['sts-graph-standin', '-db', '/tmp/graph.db', '-count'], output: /^0$/m },
    coredns: { args: ['/coredns', '-version'], output: /^CoreDNS-\d/m },
  };
  for (const [name, { args, output }] of Object.entries(smoke)) {
    it(`${name}: ${args.join(' ')} runs in the image`, async () => {
      const entry = entries().find((e) => e.name === name);
      if (name === 'coredns' && !existsSync(join(TOOLS_DIR, 'bin', 'coredns'))) {
        assert.equal(entry, undefined, 'no CoreDNS binary, no image (the next test checks the recipe says so)');
        return;
      }
      assert.ok(entry, `${name} is not in ${indexPath}; ${BUILD_HINT}`);
      const { dir, spec } = await unpackOnce(entry.archive, entry.reference.split(':').pop() ?? '', name);
      const res = await runInImage(args, dir, restrict(spec));
      assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
      assert.match(res.stdout + res.stderr, output);
    });
  }

  // The servers start and answer in their images: each in its own network namespace (only loopback;
  // the probe runs curl inside that namespace with nsenter), as its user with no capabilities, the
  // root read-only where the server allows it and its data folder a tmpfs owned by the image's user
  // (what fsGroup gives a claim).
  const servers: Record<string, { port: number; path: string; data?: string; writableRoot?: boolean; body?: RegExp }> =
    {
      minio: { port: 9000, path: '/minio/health/live', data: '/data' },
      'victoria-metrics': { port: 8428, path: '/health', data: '/storage', body: /OK/ },
      azurite: { port: 10000, path: '/devstoreaccount1?comp=list', data: '/data' },
      // Elasticsearch writes into its config folder (keystore) and logs: its root stays writable.
      elasticsearch: {
        port: 9200,
        path: '/_cluster/health',
        writableRoot: true,
        body: /"cluster_name":"elasticsearch".*"status":"(green|yellow)"/,
      },
    };
  for (const [name, server] of Object.entries(servers)) {
    it(`${name}: the server starts in its image and answers on port ${server.port}`, { timeout: 180_000 }, async () => {
      const entry = entries().find((e) => e.name === name);
      assert.ok(entry, `${name} is not in ${indexPath}; ${BUILD_HINT}`);
      const { dir, spec } = await unpackOnce(entry.archive, entry.reference.split(':').pop() ?? '', name);
      const config = restrict(spec);
      if (server.writableRoot) config.root.readonly = false;
      if (server.data)
        config.mounts.push({
          destination: server.data,
          type: 'tmpfs',
          source: 'tmpfs',
          options: ['nosuid', 'nodev', 'mode=0750', `uid=${config.process.user.uid}`, `gid=${config.process.user.gid}`],
        });
      // Elasticsearch resolves its host name: /etc/hosts as the kubelet writes it.
      const hosts = join(work, `${name}.hosts`);
      await writeFile(hosts, `127.0.0.1 localhost ${name}\n::1 localhost\n`);
      config.hostname = name;
      config.mounts.push({ destination: '/etc/hosts', type: 'bind', source: hosts, options: ['rbind', 'ro'] });
      if (name === 'elasticsearch')
        config.process.env = [...(config.process.env ?? []), 'ES_JAVA_OPTS=-Xms256m -Xmx256m'];
      await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2));
      const id = `stackbackup-images-${name}-${process.pid}`;
      const log = join(work, `${name}.log`);
      const out = openSync(log, 'w');
      containers.add(id);
      try {
        const run = spawnSync(RUNC, ['--root', runcRoot, 'run', '--detach', '--bundle', dir, id], {
          stdio: ['ignore', out, out],
        });
        assert.equal(run.status, 0, readFileSync(log, 'utf8'));
        const state = JSON.parse(execFileSync(RUNC, ['--root', runcRoot, 'state', id], { encoding: 'utf8' })) as {
          pid: number;
          status: string;
        };
        const links = execFileSync('nsenter', ['-t', String(state.pid), '-n', 'ip', '-o', 'link'], { encoding: 'utf8' })
          .trim()
          .split('\n');
        assert.deepEqual(
          links.map((l) => l.split(':')[1]?.trim()),
          ['lo'],
          'the server has nothing but loopback',
        );
        execFileSync('nsenter', ['-t', String(state.pid), '-n', 'ip', 'link', 'set', 'lo', 'up']);
        let answer = { status: 0, body: '' };
        const deadline = Date.now() + 150_000;
        while (Date.now() < deadline) {
          const res = spawnSync(
            'nsenter',
            [
              '-t',
              String(state.pid),
              '-n',
              'curl',
              '-s',
              '-m',
              '2',
              '-w',
              '\n%{http_code}',
              `http://127.0.0.1:${server.port}${server.path}`,
            ],
            { encoding: 'utf8' },
          );
          const lines = res.stdout.trim().split('\n');
          answer = { status: Number(lines.pop()), body: lines.join('\n') };
          if (answer.status > 0 && answer.status < 500 && (!server.body || server.body.test(answer.body))) break;
          const alive = spawnSync(RUNC, ['--root', runcRoot, 'state', id], { encoding: 'utf8' });
          assert.ok(
            alive.status === 0 && (JSON.parse(alive.stdout) as { status: string }).status === 'running',
            `${name} stopped:\n${readFileSync(log, 'utf8').slice(-3000)}`,
          );
          await new Promise((r) => setTimeout(r, 500));
        }
        assert.ok(
          answer.status > 0 && answer.status < 500,
          `${name} did not answer:\n${readFileSync(log, 'utf8').slice(-3000)}`,
        );
        if (server.body) assert.match(answer.body, server.body);
      } finally {
        spawnSync(RUNC, ['--root', runcRoot, 'kill', id, 'KILL']);
        for (let i = 0; i < 50 && spawnSync(RUNC, ['--root', runcRoot, 'delete', id]).status !== 0; i++)
          await new Promise((r) => setTimeout(r, 100));
        spawnSync(RUNC, ['--root', runcRoot, 'delete', '--force', id]);
        containers.delete(id);
        closeSync(out);
      }
    });
  }

  it('coredns: an image when the CoreDNS binary is installed, else the recipe says why there is none', () => {
    const coredns = join(TOOLS_DIR, 'bin', 'coredns');
    if (existsSync(coredns)) {
      const entry = entries().find((e) => e.name === 'coredns');
      assert.ok(entry, `coredns is installed but has no image; ${BUILD_HINT}`);
      assert.equal(readImage(entry.archive).config.config.User, '65532:65532');
    } else {
      const res = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'images', 'recipes', 'coredns.sh')], {
        encoding: 'utf8',
      });
      assert.equal(res.status, 0, res.stderr);
      assert.match(res.stderr, /coredns: SKIPPED, no CoreDNS binary at .*bin\/coredns/);
    }
  });
});

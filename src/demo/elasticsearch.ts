/**
 * The demo's Elasticsearch step: a real Elasticsearch (the integration-test distribution that
 * scripts/install/elasticsearch.sh installs, or STACKBACKUP_ELASTICSEARCH_HOME) on a folder of the
 * demo's work dir with an fs snapshot repository: sample events indexed, `configure` (engine cronjob),
 * a snapshot, the index deleted and restored (every document back equal), a restore over the open
 * index refused and then done with -force. Elasticsearch refuses to run as root: as root it runs as
 * the user nobody.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { chmod, chown, cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@elastic/elasticsearch';
import {
  runBackup,
  runConfigure,
  runList,
  runRestore,
  validateBackup,
  validateConfigure,
  validateList,
  validateRestore,
} from '../stores/elasticsearch/index.js';
import { ELASTICSEARCH_REPOSITORY } from '../storage/layout.js';
import { ExitCode, StackbackupError } from '../util/errors.js';
import { run } from '../util/exec.js';
import { log, section } from '../util/log.js';
import type { CommandContext } from '../cli/context.js';
import { freeLoopbackPort } from './ports.js';
import type { DemoOptions, DemoStepResult } from './run.js';

const VERSION = '8.19.2';
const NOBODY = 65534;
const INDEX = 'sts_demo_events-2024.01.05';

function elasticsearchHome(): string {
  if (process.env.STACKBACKUP_ELASTICSEARCH_HOME) return process.env.STACKBACKUP_ELASTICSEARCH_HOME;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  const tools = process.env.STACKBACKUP_TOOLS ?? join(dir, '.cache', 'tools');
  return join(tools, 'elasticsearch', VERSION);
}

async function chownTree(path: string): Promise<void> {
  await chown(path, NOBODY, NOBODY);
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) await chownTree(full);
    else await chown(full, NOBODY, NOBODY);
  }
}

const AS_NOBODY = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--'];

/** Whether the user nobody can reach path (every folder above it searchable), as root checks it. */
async function nobodyReaches(path: string): Promise<boolean> {
  const [command = 'setpriv', ...args] = AS_NOBODY;
  return run(command, [...args, 'test', '-r', path], { logOutput: false }).then(
    () => true,
    () => false,
  );
}

interface Placement {
  home: string;
  dir: string;
  /** A folder made for this run, removed afterwards. */
  staged?: string;
}

/**
 * Where Elasticsearch runs from. As root it runs as nobody, who cannot enter a checkout below a
 * folder only root may enter (mode 0700, as root's home usually is): then the installation and the
 * server's folders are staged in a temporary folder everyone may enter.
 */
async function placement(workDir: string): Promise<Placement> {
  const home = elasticsearchHome();
  const dir = resolve(workDir, 'elasticsearch');
  if (process.getuid?.() !== 0) return { home, dir };
  await mkdir(workDir, { recursive: true });
  if ((await nobodyReaches(join(home, 'bin', 'elasticsearch'))) && (await nobodyReaches(workDir))) return { home, dir };
  const staged = await mkdtemp(join(tmpdir(), 'stackbackup-demo-es-'));
  await chmod(staged, 0o755);
  log(`the user nobody cannot enter ${dirname(resolve(workDir))}: Elasticsearch runs from ${staged}`);
  await cp(home, join(staged, 'home'), { recursive: true, preserveTimestamps: true });
  return { home: join(staged, 'home'), dir: join(staged, 'server'), staged };
}

async function startElasticsearch(workDir: string): Promise<{ url: string; child: ChildProcess; staged?: string }> {
  const installed = elasticsearchHome();
  if (!existsSync(join(installed, 'bin', 'elasticsearch'))) {
    throw new StackbackupError(`Elasticsearch is not installed at ${installed}`, {
      hint: 'Run the demo through scripts/demo.sh, which installs it (scripts/install/elasticsearch.sh).',
    });
  }
  const java =
    process.env.ES_JAVA_HOME ??
    dirname(
      dirname(
        realpathSync(
          (await run('sh', ['-c', 'command -v java'], { logOutput: false, hint: 'Install Java 17+.' })).stdout.trim(),
        ),
      ),
    );
  const { home, dir, staged } = await placement(workDir);
  const conf = join(dir, 'config');
  await cp(join(home, 'config'), conf, { recursive: true });
  for (const sub of ['data', 'logs', 'tmp', 'repo']) await mkdir(join(dir, sub), { recursive: true });
  const jvm = readFileSync(join(home, 'config', 'jvm.options'), 'utf8')
    .split('\n')
    .filter((l) => !/Xlog|HeapDump|ErrorFile/.test(l));
  await writeFile(
    join(conf, 'jvm.options'),
    [...jvm, '-Xms256m', '-Xmx512m', '-XX:TieredStopAtLevel=1', ''].join('\n'),
  );
  const port = await freeLoopbackPort();
  await writeFile(
    join(conf, 'elasticsearch.yml'),
    [
      'cluster.name: stackbackup-demo',
      'network.host: 127.0.0.1',
      `http.port: ${port}`,
      `transport.port: ${await freeLoopbackPort()}`,
      'discovery.type: single-node',
      `path.data: ${join(dir, 'data')}`,
      `path.logs: ${join(dir, 'logs')}`,
      `path.repo: ["${join(dir, 'repo')}"]`,
      'xpack.security.enabled: false',
      'cluster.routing.allocation.disk.threshold_enabled: false',
      '',
    ].join('\n'),
  );
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    for (let d = dir; d !== dirname(d); d = dirname(d)) if (d.startsWith(resolve(workDir))) await chmod(d, 0o755);
    await chownTree(dir);
  }
  const bin = join(home, 'bin', 'elasticsearch');
  const [command, args] = asRoot ? ['setpriv', [...AS_NOBODY.slice(1), bin]] : [bin, []];
  const child = spawn(command, args, {
    env: { ...process.env, ES_PATH_CONF: conf, ES_TMPDIR: join(dir, 'tmp'), ES_JAVA_HOME: java, ES_JAVA_OPTS: '' },
    cwd: dir,
    stdio: 'ignore',
    detached: true,
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 300_000;
  log(`starting Elasticsearch ${VERSION} on ${url} (data in ${dir})`);
  for (;;) {
    if (child.exitCode !== null) {
      throw new StackbackupError(
        `Elasticsearch exited (code ${child.exitCode}) before it answered; see ${join(dir, 'logs')}`,
        {
          hint: asRoot
            ? `It runs as the user nobody (Elasticsearch refuses root): that user must be able to read ${home} and write ${dir}.`
            : undefined,
        },
      );
    }
    const health = await fetch(`${url}/_cluster/health`, { signal: AbortSignal.timeout(2000) })
      .then((r) => (r.ok ? (r.json() as Promise<{ status?: string }>) : undefined))
      .catch(() => undefined);
    if (health?.status === 'green' || health?.status === 'yellow')
      return { url, child, ...(staged === undefined ? {} : { staged }) };
    if (Date.now() > deadline) throw new StackbackupError('Elasticsearch did not answer within 300 s');
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Stops the launcher and the server JVM it started (one process group). */
async function stopElasticsearch(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = once(child, 'exit');
  process.kill(-child.pid, 'SIGTERM');
  await exited;
}

async function documents(client: Client): Promise<string> {
  const answer = await client.search({ index: INDEX, size: 10_000, query: { match_all: {} } });
  return JSON.stringify(
    answer.hits.hits.map((h) => [h._id, h._source]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
  );
}

export async function elasticsearchDemoStep(options: DemoOptions, ctx: CommandContext): Promise<DemoStepResult> {
  section('Elasticsearch: snapshot repository, a snapshot, restores of chosen indices');
  const server = await startElasticsearch(options.workDir);
  const client = new Client({ node: server.url });
  try {
    const url = server.url;
    const count = 2000;
    await client.indices.create({ index: INDEX, settings: { number_of_shards: 1, number_of_replicas: 0 } });
    const operations = Array.from({ length: count }, (_, i) => [
      { index: { _index: INDEX, _id: `event-${i}` } },
      { n: i, message: `demo event ${i}`, level: i % 7 === 0 ? 'warn' : 'info' },
    ]).flat();
    await client.bulk({ operations, refresh: true });
    const before = await documents(client);
    await runConfigure(
      validateConfigure({ url, repositoryType: 'fs', location: 'demo-repository', engine: 'cronjob' }),
      ctx,
    );
    const snapshot = await runBackup(validateBackup({ url, indices: 'sts*' }), ctx);
    const listed = await runList(validateList({ url }), ctx);
    log(
      `snapshots in "${ELASTICSEARCH_REPOSITORY}": ${listed.snapshots.map((s) => `${s.name} (${s.state}, ${s.indices.length} index)`).join(', ')}`,
    );

    await client.indices.delete({ index: INDEX });
    log(`deleted index ${INDEX}`);
    const restored = await runRestore(validateRestore({ url, name: snapshot.name, indices: INDEX }), ctx);
    if ((await documents(client)) !== before)
      throw new StackbackupError('demo: the restored index differs from the original');
    log(`restored ${INDEX}: all ${count} documents equal`);

    await client.index({ index: INDEX, id: 'written-after-the-snapshot', document: { message: 'new' }, refresh: true });
    let refused = '';
    try {
      await runRestore(validateRestore({ url, name: snapshot.name, indices: INDEX }), ctx);
    } catch (err) {
      if (!(err instanceof StackbackupError) || err.exitCode !== ExitCode.conflict) throw err;
      refused = err.message;
    }
    if (refused === '') throw new StackbackupError('demo: a restore over an open index was not refused');
    log(`without -force: ${refused}`);
    await runRestore(validateRestore({ url, name: snapshot.name, indices: INDEX, force: true }), ctx);
    if ((await documents(client)) !== before)
      throw new StackbackupError('demo: the index restored with -force differs from the snapshot');
    return {
      step: 'elasticsearch',
      summary:
        `snapshot ${snapshot.name} of ${count} documents in an fs repository of a real Elasticsearch ${VERSION}; the deleted index restored ` +
        `(shards ${restored.shards.successful}/${restored.shards.total}) with every document equal; a restore over the open index refused, then replaced with -force`,
    };
  } finally {
    await client.close();
    await stopElasticsearch(server.child);
    if (server.staged !== undefined) await rm(server.staged, { recursive: true, force: true });
  }
}

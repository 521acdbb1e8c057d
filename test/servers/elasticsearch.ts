/**
 * A real Elasticsearch on loopback for tests: the integration-test distribution installed by
 * scripts/install/elasticsearch.sh (no repository-s3, no SLM), one node, a small heap, its own config,
 * data, logs and snapshot folder (path.repo, for `fs` repositories) in a temporary folder.
 *
 * Elasticsearch refuses to run as root: when the tests run as root, the node runs as the unprivileged
 * user nobody (setpriv), and its folder is handed to that user. Security is off unless asked for; with
 * `security: true` a file-realm superuser is created and HTTP stays plain (no TLS).
 */
import { execFile } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { chmod, chown, cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { TOOLS_DIR, freePort, startProcess, tempDir, type RunningProcess } from './harness.js';

const execFileAsync = promisify(execFile);

export const ELASTICSEARCH_VERSION = '8.19.2';
const UNPRIVILEGED = 65534; // nobody

export interface ElasticsearchServer {
  /** http://127.0.0.1:PORT */
  url: string;
  version: string;
  /** The node's path.repo: fs repositories must be registered with a location inside it. */
  repoDir: string;
  /** Credentials of the superuser, when started with security on. */
  username: string | undefined;
  password: string | undefined;
  process: RunningProcess;
  stop(): Promise<void>;
}

export interface ElasticsearchOptions {
  security?: boolean;
  /** Heap, default 256m..512m (the machine is shared). */
  heap?: { min: string; max: string };
}

function installDir(): string {
  const home = join(TOOLS_DIR, 'elasticsearch', ELASTICSEARCH_VERSION);
  if (!existsSync(join(home, 'bin', 'elasticsearch'))) {
    throw new Error(
      `Elasticsearch ${ELASTICSEARCH_VERSION} is not installed at ${home}; run: bash scripts/install/elasticsearch.sh (scripts/setup.sh installs everything)`,
    );
  }
  return home;
}

/** The Java the node runs on: ES_JAVA_HOME when set, else the `java` on PATH. */
async function javaHome(): Promise<string> {
  if (process.env.ES_JAVA_HOME) return process.env.ES_JAVA_HOME;
  const { stdout } = await execFileAsync('sh', ['-c', 'command -v java']);
  return dirname(dirname(realpathSync(stdout.trim())));
}

async function chownTree(path: string, uid: number): Promise<void> {
  await chown(path, uid, uid);
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) await chownTree(full, uid);
    else await chown(full, uid, uid);
  }
}

export async function startElasticsearch(options: ElasticsearchOptions = {}): Promise<ElasticsearchServer> {
  const home = installDir();
  const java = await javaHome();
  const asRoot = process.getuid?.() === 0;
  const dir = await tempDir('elasticsearch');
  const conf = join(dir, 'config');
  const repoDir = join(dir, 'repo');
  const paths = { data: join(dir, 'data'), logs: join(dir, 'logs'), tmp: join(dir, 'tmp') };
  await cp(join(home, 'config'), conf, { recursive: true });
  for (const p of [repoDir, ...Object.values(paths)]) await mkdir(p, { recursive: true });

  // jvm.options without what writes next to the installation (GC log, heap dumps, error files).
  const jvm = (await readFile(join(home, 'config', 'jvm.options'), 'utf8'))
    .split('\n')
    .filter((line) => !/Xlog|HeapDump|ErrorFile/.test(line))
    .join('\n');
  const heap = options.heap ?? { min: '256m', max: '512m' };
  await writeFile(join(conf, 'jvm.options'), `${jvm}\n-Xms${heap.min}\n-Xmx${heap.max}\n-XX:TieredStopAtLevel=1\n`);

  const [httpPort, transportPort] = [await freePort(), await freePort()];
  const settings = [
    'cluster.name: stackbackup-test',
    'node.name: node-0',
    'network.host: 127.0.0.1',
    `http.port: ${httpPort}`,
    `transport.port: ${transportPort}`,
    'discovery.type: single-node',
    `path.data: ${paths.data}`,
    `path.logs: ${paths.logs}`,
    `path.repo: ["${repoDir}"]`,
    // The machine's disk may be fuller than the default watermarks; tests must not turn read-only.
    'cluster.routing.allocation.disk.threshold_enabled: false',
    `xpack.security.enabled: ${options.security === true}`,
    ...(options.security === true
      ? [
          'xpack.security.http.ssl.enabled: false',
          'xpack.security.transport.ssl.enabled: false',
          'xpack.security.authc.realms.file.file1.order: 0',
        ]
      : []),
  ];
  await writeFile(join(conf, 'elasticsearch.yml'), `${settings.join('\n')}\n`);

  if (asRoot) {
    await chmod(dir, 0o755);
    await chownTree(dir, UNPRIVILEGED);
  }
  const env = { ES_PATH_CONF: conf, ES_TMPDIR: paths.tmp, ES_JAVA_HOME: java, ES_JAVA_OPTS: '' };
  const asUser = (command: string, args: string[]): [string, string[]] =>
    asRoot
      ? ['setpriv', [`--reuid=${UNPRIVILEGED}`, `--regid=${UNPRIVILEGED}`, '--clear-groups', '--', command, ...args]]
      : [command, args];

  let username: string | undefined;
  let password: string | undefined;
  if (options.security === true) {
    username = 'stackbackup-test';
    password = `pw-${Math.random().toString(36).slice(2, 12)}-${Date.now().toString(36)}`;
    const [cmd, args] = asUser(join(home, 'bin', 'elasticsearch-users'), [
      'useradd',
      username,
      '-p',
      password,
      '-r',
      'superuser',
    ]);
    await execFileAsync(cmd, args, { env: { ...process.env, ...env }, cwd: dir });
  }

  const url = `http://127.0.0.1:${httpPort}`;
  const auth =
    username && password
      ? { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` }
      : undefined;
  const pidFile = join(dir, 'es.pid');
  const [command, args] = asUser(join(home, 'bin', 'elasticsearch'), ['-p', pidFile]);
  const proc = await startProcess({
    name: 'elasticsearch',
    command,
    args,
    env,
    cwd: dir,
    ready: async () => {
      const res = await fetch(`${url}/_cluster/health`, { headers: auth, signal: AbortSignal.timeout(3000) });
      if (res.status !== 200) return false;
      const body = (await res.json()) as { status?: string };
      return body.status === 'green' || body.status === 'yellow';
    },
    timeoutMs: 300_000,
    cleanup: [dir],
  });
  // The launcher runs the server as a child JVM: stop that one first (the launcher then exits), then
  // let the harness stop the launcher and remove the folder.
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const stop = async (): Promise<void> => {
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
      process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + 20_000;
      while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    await proc.stop();
  };
  return { url, version: ELASTICSEARCH_VERSION, repoDir, username, password, process: proc, stop };
}

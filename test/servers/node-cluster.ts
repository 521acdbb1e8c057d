/**
 * A real single-node Kubernetes cluster for tests: etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler, containerd with runc and the CNI bridge plugin, a real kubelet, kube-proxy
 * (iptables) and CoreDNS, all from our pins (scripts/install/{kubernetes,containerd,runc,cni-plugins,
 * iptables,coredns,node-images}.sh). Pods run in real containers from OCI archives imported with
 * `ctr images import` (importImage).
 *
 * Isolation. The whole node lives in a network namespace this harness creates (`ip netns add`) with
 * only `lo` and one bridge for the pods (10.244.0.1/24, the node's address), no default route and no
 * link to the machine's interfaces; that is checked before anything starts, and the start is refused
 * otherwise: no packet of the cluster can leave the machine. Every process of the node also shares one
 * private mount namespace (a holder process made with `unshare --mount`, the components enter it with
 * `nsenter`): there /run, /var/lib and /var/log are empty tmpfs (containerd's shim sockets, the pod
 * network namespaces, the CNI cache, container logs), and the kernel settings the kubelet insists on
 * (kernel.panic, kernel.panic_on_oops, vm.overcommit_memory, ...) are shown to it by bind-mounted files
 * with the values it expects, with protectKernelDefaults on: the machine's sysctls are never written.
 * All mounts vanish with that namespace. Pod cgroups go under a cgroup root of this run
 * (/stackbackup-node-PID in every v1 hierarchy).
 *
 * The test process reaches the API server through a path that stays on the machine: a small forwarder
 * inside the netns listens on a unix socket in the run's folder and connects to an address inside the
 * netns; the harness listens on 127.0.0.1 (a free port) and hands each connection to it. apiUrl and
 * kubeconfig use that port, so kubectl, helm and KubeApi work from the test process as usual.
 *
 * CoreDNS runs as a plain process on the node (listening on 10.244.0.1:53, the kubelet's clusterDNS),
 * reading Services through the API; nothing is forwarded upstream. Claims bind through a small
 * provisioner in the harness: for each pending claim of the default StorageClass `local` it creates a
 * `local` PersistentVolume (a folder of the run, bound to the node, fsGroup applied by the kubelet) and
 * deletes it with its data when released.
 *
 * Cleanup: stop() ends every process, removes the cgroups, the netns and the folder. The same
 * teardown runs synchronously when the test process exits without stop(), on SIGINT/SIGTERM, and at
 * the next start for a run that was killed (recorded in a state file under the temp folder).
 * Needs root (as CI and the developers' machines here have).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import {
  apiserverArgs,
  clusterAccess,
  controllerManagerArgs,
  etcdArgs,
  httpsOk,
  kubeconfigText,
  makeCertificates,
  schedulerArgs,
  waitFor,
  type ClusterAccess,
} from './control-plane.js';
import { startProcess, tempDir, TOOLS_DIR, toolPath, type RunningProcess } from './harness.js';
import { KubeApi, KubeApiError, type KubeList, type KubeObject } from './kube-api.js';

const execFileAsync = promisify(execFile);

export const NODE_NAME = 'stackbackup-node';
/** The node's address: the pod bridge's gateway. The API server, the kubelet and CoreDNS listen on it. */
export const NODE_IP = '10.244.0.1';
export const POD_CIDR = '10.244.0.0/24';
export const SERVICE_CIDR = '10.0.0.0/24';
export const BRIDGE = 'sbnode0';
export const STORAGE_CLASS = 'local';
export const PROVISIONER = 'stackbackup.test/local';
export const PAUSE_IMAGE = 'stackbackup.local/pause:3.10';
export const BUSYBOX_IMAGE = 'stackbackup.local/busybox:1.35.0';

const NODE_TOOLS = join(TOOLS_DIR, 'node');
const COREDNS_USER = 'stackbackup-test:coredns';
const STATE_DIR = join(tmpdir(), 'stackbackup-node-state');
const API_PORT = 6443;

/** The settings the kubelet checks (pkg/kubelet/cm setupKernelTunables), with the values it wants. */
export const KUBELET_SYSCTLS: Record<string, string> = {
  'vm/overcommit_memory': '1',
  'vm/panic_on_oom': '0',
  'kernel/panic': '10',
  'kernel/panic_on_oops': '1',
  'kernel/keys/root_maxkeys': '1000000',
  'kernel/keys/root_maxbytes': '25000000',
};

/** What the netns held when it was checked, before anything started. */
export interface NetworkCheck {
  namespace: string;
  links: { name: string; kind: string; master?: string }[];
  defaultRoutes: string[];
  routes: string[];
}

export interface NodeCluster extends ClusterAccess {
  /** https://127.0.0.1:PORT on the machine's loopback, forwarded into the netns. */
  apiUrl: string;
  /** Admin kubeconfig (namespace "default") for the test process. */
  kubeconfig: string;
  api: KubeApi;
  nodeName: string;
  /** The network namespace as checked before the start. */
  network: NetworkCheck;
  /** Kernel settings shown to the kubelet by a bind mount (their machine value differed). */
  maskedSysctls: string[];
  /** Milliseconds from the call of startNodeCluster to each step being ready. */
  timings: Record<string, number>;
  /**
   * Imports an OCI (or docker) archive into the node's containerd (namespace k8s.io) with `ctr images
   * import`; returns the image names. The name comes from the archive (io.containerd.image.name, or a
   * full org.opencontainers.image.ref.name); for tag-only archives pass baseName (e.g.
   * "stackbackup.local/job" names tag 1.0 "stackbackup.local/job:1.0"). Pods then use it with
   * imagePullPolicy IfNotPresent (any tag but latest) or Never: nothing can be pulled.
   */
  importImage(archivePath: string, options?: { baseName?: string }): Promise<string[]>;
  /** Runs a command inside the node's network and mount namespaces (e.g. iptables-save, ip addr). */
  exec(command: string, args: string[]): Promise<string>;
  /** The folder of a provisioned claim's volume on the machine, once it is bound. */
  volumePath(namespace: string, claim: string): Promise<string | undefined>;
  stop(): Promise<void>;
}

export interface NodeClusterOptions {
  /** Archives imported before the start returns (pause and busybox always are). */
  images?: string[];
  /** Binding mode of the default StorageClass `local` (default Immediate). */
  volumeBindingMode?: 'Immediate' | 'WaitForFirstConsumer';
}

interface NodeState {
  ownerPid: number;
  netns: string;
  cgroupName: string;
  dir: string;
  /** The components' log folders (startProcess keeps them apart from dir). */
  logDirs: string[];
}

// ---------------------------------------------------------------------------------------------
// Synchronous teardown: used by stop(), the exit and signal handlers, and the restore of a killed run.

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The cgroup hierarchies (v1 controllers and name=systemd; with `all`, the hybrid's unified one too). */
function cgroupHierarchies(all = true): string[] {
  const root = '/sys/fs/cgroup';
  if (existsSync(join(root, 'cgroup.controllers'))) return [root];
  return readdirSync(root)
    .map((name) => join(root, name))
    .filter((path) => {
      try {
        return (
          statSync(path).isDirectory() && (all || !path.endsWith('/unified')) && existsSync(join(path, 'cgroup.procs'))
        );
      } catch {
        return false;
      }
    });
}

/** Every cgroup folder below (and including) path, deepest first. */
function cgroupTree(path: string): string[] {
  if (!existsSync(path)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory()) out.push(...cgroupTree(join(path, entry.name)));
  }
  out.push(path);
  return out;
}

function cgroupPids(cgroupName: string): number[] {
  const pids = new Set<number>();
  for (const hierarchy of cgroupHierarchies()) {
    for (const dir of cgroupTree(join(hierarchy, cgroupName))) {
      try {
        for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n'))
          if (line.trim() !== '') pids.add(Number(line));
      } catch {
        // removed meanwhile
      }
    }
  }
  return [...pids];
}

function netnsPids(netns: string): number[] {
  try {
    return execFileSync('ip', ['netns', 'pids', netns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map(Number);
  } catch {
    return [];
  }
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    if (pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function netnsExists(netns: string): boolean {
  return existsSync(join('/run/netns', netns));
}

function teardownSync(state: NodeState): string[] {
  const problems: string[] = [];
  // Containers first (they are in our cgroups, in network namespaces of their own), then whatever is
  // in the node's netns (components, shims, the mount namespace holder), until both are empty.
  for (let round = 0; round < 50; round++) {
    const pids = [...cgroupPids(state.cgroupName), ...netnsPids(state.netns)];
    if (pids.length === 0) break;
    killAll(pids);
    sleepSync(100);
    if (round === 49) problems.push(`processes still running: ${pids.join(' ')}`);
  }
  for (const hierarchy of cgroupHierarchies()) {
    for (const dir of cgroupTree(join(hierarchy, state.cgroupName))) {
      for (let attempt = 0; ; attempt++) {
        try {
          rmdirSync(dir);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') break;
          if (attempt >= 30) {
            problems.push(`cgroup ${dir} could not be removed: ${(err as Error).message}`);
            break;
          }
          killAll(cgroupPids(state.cgroupName));
          sleepSync(100);
        }
      }
    }
  }
  if (netnsExists(state.netns)) {
    try {
      execFileSync('ip', ['netns', 'delete', state.netns], { stdio: 'ignore' });
    } catch (err) {
      problems.push(`netns ${state.netns} could not be deleted: ${(err as Error).message}`);
    }
  }
  // The run's mounts lived only in the node's mount namespace, gone with its last process: what is
  // left in the folder is plain files.
  const ourMounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(state.dir));
  if (ourMounts.length > 0) problems.push(`mounts left under ${state.dir}: ${ourMounts.join('; ')}`);
  else rmSync(state.dir, { recursive: true, force: true });
  for (const logDir of state.logDirs ?? []) rmSync(logDir, { recursive: true, force: true });
  try {
    unlinkSync(stateFile(state));
    rmdirSync(STATE_DIR);
  } catch {
    // not recorded, or another run's state is still there
  }
  return problems;
}

function stateFile(state: NodeState): string {
  return join(STATE_DIR, `${state.ownerPid}-${state.netns}.json`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Restores the machine after a run that was killed before its stop(): recorded in STATE_DIR. */
export function cleanUpKilledRuns(): string[] {
  if (!existsSync(STATE_DIR)) return [];
  const cleaned: string[] = [];
  for (const file of readdirSync(STATE_DIR)) {
    if (!file.endsWith('.json')) continue;
    let state: NodeState;
    try {
      state = JSON.parse(readFileSync(join(STATE_DIR, file), 'utf8')) as NodeState;
    } catch {
      continue;
    }
    if (state.ownerPid === process.pid || pidAlive(state.ownerPid)) continue;
    const problems = teardownSync(state);
    if (problems.length > 0)
      throw new Error(`could not clean up the test node of a killed run (${file}): ${problems.join('; ')}`);
    cleaned.push(state.netns);
  }
  return cleaned;
}

// ---------------------------------------------------------------------------------------------
// The path into the netns.

/**
 * The forwarder run inside the netns (`node -e`): listens on a unix socket; each connection starts
 * with one line "HOST PORT" naming an address inside the netns, the rest is piped to it.
 */
const FORWARDER = `
const net = require('node:net'); const fs = require('node:fs'); const path = process.argv[1];
try { fs.unlinkSync(path); } catch {}
const server = net.createServer((client) => {
  let head = Buffer.alloc(0);
  const onData = (chunk) => {
    head = Buffer.concat([head, chunk]);
    const nl = head.indexOf(10);
    if (nl < 0) { if (head.length > 200) client.destroy(); return; }
    client.removeListener('data', onData); client.pause();
    const [host, port] = head.subarray(0, nl).toString().trim().split(' ');
    const rest = head.subarray(nl + 1);
    const target = net.connect(Number(port), host, () => {
      if (rest.length > 0) target.write(rest);
      client.pipe(target); target.pipe(client); client.resume();
    });
    target.on('error', () => client.destroy()); client.on('error', () => target.destroy());
    target.on('close', () => client.destroy()); client.on('close', () => target.destroy());
  };
  client.on('data', onData);
});
server.listen(path, () => { fs.chmodSync(path, 0o600); console.log('listening'); });
`;

function dialNetns(socketPath: string, host: string, port: number): Socket {
  const socket = connect(socketPath);
  socket.write(`${host} ${port}\n`);
  return socket;
}

/** The HTTP status of GET path at host:port inside the netns (TLS without verification when tls). */
function probeNetns(
  socketPath: string,
  host: string,
  port: number,
  path: string,
  tls: boolean,
): Promise<number | undefined> {
  return new Promise((resolve) => {
    const raw = dialNetns(socketPath, host, port);
    const socket: Socket = tls ? tlsConnect({ socket: raw, rejectUnauthorized: false }) : raw;
    let text = '';
    const timer = setTimeout(() => done(undefined), 2000);
    const done = (status: number | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      raw.destroy();
      resolve(status);
    };
    socket.on('error', () => done(undefined));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (match?.[1] !== undefined) done(Number(match[1]));
    });
    socket.on('close', () => done(undefined));
    const send = () => socket.write(`GET ${path} HTTP/1.0\r\nHost: ${host}\r\n\r\n`);
    if (tls) socket.once('secureConnect', send);
    else send();
  });
}

// ---------------------------------------------------------------------------------------------

function run(command: string, args: string[]): Promise<string> {
  return execFileAsync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).then((r) => r.stdout);
}

interface IpLink {
  ifname: string;
  master?: string;
  linkinfo?: { info_kind?: string };
  link_netnsid?: number;
}

/** Checks that netns holds only lo and the pod bridge, with no default route and no gateway; throws otherwise. */
export async function checkNetwork(netns: string): Promise<NetworkCheck> {
  const links = JSON.parse(await run('ip', ['-n', netns, '-d', '-j', 'link', 'show'])) as IpLink[];
  const routes = [
    ...(await run('ip', ['-n', netns, '-4', 'route', 'show', 'table', 'all'])).split('\n'),
    ...(await run('ip', ['-n', netns, '-6', 'route', 'show', 'table', 'all'])).split('\n'),
  ].filter((l) => l.trim() !== '');
  const check: NetworkCheck = {
    namespace: netns,
    links: links.map((l) => ({
      name: l.ifname,
      kind: l.linkinfo?.info_kind ?? (l.ifname === 'lo' ? 'loopback' : 'unknown'),
      ...(l.master ? { master: l.master } : {}),
    })),
    defaultRoutes: routes.filter((r) => /^(default|0\.0\.0\.0\/0|::\/0)\b/.test(r)),
    routes,
  };
  const foreign = links.filter(
    (l) =>
      !(l.ifname === 'lo' || (l.ifname === BRIDGE && l.linkinfo?.info_kind === 'bridge')) ||
      l.link_netnsid !== undefined ||
      l.master !== undefined,
  );
  const problems: string[] = [];
  if (foreign.length > 0)
    problems.push(`links other than lo and the pod bridge ${BRIDGE}: ${foreign.map((l) => l.ifname).join(', ')}`);
  if (check.defaultRoutes.length > 0) problems.push(`default routes: ${check.defaultRoutes.join('; ')}`);
  const offNet = routes.filter((r) => / via /.test(r));
  if (offNet.length > 0) problems.push(`routes through a gateway: ${offNet.join('; ')}`);
  if (problems.length > 0) {
    throw new Error(
      `refusing to start the test node: its network namespace ${netns} could reach beyond the machine (${problems.join('; ')}); nothing was started`,
    );
  }
  return check;
}

function nodeBinaries() {
  const nodeTool = (name: string, script: string) => {
    const path = join(NODE_TOOLS, 'bin', name);
    if (!existsSync(path))
      throw new Error(
        `test node tool "${name}" is not installed at ${path}; run: bash scripts/install/${script}.sh (scripts/setup.sh installs everything)`,
      );
    return path;
  };
  const image = (file: string) => {
    const path = join(NODE_TOOLS, 'images', file);
    if (!existsSync(path))
      throw new Error(`test node image ${path} is missing; run: bash scripts/install/node-images.sh`);
    return path;
  };
  for (const plugin of ['bridge', 'host-local', 'loopback']) {
    if (!existsSync(join(NODE_TOOLS, 'cni', plugin)))
      throw new Error(`CNI plugin ${plugin} is missing; run: bash scripts/install/cni-plugins.sh`);
  }
  return {
    etcd: toolPath('etcd', 'kubernetes'),
    apiserver: toolPath('kube-apiserver', 'kubernetes'),
    controllerManager: toolPath('kube-controller-manager', 'kubernetes'),
    scheduler: toolPath('kube-scheduler', 'kubernetes'),
    kubelet: toolPath('kubelet', 'kubernetes'),
    kubeProxy: toolPath('kube-proxy', 'kubernetes'),
    coredns: toolPath('coredns', 'coredns'),
    containerd: nodeTool('containerd', 'containerd'),
    ctr: nodeTool('ctr', 'containerd'),
    runc: nodeTool('runc', 'runc'),
    iptables: nodeTool('iptables', 'iptables'),
    pauseArchive: image('pause-3.10.tar'),
    busyboxArchive: image('busybox-1.35.0.tar'),
  };
}

type PvcObject = KubeObject & {
  spec: {
    storageClassName?: string;
    accessModes?: string[];
    volumeName?: string;
    resources?: { requests?: { storage?: string } };
    volumeMode?: string;
  };
  status?: { phase?: string };
};
type PvObject = KubeObject & {
  spec: { claimRef?: { namespace?: string; name?: string }; local?: { path: string } };
  status?: { phase?: string };
};

export async function startNodeCluster(options: NodeClusterOptions = {}): Promise<NodeCluster> {
  const t0 = Date.now();
  const timings: Record<string, number> = {};
  const mark = (step: string) => (timings[step] = Date.now() - t0);
  if (process.getuid?.() !== 0)
    throw new Error('the real test node needs root (network and mount namespaces, cgroups); run the tests as root');
  const bin = nodeBinaries();
  cleanUpKilledRuns();

  const netns = `stackbackup-node-${process.pid}`;
  const cgroupName = `stackbackup-node-${process.pid}`;
  if (netnsExists(netns))
    throw new Error(`network namespace ${netns} already exists: one test node per process; stop the other first`);
  const dir = await tempDir('node', { ownCleanup: true });
  const state: NodeState = { ownerPid: process.pid, netns, cgroupName, dir, logDirs: [] };
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(stateFile(state), JSON.stringify(state));
  let tornDown = false;
  const emergency = () => {
    if (!tornDown) {
      tornDown = true;
      teardownSync(state);
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    emergency();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('exit', emergency);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const started: RunningProcess[] = [];
  let holder: ChildProcess | undefined;
  let hostProxy: Server | undefined;
  const provisioner = new AbortController();
  let provisionerDone: Promise<void> = Promise.resolve();

  const stopAll = async (): Promise<void> => {
    if (tornDown) return;
    provisioner.abort();
    await provisionerDone;
    hostProxy?.close();
    const byName = (name: string) => started.find((p) => p.name === name);
    // The kubelet first (it would restart what is killed), then the containers, then the rest in
    // reverse start order.
    await byName('kubelet')?.stop();
    killAll(cgroupPids(cgroupName));
    for (const proc of [...started].reverse()) if (proc.name !== 'kubelet') await proc.stop();
    holder?.kill('SIGKILL');
    tornDown = true;
    process.removeListener('exit', emergency);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    const problems = teardownSync(state);
    if (problems.length > 0) throw new Error(`the test node left something behind: ${problems.join('; ')}`);
  };

  try {
    // 1. The network namespace: lo and the pod bridge (the node's address), nothing else. Checked
    //    before anything runs in it.
    await run('ip', ['netns', 'add', netns]);
    await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', netns, 'link', 'add', BRIDGE, 'type', 'bridge']);
    await run('ip', ['-n', netns, 'addr', 'add', `${NODE_IP}/24`, 'dev', BRIDGE]);
    await run('ip', ['-n', netns, 'link', 'set', BRIDGE, 'up']);
    // Service addresses from the node itself (the API server calling a webhook): onto the bridge, where
    // kube-proxy's DNAT sends them to a pod. Still nothing off the machine.
    await run('ip', ['-n', netns, 'route', 'add', SERVICE_CIDR, 'dev', BRIDGE]);
    const network = await checkNetwork(netns);
    mark('netns');

    // 2. Certificates, configuration files, the cgroup root.
    const pki = join(dir, 'pki');
    await mkdir(pki);
    // The kubelet, kube-proxy and CoreDNS with identities of their own (Node authorization and
    // NodeRestriction for the kubelet, kube-proxy's built-in role, a role below for CoreDNS); the
    // controller manager and the scheduler as admin, as in kubernetes.ts.
    const identities = {
      'kubelet-client': `/O=system:nodes/CN=system:node:${NODE_NAME}`,
      'kube-proxy': '/CN=system:kube-proxy',
      coredns: `/CN=${COREDNS_USER}`,
    };
    await makeCertificates(pki, {
      nodeName: NODE_NAME,
      apiserverIps: [NODE_IP],
      kubeletIps: [NODE_IP, '127.0.0.1'],
      clients: identities,
    });
    const read = (name: string) => readFile(join(pki, name), 'utf8');
    const [ca, adminCert, adminKey] = await Promise.all([read('ca.crt'), read('admin.crt'), read('admin.key')]);
    const inNetnsKubeconfig = async (file: string, cert: string) => {
      const path = join(dir, file);
      await writeFile(
        path,
        kubeconfigText(
          `https://127.0.0.1:${API_PORT}`,
          ca,
          await read(`${cert}.crt`),
          await read(`${cert}.key`),
          'default',
        ),
        { mode: 0o600 },
      );
      return path;
    };
    const kubeconfigs_ = {
      admin: await inNetnsKubeconfig('node-admin.kubeconfig', 'admin'),
      kubelet: await inNetnsKubeconfig('kubelet.kubeconfig', 'kubelet-client'),
      kubeProxy: await inNetnsKubeconfig('kube-proxy.kubeconfig', 'kube-proxy'),
      coredns: await inNetnsKubeconfig('coredns.kubeconfig', 'coredns'),
    };
    const nodeKubeconfig = kubeconfigs_.admin;
    for (const hierarchy of cgroupHierarchies(false)) {
      const path = join(hierarchy, cgroupName);
      mkdirSync(path, { recursive: true });
      if (hierarchy.endsWith('/cpuset')) {
        for (const file of ['cpuset.cpus', 'cpuset.mems'])
          writeFileSync(join(path, file), readFileSync(join(hierarchy, file), 'utf8'));
      }
    }
    const masked: string[] = [];
    const masks: string[] = [];
    await mkdir(join(dir, 'sysctl'));
    for (const [name, wanted] of Object.entries(KUBELET_SYSCTLS)) {
      const actual = readFileSync(join('/proc/sys', name), 'utf8').trim();
      if (actual === wanted) continue;
      const file = join(dir, 'sysctl', name.replaceAll('/', '.'));
      await writeFile(file, `${wanted}\n`);
      masks.push(`mount --bind ${file} /proc/sys/${name}`);
      masked.push(name.replaceAll('/', '.'));
    }
    await writeConfigs(dir, pki, kubeconfigs_.kubeProxy, kubeconfigs_.coredns, cgroupName);
    mark('config');

    // 3. The mount namespace holder, inside the netns.
    const holderScript = [
      'set -e',
      'mount -t tmpfs -o mode=0755 stackbackup-node /run',
      'mount -t tmpfs -o mode=0755 stackbackup-node /var/lib',
      'mount -t tmpfs -o mode=0755 stackbackup-node /var/log',
      // sysfs of this netns (the kubelet and the CNI plugins look at /sys/class/net), cgroups kept.
      `mkdir -p ${dir}/cgroup-move`,
      `mount --rbind /sys/fs/cgroup ${dir}/cgroup-move`,
      'mount -t sysfs sysfs /sys',
      `mount --move ${dir}/cgroup-move /sys/fs/cgroup`,
      ...masks,
      'echo ready',
      'exec sleep infinity',
    ].join('\n');
    holder = spawn(
      'nsenter',
      [
        `--net=/run/netns/${netns}`,
        '--',
        'unshare',
        '--mount',
        '--propagation',
        'private',
        '--',
        'sh',
        '-c',
        holderScript,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const holderPid = await new Promise<number>((resolve, reject) => {
      let out = '';
      let err = '';
      holder?.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('ready') && holder?.pid !== undefined) resolve(holder.pid);
      });
      holder?.stderr?.on('data', (c: Buffer) => (err += c.toString()));
      holder?.on('exit', (code) =>
        reject(new Error(`the node's mount namespace could not be set up (exit ${code}): ${err}`)),
      );
      holder?.on('error', reject);
    });
    mark('mountns');
    const startComponent = async (options: Parameters<typeof startProcess>[0]): Promise<RunningProcess> => {
      const proc = await startProcess(options);
      state.logDirs.push(dirname(proc.logFile));
      writeFileSync(stateFile(state), JSON.stringify(state));
      return proc;
    };
    const env = {
      PATH: `${join(NODE_TOOLS, 'bin')}:${join(TOOLS_DIR, 'bin')}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      HOME: dir,
    };
    const inNode = (command: string, args: string[]) => ({
      command: 'nsenter',
      args: ['-t', String(holderPid), '-m', '-n', '--', command, ...args],
      env,
    });

    // 4. The forwarder into the netns and the loopback port of the test process.
    const socketPath = join(dir, 'netns.sock');
    started.push(
      await startComponent({
        name: 'netns-forwarder',
        ...inNode(process.execPath, ['-e', FORWARDER, socketPath]),
        ready: async () => existsSync(socketPath),
        timeoutMs: 10_000,
      }),
    );
    const probe = (port: number, path: string, tls: boolean) => async () =>
      (await probeNetns(socketPath, '127.0.0.1', port, path, tls)) === 200;
    hostProxy = createServer((client) => {
      const upstream = dialNetns(socketPath, '127.0.0.1', API_PORT);
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    const hostPort = await new Promise<number>((resolve, reject) => {
      hostProxy?.once('error', reject);
      hostProxy?.listen(0, '127.0.0.1', () => {
        const address = hostProxy?.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
    const apiUrl = `https://127.0.0.1:${hostPort}`;
    const kubeconfig = join(dir, 'admin.kubeconfig');
    await writeFile(kubeconfig, kubeconfigText(apiUrl, ca, adminCert, adminKey, 'default'), { mode: 0o600 });
    const api = new KubeApi({ server: apiUrl, ca, cert: adminCert, key: adminKey });

    // 5. etcd, kube-apiserver; containerd meanwhile.
    const containerdSocket = join(dir, 'containerd', 'containerd.sock');
    const containerdStart = startComponent({
      name: 'containerd',
      ...inNode(bin.containerd, ['--config', join(dir, 'containerd', 'config.toml')]),
      ready: async () =>
        existsSync(containerdSocket) &&
        (await run(bin.ctr, ['--address', containerdSocket, 'version']).then(
          () => true,
          () => false,
        )),
      timeoutMs: 30_000,
    });
    containerdStart.catch(() => undefined);
    started.push(
      await startComponent({
        name: 'etcd',
        ...inNode(bin.etcd, etcdArgs(join(dir, 'etcd'), 'http://127.0.0.1:2379', 'http://127.0.0.1:2380')),
        ready: probe(2379, '/health', false),
      }),
    );
    mark('etcd');
    started.push(await containerdStart);
    mark('containerd');
    const importing = Promise.all(
      [bin.pauseArchive, bin.busyboxArchive].map((a) => importInto(bin.ctr, containerdSocket, a)),
    );
    importing.catch(() => undefined);
    started.push(
      await startComponent({
        name: 'kube-apiserver',
        ...inNode(
          bin.apiserver,
          apiserverArgs({
            etcdUrl: 'http://127.0.0.1:2379',
            pki,
            bindAddress: '0.0.0.0',
            port: API_PORT,
            advertiseAddress: NODE_IP,
            endpointReconciler: 'lease',
            nodeAuthorization: true,
          }),
        ),
        ready: () => httpsOk(`${apiUrl}/readyz`, ca),
        timeoutMs: 120_000,
      }),
    );
    mark('kube-apiserver');

    // CoreDNS reads Services, EndpointSlices, Pods and Namespaces (what CoreDNS's own manifests grant).
    await api.create('/apis/rbac.authorization.k8s.io/v1/clusterroles', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'stackbackup-test:coredns' },
      rules: [
        { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      ],
    });
    await api.create('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'stackbackup-test:coredns' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'stackbackup-test:coredns' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: COREDNS_USER }],
    });

    // 6. Everything else at once.
    const [controllerManager] = await Promise.all([
      startComponent({
        name: 'kube-controller-manager',
        ...inNode(
          bin.controllerManager,
          controllerManagerArgs(nodeKubeconfig, pki, join(dir, 'cm-certs'), '127.0.0.1', 10257),
        ),
        ready: probe(10257, '/healthz', true),
        timeoutMs: 60_000,
      }),
      startComponent({
        name: 'kube-scheduler',
        ...inNode(bin.scheduler, schedulerArgs(nodeKubeconfig, join(dir, 'scheduler-certs'), '127.0.0.1', 10259)),
        ready: probe(10259, '/healthz', true),
        timeoutMs: 60_000,
      }),
      startComponent({
        name: 'kubelet',
        ...inNode(bin.kubelet, [
          `--config=${join(dir, 'kubelet.yaml')}`,
          `--kubeconfig=${kubeconfigs_.kubelet}`,
          `--root-dir=${join(dir, 'kubelet')}`,
          `--hostname-override=${NODE_NAME}`,
          `--node-ip=${NODE_IP}`,
          '--v=1',
        ]),
        ready: probe(10248, '/healthz', false),
        timeoutMs: 60_000,
      }),
      startComponent({
        name: 'kube-proxy',
        ...inNode(bin.kubeProxy, [`--config=${join(dir, 'kube-proxy.yaml')}`, '--v=1']),
        ready: probe(10256, '/healthz', false),
        timeoutMs: 60_000,
      }),
      startComponent({
        name: 'coredns',
        ...inNode(bin.coredns, ['-conf', join(dir, 'Corefile')]),
        ready: probe(8181, '/ready', false),
        timeoutMs: 60_000,
      }),
      importing,
      (async () => {
        // The default StorageClass of the provisioner below.
        await api.create('/apis/storage.k8s.io/v1/storageclasses', {
          apiVersion: 'storage.k8s.io/v1',
          kind: 'StorageClass',
          metadata: { name: STORAGE_CLASS, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
          provisioner: PROVISIONER,
          reclaimPolicy: 'Delete',
          volumeBindingMode: options.volumeBindingMode ?? 'Immediate',
        });
      })(),
    ]).then((procs) => {
      for (const p of procs) if (p !== undefined && typeof p === 'object' && 'child' in p) started.push(p);
      return procs;
    });
    mark('components');
    await waitFor(
      'the node to be Ready',
      async () => {
        const node = await api.find<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
          `/api/v1/nodes/${NODE_NAME}`,
        );
        return node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true
          ? true
          : undefined;
      },
      60_000,
    );
    mark('node-ready');
    await waitFor(
      'the default service account',
      () => api.find(`/api/v1/namespaces/default/serviceaccounts/default`),
      30_000,
    );
    for (const archive of options.images ?? []) await importInto(bin.ctr, containerdSocket, archive);
    mark('ready');

    provisionerDone = runProvisioner(api, join(dir, 'volumes'), provisioner.signal);

    return {
      apiUrl,
      kubeconfig,
      api,
      nodeName: NODE_NAME,
      network,
      maskedSysctls: masked,
      timings,
      ...clusterAccess(
        { apiUrl, kubeconfig, ca, cert: adminCert, key: adminKey },
        api,
        dir,
        () => (controllerManager as RunningProcess | undefined)?.child,
      ),
      importImage(archivePath, opts = {}) {
        return importInto(bin.ctr, containerdSocket, archivePath, opts.baseName);
      },
      exec(command, args) {
        return run('nsenter', ['-t', String(holderPid), '-m', '-n', '--', command, ...args]);
      },
      async volumePath(namespace, claim) {
        const pvc = await api.find<PvcObject>(`/api/v1/namespaces/${namespace}/persistentvolumeclaims/${claim}`);
        if (pvc?.spec.volumeName === undefined) return undefined;
        const pv = await api.find<PvObject>(`/api/v1/persistentvolumes/${pvc.spec.volumeName}`);
        return pv?.spec.local?.path;
      },
      async stop() {
        (controllerManager as RunningProcess | undefined)?.child.kill('SIGCONT');
        await stopAll();
      },
    };
  } catch (err) {
    try {
      await stopAll();
    } catch (cleanupErr) {
      throw new Error(`${(err as Error).message}\n(and the cleanup failed: ${(cleanupErr as Error).message})`);
    }
    throw err;
  }
}

async function importInto(ctr: string, socket: string, archivePath: string, baseName?: string): Promise<string[]> {
  if (!existsSync(archivePath)) throw new Error(`image archive ${archivePath} does not exist`);
  const out = await run(ctr, [
    '--address',
    socket,
    '--namespace',
    'k8s.io',
    'images',
    'import',
    ...(baseName ? ['--base-name', baseName] : []),
    archivePath,
  ]).catch((err: Error) => {
    throw new Error(`ctr images import ${archivePath} failed: ${err.message}`);
  });
  const names = [...out.matchAll(/^unpacking (\S+) \(/gm)].map((m) => m[1] ?? '');
  if (names.length === 0)
    throw new Error(
      `ctr images import ${archivePath} imported no named image (an OCI archive needs io.containerd.image.name or a full org.opencontainers.image.ref.name): ${out}`,
    );
  return names;
}

/** Provisions a `local` PersistentVolume for each pending claim of the class, deletes released ones. */
async function runProvisioner(api: KubeApi, volumesDir: string, signal: AbortSignal): Promise<void> {
  await mkdir(volumesDir, { recursive: true });
  const mode = await api
    .get<KubeObject & { volumeBindingMode?: string }>(`/apis/storage.k8s.io/v1/storageclasses/${STORAGE_CLASS}`)
    .then((sc) => sc.volumeBindingMode);
  while (!signal.aborted) {
    try {
      const claims = await api.get<KubeList<PvcObject>>('/api/v1/persistentvolumeclaims');
      for (const pvc of claims.items) {
        if (pvc.status?.phase !== 'Pending' || pvc.spec.storageClassName !== STORAGE_CLASS || pvc.spec.volumeName)
          continue;
        if (
          mode === 'WaitForFirstConsumer' &&
          pvc.metadata.annotations?.['volume.kubernetes.io/selected-node'] === undefined
        )
          continue;
        const name = `pvc-${pvc.metadata.uid ?? ''}`;
        const path = join(volumesDir, name);
        mkdirSync(path, { recursive: true, mode: 0o755 });
        try {
          await api.create('/api/v1/persistentvolumes', {
            apiVersion: 'v1',
            kind: 'PersistentVolume',
            metadata: { name, annotations: { 'pv.kubernetes.io/provisioned-by': PROVISIONER } },
            spec: {
              capacity: { storage: pvc.spec.resources?.requests?.storage ?? '1Gi' },
              accessModes: pvc.spec.accessModes ?? ['ReadWriteOnce'],
              volumeMode: pvc.spec.volumeMode ?? 'Filesystem',
              persistentVolumeReclaimPolicy: 'Delete',
              storageClassName: STORAGE_CLASS,
              claimRef: {
                apiVersion: 'v1',
                kind: 'PersistentVolumeClaim',
                namespace: pvc.metadata.namespace,
                name: pvc.metadata.name,
                uid: pvc.metadata.uid,
              },
              local: { path },
              nodeAffinity: {
                required: {
                  nodeSelectorTerms: [
                    { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [NODE_NAME] }] },
                  ],
                },
              },
            },
          });
        } catch (err) {
          if (!(err instanceof KubeApiError && err.status === 409)) throw err;
        }
      }
      const volumes = await api.get<KubeList<PvObject>>('/api/v1/persistentvolumes');
      for (const pv of volumes.items) {
        if (pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by'] !== PROVISIONER) continue;
        if (pv.status?.phase !== 'Released' && pv.status?.phase !== 'Failed') continue;
        if (pv.spec.local?.path?.startsWith(volumesDir)) rmSync(pv.spec.local.path, { recursive: true, force: true });
        await api.delete(`/api/v1/persistentvolumes/${pv.metadata.name}`);
      }
    } catch {
      // The API server is stopping or busy: try again on the next round.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function writeConfigs(
  dir: string,
  pki: string,
  kubeProxyKubeconfig: string,
  corednsKubeconfig: string,
  cgroupName: string,
): Promise<void> {
  const containerdDir = join(dir, 'containerd');
  const cniConf = join(dir, 'cni', 'net.d');
  await mkdir(containerdDir, { recursive: true });
  await mkdir(cniConf, { recursive: true });
  const runc = join(NODE_TOOLS, 'bin', 'runc');
  await writeFile(
    join(containerdDir, 'config.toml'),
    [
      'version = 2',
      `root = "${containerdDir}/root"`,
      `state = "${containerdDir}/state"`,
      // Plugins that would write outside the run's folder (/opt/containerd) or are not used here.
      'disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]',
      '[grpc]',
      `  address = "${containerdDir}/containerd.sock"`,
      '[ttrpc]',
      `  address = "${containerdDir}/containerd.sock.ttrpc"`,
      '[metrics]',
      '  address = ""',
      '[plugins."io.containerd.grpc.v1.cri"]',
      `  sandbox_image = "${PAUSE_IMAGE}"`,
      // root here lacks CAP_SYS_RESOURCE: containers may not get a lower oom_score_adj than ours.
      '  restrict_oom_score_adj = true',
      '  disable_apparmor = true',
      '  enable_selinux = false',
      '  stream_server_address = "127.0.0.1"',
      '  stream_server_port = "0"',
      '  max_container_log_line_size = 16384',
      '  [plugins."io.containerd.grpc.v1.cri".containerd]',
      '    snapshotter = "overlayfs"',
      '    default_runtime_name = "runc"',
      '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
      '      runtime_type = "io.containerd.runc.v2"',
      '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
      `        BinaryName = "${runc}"`,
      '        SystemdCgroup = false',
      '  [plugins."io.containerd.grpc.v1.cri".cni]',
      `    bin_dir = "${join(NODE_TOOLS, 'cni')}"`,
      `    conf_dir = "${cniConf}"`,
      '    max_conf_num = 1',
      '',
    ].join('\n'),
  );
  await writeFile(
    join(cniConf, '10-stackbackup-node.conflist'),
    JSON.stringify({
      cniVersion: '0.4.0',
      name: 'stackbackup-node',
      plugins: [
        {
          type: 'bridge',
          bridge: BRIDGE,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: POD_CIDR, gateway: NODE_IP }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: join(dir, 'cni', 'ipam'),
          },
        },
      ],
    }),
  );
  await writeFile(join(dir, 'resolv.conf'), '# the test node has no DNS beyond the cluster (CoreDNS on the node)\n');
  await writeFile(
    join(dir, 'kubelet.yaml'),
    JSON.stringify({
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      address: NODE_IP,
      port: 10250,
      readOnlyPort: 0,
      healthzBindAddress: '127.0.0.1',
      healthzPort: 10248,
      tlsCertFile: join(pki, 'kubelet.crt'),
      tlsPrivateKeyFile: join(pki, 'kubelet.key'),
      authentication: {
        anonymous: { enabled: false },
        webhook: { enabled: true },
        x509: { clientCAFile: join(pki, 'ca.crt') },
      },
      authorization: { mode: 'Webhook' },
      containerRuntimeEndpoint: `unix://${containerdDir}/containerd.sock`,
      // containerd 1.6 has no CRI RuntimeConfig: the kubelet would fall back to cgroupfs anyway.
      cgroupDriver: 'cgroupfs',
      cgroupRoot: `/${cgroupName}`,
      // Never change the machine's kernel settings: the kubelet fails instead (they are masked, see above).
      protectKernelDefaults: true,
      oomScoreAdj: 0,
      failSwapOn: false,
      clusterDNS: [NODE_IP],
      clusterDomain: 'cluster.local',
      resolvConf: join(dir, 'resolv.conf'),
      // Imported images are all there is: never garbage-collect them, never evict for disk space.
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      evictionHard: {
        'memory.available': '100Mi',
        'nodefs.available': '1%',
        'nodefs.inodesFree': '1%',
        'imagefs.available': '1%',
      },
      serializeImagePulls: false,
      makeIPTablesUtilChains: false,
      syncFrequency: '10s',
      fileCheckFrequency: '5s',
      nodeStatusUpdateFrequency: '5s',
      registerNode: true,
      staticPodPath: '',
      maxPods: 60,
    }),
  );
  await writeFile(
    join(dir, 'kube-proxy.yaml'),
    JSON.stringify({
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      clientConnection: { kubeconfig: kubeProxyKubeconfig },
      mode: 'iptables',
      hostnameOverride: NODE_NAME,
      bindAddress: NODE_IP,
      clusterCIDR: POD_CIDR,
      healthzBindAddress: '127.0.0.1:10256',
      metricsBindAddress: '127.0.0.1:10249',
      oomScoreAdj: 0,
      // 0: leave the machine-wide conntrack settings alone.
      conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
      iptables: { localhostNodePorts: false, syncPeriod: '30s', minSyncPeriod: '0s' },
      nodePortAddresses: [`${NODE_IP}/32`],
    }),
  );
  await writeFile(
    join(dir, 'Corefile'),
    [
      '.:53 {',
      `    bind ${NODE_IP}`,
      '    errors',
      '    ready 127.0.0.1:8181',
      '    health 127.0.0.1:8080',
      '    cache 5',
      '    kubernetes cluster.local in-addr.arpa ip6.arpa {',
      `        kubeconfig ${corednsKubeconfig} admin@stackbackup-test`,
      '        pods insecure',
      '        ttl 5',
      '        fallthrough in-addr.arpa ip6.arpa',
      '    }',
      '}',
      '',
    ].join('\n'),
  );
}

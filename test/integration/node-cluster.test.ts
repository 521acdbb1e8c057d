/**
 * The real single-node test cluster (test/servers/node-cluster.ts): real containers on a real kubelet
 * (containerd, runc, CNI bridge), inside a network namespace with no route off the machine. Pods and
 * Jobs run to completion with their logs read back through the API server, the restricted Pod Security
 * level is really enforced in the container (uid, read-only root, no capabilities, no new privileges,
 * seccomp), a claim binds and keeps its data from one pod to the next, Service names resolve through
 * CoreDNS and reach the pod behind them through kube-proxy, a memory limit OOM-kills, and stop()
 * leaves the machine as it was (processes, cgroups, netns, mounts, sysctls, iptables).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../servers/kube-api.js';
import {
  BRIDGE,
  BUSYBOX_IMAGE,
  checkNetwork,
  cleanUpKilledRuns,
  KUBELET_SYSCTLS,
  NODE_NAME,
  startNodeCluster,
  type NodeCluster,
} from '../servers/node-cluster.js';
import { TOOLS_DIR } from '../servers/harness.js';

let cluster: NodeCluster;
let startMs = 0;

/** What must be the same after the run as before it. */
function machineSnapshot() {
  const sysctls = Object.fromEntries(
    [
      ...Object.keys(KUBELET_SYSCTLS),
      'net/ipv4/ip_forward',
      'net/bridge/bridge-nf-call-iptables',
      'net/netfilter/nf_conntrack_max',
    ].map((name) => {
      const path = join('/proc/sys', name);
      return [name, existsSync(path) ? readFileSync(path, 'utf8').trim() : 'absent'];
    }),
  );
  const iptables = execFileSync(join(TOOLS_DIR, 'node', 'bin', 'iptables-save'), { encoding: 'utf8' }).replace(
    /^#.*$/gm,
    '',
  );
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(':')[1]?.trim() ?? '')
    .filter((l) => l !== '')
    .sort();
  const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.trim() !== '')
    .sort();
  return { sysctls, iptables, links, netns };
}
let before_: ReturnType<typeof machineSnapshot>;

before(async () => {
  before_ = machineSnapshot();
  const t = Date.now();
  cluster = await startNodeCluster();
  startMs = Date.now() - t;
  console.log(
    `# node cluster started in ${startMs} ms: ${JSON.stringify(cluster.timings)}; masked sysctls: ${cluster.maskedSysctls.join(', ') || 'none'}`,
  );
});
after(async () => {
  await cluster?.stop();
});

type PodObject = KubeObject & {
  status?: {
    phase?: string;
    containerStatuses?: {
      containerID?: string;
      state?: { terminated?: { exitCode: number; reason?: string } };
      lastState?: { terminated?: { exitCode: number; reason?: string } };
    }[];
  };
};

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function podDone(ns: string, name: string): Promise<PodObject> {
  return waitFor(`pod ${ns}/${name} to finish`, async () => {
    const pod = await cluster.api.get<PodObject>(`/api/v1/namespaces/${ns}/pods/${name}`);
    return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed' ? pod : undefined;
  });
}

function pod(
  name: string,
  command: string,
  extra: { spec?: Record<string, unknown>; container?: Record<string, unknown>; labels?: Record<string, string> } = {},
) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: extra.labels ?? {} },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'main', image: BUSYBOX_IMAGE, command: ['sh', '-c', command], ...(extra.container ?? {}) }],
      ...(extra.spec ?? {}),
    },
  };
}

async function logs(ns: string, name: string): Promise<string> {
  const res = await cluster.kubectl(['logs', name], { namespace: ns });
  assert.equal(res.code, 0, res.stderr);
  return res.stdout;
}

describe('real test node', () => {
  it('started within 30 s inside a netns that had only lo and the pod bridge and no default route', async () => {
    assert.ok(startMs < 30_000, `start took ${startMs} ms`);
    assert.deepEqual(cluster.network.links.map((l) => l.name).sort(), ['lo', BRIDGE].sort());
    assert.equal(cluster.network.links.find((l) => l.name === BRIDGE)?.kind, 'bridge');
    assert.deepEqual(cluster.network.defaultRoutes, []);
    assert.equal(cluster.network.routes.filter((r) => r.includes(' via ')).length, 0);
    // Still none while running; the node's links are lo, the bridge and the pods' veths on it.
    assert.equal((await cluster.exec('ip', ['route', 'show', 'default'])).trim(), '');
    assert.equal((await cluster.exec('ip', ['-6', 'route', 'show', 'default'])).trim(), '');
    const version = await cluster.api.get<{ gitVersion: string }>('/version');
    assert.equal(version.gitVersion, 'v1.33.13');
    const nodes = await cluster.kubectl([
      'get',
      'nodes',
      '-o',
      'jsonpath={.items[*].status.nodeInfo.containerRuntimeVersion} {.items[*].status.nodeInfo.kubeletVersion}',
    ]);
    assert.equal(nodes.stdout, 'containerd://1.6.20 v1.33.13', nodes.stderr);
  });

  it('runs a Pod and a Job from the busybox image to completion in real containers, logs through the API server', async () => {
    await cluster.createNamespace('basic');
    await cluster.api.create(
      '/api/v1/namespaces/basic/pods',
      pod('hello', 'echo "hello from $(hostname)"; echo "to stderr" >&2; echo "pid $$$$"'),
    );
    const done = await podDone('basic', 'hello');
    assert.equal(done.status?.phase, 'Succeeded');
    assert.match(done.status?.containerStatuses?.[0]?.containerID ?? '', /^containerd:\/\/[0-9a-f]{64}$/);
    const out = await logs('basic', 'hello');
    assert.match(out, /^hello from hello$/m);
    assert.match(out, /^to stderr$/m);
    assert.match(out, /^pid 1$/m, 'the command is PID 1 of its own PID namespace');

    await cluster.api.create('/apis/batch/v1/namespaces/basic/jobs', {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'count' },
      spec: { backoffLimit: 0, template: { spec: pod('x', 'for i in 1 2 3; do echo "line $i"; done; exit 0').spec } },
    });
    const outcome = await waitFor('job count to finish', async () => {
      const job = await cluster.api.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
        '/apis/batch/v1/namespaces/basic/jobs/count',
      );
      return job.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')
        ?.type;
    });
    assert.equal(outcome, 'Complete');
    const jobLogs = await cluster.kubectl(['logs', 'job/count'], { namespace: 'basic' });
    assert.equal(jobLogs.stdout, 'line 1\nline 2\nline 3\n', jobLogs.stderr);
  });

  it('enforces the restricted Pod Security level in the container: uid 65532, read-only root, no capabilities, no new privileges, seccomp', async () => {
    await cluster.createNamespace('restricted', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    const securityContext = {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    };
    const podSecurity = {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    };
    // Admission refuses a pod that does not meet the level.
    await assert.rejects(
      cluster.api.create('/api/v1/namespaces/restricted/pods', pod('root', 'id')),
      /violates PodSecurity/,
    );
    await cluster.api.create(
      '/api/v1/namespaces/restricted/pods',
      pod(
        'locked',
        'id -u; id -g; if touch /probe 2>/dev/null; then echo root-writable; else echo root-read-only; fi; grep -E "^(CapEff|CapPrm|NoNewPrivs|Seccomp):" /proc/self/status',
        {
          spec: { securityContext: podSecurity },
          container: { securityContext },
        },
      ),
    );
    const done = await podDone('restricted', 'locked');
    const out = await logs('restricted', 'locked');
    assert.equal(done.status?.phase, 'Succeeded', out);
    const lines = out.split('\n');
    assert.equal(lines[0], '65532');
    assert.equal(lines[1], '65532');
    assert.equal(lines[2], 'root-read-only');
    assert.match(out, /^CapEff:\s+0000000000000000$/m);
    assert.match(out, /^CapPrm:\s+0000000000000000$/m);
    assert.match(out, /^NoNewPrivs:\s+1$/m);
    assert.match(out, /^Seccomp:\s+2$/m, 'seccomp filter mode (RuntimeDefault)');
  });

  it('mounts a Secret with its defaultMode for the fsGroup, and pods reach the API server through the kubernetes Service', async () => {
    await cluster.createNamespace('secrets');
    await cluster.api.create('/api/v1/namespaces/secrets/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds' },
      stringData: { key: 'sesame' },
    });
    await cluster.api.create(
      '/api/v1/namespaces/secrets/pods',
      pod(
        'reader',
        'stat -L -c "%a %u %g" /creds/key; cat /creds/key; echo; grep " /creds " /proc/mounts | cut -d" " -f3; printf "x\\n" | nc -w 5 kubernetes.default.svc.cluster.local 443 >/dev/null && echo api-reachable',
        {
          spec: {
            securityContext: { runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532 },
            volumes: [{ name: 'creds', secret: { secretName: 'creds', defaultMode: 0o440 } }],
          },
          container: { volumeMounts: [{ name: 'creds', mountPath: '/creds', readOnly: true }] },
        },
      ),
    );
    const done = await podDone('secrets', 'reader');
    const out = await logs('secrets', 'reader');
    assert.equal(done.status?.phase, 'Succeeded', out);
    assert.deepEqual(out.split('\n').slice(0, 5), ['440 0 65532', 'sesame', 'tmpfs', 'api-reachable', '']);
  });

  it('binds a claim of the default StorageClass; data written by one pod is read by the next (fsGroup applied)', async () => {
    await cluster.createNamespace('storage');
    await cluster.api.create('/api/v1/namespaces/storage/persistentvolumeclaims', {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    const bound = await waitFor('claim data to bind', async () => {
      const pvc = await cluster.api.get<
        KubeObject & { spec: { storageClassName?: string }; status?: { phase?: string } }
      >('/api/v1/namespaces/storage/persistentvolumeclaims/data');
      return pvc.status?.phase === 'Bound' ? pvc : undefined;
    });
    assert.equal(bound.spec.storageClassName, 'local');
    const asUser = { securityContext: { runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532 } };
    const volume = { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }] };
    const mount = { volumeMounts: [{ name: 'data', mountPath: '/data' }] };
    await cluster.api.create(
      '/api/v1/namespaces/storage/pods',
      pod('writer', 'echo "kept across pods" > /data/note && stat -c "%g %a" /data', {
        spec: { ...asUser, ...volume },
        container: mount,
      }),
    );
    const written = await podDone('storage', 'writer');
    const writerLogs = await logs('storage', 'writer');
    assert.equal(written.status?.phase, 'Succeeded', writerLogs);
    assert.match(writerLogs, /^65532 2775$/m, 'the kubelet gave the volume to the fsGroup (setgid)');
    await cluster.api.create(
      '/api/v1/namespaces/storage/pods',
      pod('reader', 'cat /data/note', { spec: { ...asUser, ...volume }, container: mount }),
    );
    await podDone('storage', 'reader');
    assert.equal(await logs('storage', 'reader'), 'kept across pods\n');
    const path = await cluster.volumePath('storage', 'data');
    assert.ok(path !== undefined);
    assert.equal(readFileSync(join(path, 'note'), 'utf8'), 'kept across pods\n');
    // Deleting the claim deletes its volume and data (reclaim policy Delete).
    await cluster.api.delete('/api/v1/namespaces/storage/pods/writer');
    await cluster.api.delete('/api/v1/namespaces/storage/pods/reader');
    await cluster.api.delete('/api/v1/namespaces/storage/persistentvolumeclaims/data');
    await waitFor('the released volume to be deleted', async () => (existsSync(path) ? undefined : true));
  });

  it('resolves a Service name through CoreDNS from a pod and reaches the pod behind it through kube-proxy', async () => {
    await cluster.createNamespace('net');
    await cluster.api.create(
      '/api/v1/namespaces/net/pods',
      pod(
        'web',
        'mkdir -p /tmp/www && echo "served by $(hostname)" > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www',
        {
          labels: { app: 'web' },
          container: {
            ports: [{ containerPort: 8080 }],
            readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
          },
        },
      ),
    );
    await cluster.api.create('/api/v1/namespaces/net/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    await waitFor('pod web to be ready', async () => {
      const p = await cluster.api.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
        '/api/v1/namespaces/net/pods/web',
      );
      return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
    });
    // kubectl exec goes API server -> kubelet -> containerd's stream server, all inside the netns.
    const exec = await cluster.kubectl(['exec', 'web', '--', 'cat', '/tmp/www/index.html'], { namespace: 'net' });
    assert.equal(exec.stdout, 'served by web\n', exec.stderr);
    const svc = await cluster.api.get<KubeObject & { spec: { clusterIP: string } }>(
      '/api/v1/namespaces/net/services/web',
    );
    const fqdn = 'web.net.svc.cluster.local';
    await cluster.api.create(
      '/api/v1/namespaces/net/pods',
      // busybox's own resolver (nslookup), then nc to the Service's address (Debian's static busybox
      // segfaults in wget's name lookup: static glibc without NSS), then nc by the short name.
      pod(
        'client',
        `cat /etc/resolv.conf; nslookup ${fqdn}; ip=$(nslookup ${fqdn} | awk '/^Address/ && !/#53/ {print $2}' | tail -n1); echo "resolved=$ip"; printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 "$ip" 80; printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 web 80`,
      ),
    );
    const done = await podDone('net', 'client');
    const out = await logs('net', 'client');
    assert.equal(done.status?.phase, 'Succeeded', out);
    assert.match(out, /^nameserver 10\.244\.0\.1$/m);
    assert.match(out, new RegExp(`^resolved=${svc.spec.clusterIP.replaceAll('.', '\\.')}$`, 'm'));
    assert.equal(out.match(/^served by web$/gm)?.length, 2, 'both by address and by short name');
  });

  it('OOM-kills a container at its memory limit and reports OOMKilled', async () => {
    await cluster.createNamespace('oom');
    await cluster.api.create(
      '/api/v1/namespaces/oom/pods',
      pod('hog', 'echo start; tail /dev/zero', {
        container: { resources: { limits: { memory: '32Mi' }, requests: { memory: '32Mi' } } },
      }),
    );
    const done = await podDone('oom', 'hog');
    assert.equal(done.status?.phase, 'Failed');
    const terminated = done.status?.containerStatuses?.[0]?.state?.terminated;
    assert.equal(terminated?.reason, 'OOMKilled', JSON.stringify(done.status));
    assert.equal(terminated?.exitCode, 137);
  });

  it('leaves the machine as it was while running: sysctls and the machine netns untouched', () => {
    const now = machineSnapshot();
    assert.deepEqual(now.sysctls, before_.sysctls);
    assert.equal(now.iptables, before_.iptables);
    assert.deepEqual(now.links, before_.links);
  });

  it('stop() leaves nothing: no processes, cgroups, netns, folder; sysctls and iptables as before', async () => {
    const netns = cluster.network.namespace;
    await cluster.stop();
    const now = machineSnapshot();
    assert.deepEqual(now.sysctls, before_.sysctls);
    assert.equal(now.iptables, before_.iptables);
    assert.deepEqual(now.links, before_.links);
    assert.deepEqual(now.netns, before_.netns);
    assert.ok(!existsSync(join('/run/netns', netns)));
    for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
      assert.ok(!existsSync(join('/sys/fs/cgroup', hierarchy, netns)), `cgroup ${hierarchy}/${netns} left behind`);
    }
    const leftovers = readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          const cmd = readFileSync(join('/proc', p, 'cmdline'), 'utf8');
          return cmd.includes('stackbackup-node-') || cmd.includes(NODE_NAME);
        } catch {
          return false;
        }
      });
    assert.deepEqual(leftovers, []);
  });
});

describe('real test node of a killed test run', () => {
  it('is cleaned up by the next start (cleanUpKilledRuns): containers, components, cgroups, netns, folder', async () => {
    // A test process that starts the node and a pod, then is killed with SIGKILL (no exit handler runs).
    const script = `
      const m = await import(${JSON.stringify(new URL('../servers/node-cluster.js', import.meta.url).href)});
      const c = await m.startNodeCluster();
      await c.api.create('/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'sleeper' },
        spec: { containers: [{ name: 'main', image: m.BUSYBOX_IMAGE, command: ['sleep', '3600'] }] } });
      for (;;) {
        const p = await c.api.get('/api/v1/namespaces/default/pods/sleeper');
        if (p.status?.phase === 'Running') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      console.log('UP ' + c.network.namespace);
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const netns = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /UP (\S+)/.exec(out);
        if (m?.[1] !== undefined) resolve(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`the child run exited (${code}) before its node was up: ${out}`)));
    });
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
    // Left running: the components and the container, its cgroups and the netns.
    assert.ok(existsSync(join('/run/netns', netns)));
    assert.ok(
      execFileSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' }).trim() !== '',
      'the killed run left its processes',
    );
    assert.ok(readdirSync('/sys/fs/cgroup').some((h) => existsSync(join('/sys/fs/cgroup', h, netns))));
    const cleaned = cleanUpKilledRuns();
    assert.deepEqual(cleaned, [netns]);
    assert.ok(!existsSync(join('/run/netns', netns)));
    for (const h of readdirSync('/sys/fs/cgroup'))
      assert.ok(!existsSync(join('/sys/fs/cgroup', h, netns)), `cgroup ${h}/${netns} left`);
    assert.deepEqual(
      readdirSync(tmpdir()).filter((f) =>
        /^stackbackup-(kubelet|containerd|coredns|kube-proxy|netns-forwarder)-log-/.test(f),
      ),
      [],
      "the killed run's log folders are removed",
    );
    const after_ = machineSnapshot();
    assert.deepEqual(after_.sysctls, before_.sysctls);
    assert.equal(after_.iptables, before_.iptables);
    assert.deepEqual(after_.netns, before_.netns);
  });
});

describe('real test node network check', () => {
  it('refuses a netns with a link or a route that could leave the machine', async () => {
    const netns = `stackbackup-node-check-${process.pid}`;
    const ip = (...args: string[]) => execFileSync('ip', ['-n', netns, ...args]);
    execFileSync('ip', ['netns', 'add', netns]);
    try {
      ip('link', 'set', 'lo', 'up');
      ip('link', 'add', BRIDGE, 'type', 'bridge');
      ip('addr', 'add', '10.244.0.1/24', 'dev', BRIDGE);
      ip('link', 'set', BRIDGE, 'up');
      const ok = await checkNetwork(netns);
      assert.deepEqual(ok.defaultRoutes, []);
      // A default route (through the bridge's own subnet) is refused.
      ip('route', 'add', 'default', 'via', '10.244.0.254', 'dev', BRIDGE);
      await assert.rejects(
        checkNetwork(netns),
        /refusing to start the test node: .*default routes: default via 10\.244\.0\.254/,
      );
      ip('route', 'del', 'default');
      // Any other link (here a veth pair, both ends inside this netns) is refused.
      ip('link', 'add', 'sbcheck0', 'type', 'veth', 'peer', 'name', 'sbcheck1');
      await assert.rejects(
        checkNetwork(netns),
        /links other than lo and the pod bridge sbnode0: sbcheck0, sbcheck1|links other than lo and the pod bridge sbnode0: sbcheck1, sbcheck0/,
      );
    } finally {
      execFileSync('ip', ['netns', 'delete', netns]);
    }
  });
});

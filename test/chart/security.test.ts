/**
 * For every value set in chart/ci: every pod passes the Kubernetes "restricted" Pod Security Standard
 * (checked field by field, as the admission controller does), and credentials appear in Secrets only:
 * never in a ConfigMap, an argument, an environment literal or an annotation.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { CI_DIR, ciValueFiles, podTemplates, render, type Container, type Manifest, type PodSpec } from './helm.js';

/** Volume types the restricted profile allows. */
const RESTRICTED_VOLUME_TYPES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);

function restrictedViolations(spec: PodSpec): string[] {
  const problems: string[] = [];
  const pod = spec.securityContext ?? {};
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) problems.push('host namespaces');
  for (const v of spec.volumes ?? []) {
    const types = Object.keys(v).filter((k) => k !== 'name');
    for (const t of types) if (!RESTRICTED_VOLUME_TYPES.has(t)) problems.push(`volume ${v.name} of type ${t}`);
  }
  if (pod.seccompProfile?.type !== 'RuntimeDefault') problems.push('pod seccompProfile is not RuntimeDefault');
  if (pod.runAsNonRoot !== true) problems.push('pod runAsNonRoot is not true');
  if (pod.runAsUser === 0) problems.push('pod runs as uid 0');
  const containers: Container[] = [...(spec.initContainers ?? []), ...spec.containers];
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if (sc.privileged) problems.push(`${where} is privileged`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${where} allowPrivilegeEscalation is not false`);
    if (!sc.capabilities?.drop?.includes('ALL')) problems.push(`${where} does not drop ALL capabilities`);
    for (const cap of sc.capabilities?.add ?? []) if (cap !== 'NET_BIND_SERVICE') problems.push(`${where} adds ${cap}`);
    if (sc.runAsNonRoot === false || sc.runAsUser === 0) problems.push(`${where} may run as root`);
    if (sc.seccompProfile !== undefined && sc.seccompProfile.type !== 'RuntimeDefault') problems.push(`${where} seccompProfile`);
    // Beyond the standard: this chart also wants read-only root filesystems and set resources.
    if (sc.readOnlyRootFilesystem !== true) problems.push(`${where} root filesystem is writable`);
    if (!c.resources?.requests || !c.resources.limits?.memory) problems.push(`${where} has no requests or memory limit`);
    for (const p of c.ports ?? []) if (p.hostPort) problems.push(`${where} uses hostPort ${p.hostPort}`);
  }
  return problems;
}

/** Every credential string of a values file (leaves named accessKey or secretKey). */
function credentialsIn(values: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if ((k === 'accessKey' || k === 'secretKey' || k === 'password') && typeof x === 'string' && x !== '') out.push(x);
      else walk(x);
    }
  };
  walk(values);
  return out;
}

function leaks(docs: Manifest[], secret: string): string[] {
  const b64 = Buffer.from(secret).toString('base64');
  return docs
    .filter((d) => d.kind !== 'Secret')
    .filter((d) => {
      const text = JSON.stringify(d);
      return text.includes(secret) || text.includes(b64);
    })
    .map((d) => `${d.kind}/${d.metadata.name}`);
}

describe('restricted Pod Security on every pod', () => {
  it('holds for every chart/ci value set', async () => {
    let pods = 0;
    for (const f of await ciValueFiles()) {
      const docs = await render({ files: [f] });
      for (const { owner, template } of podTemplates(docs)) {
        pods += 1;
        assert.deepEqual(restrictedViolations(template.spec), [], `${f}: ${owner}`);
        const token = template.spec.automountServiceAccountToken;
        assert.equal(typeof token, 'boolean', `${f}: ${owner} says whether it mounts a token`);
        assert.ok(template.spec.serviceAccountName?.startsWith('sb-stackbackup-'), `${f}: ${owner} has its own ServiceAccount`);
      }
    }
    assert.ok(pods >= 12, `pods were checked (${pods})`);
  });

  it('keeps the profile when podSecurity is changed', async () => {
    const docs = await render({ files: ['minio-emptydir-values.yaml'], set: { 'podSecurity.runAsUser': '4242', 'podSecurity.runAsGroup': '0' } });
    for (const { owner, template } of podTemplates(docs)) {
      assert.deepEqual(restrictedViolations(template.spec), [], owner);
      assert.equal(template.spec.securityContext?.runAsUser, 4242);
    }
  });

  it('refuses uid 0 (schema)', async () => {
    const { renderError } = await import('./helm.js');
    const err = await renderError({ files: ['minio-emptydir-values.yaml'], set: { 'podSecurity.runAsUser': '0' } });
    assert.match(err, /podSecurity\/runAsUser/);
  });
});

describe('credentials stay in Secrets', () => {
  it('never appear in ConfigMaps, arguments, environment literals or annotations', async () => {
    let checked = 0;
    for (const f of await ciValueFiles()) {
      const values: unknown = parse(await readFile(join(CI_DIR, f), 'utf8'));
      const docs = await render({ files: [f] });
      for (const secret of credentialsIn(values)) {
        checked += 1;
        assert.deepEqual(leaks(docs, secret), [], `${f}: a credential shows up outside Secrets`);
      }
      for (const { owner, template } of podTemplates(docs)) {
        for (const c of [...(template.spec.initContainers ?? []), ...template.spec.containers]) {
          assert.equal(c.envFrom, undefined, `${f}: ${owner}/${c.name} takes no whole Secret as environment`);
          for (const e of c.env ?? []) {
            assert.equal(e.valueFrom, undefined, `${f}: ${owner}/${c.name} env ${e.name} is not read from a Secret into the environment`);
            if (/KEY|SECRET|CREDENTIAL|PASSWORD|IDENTITY|ROOT_USER/.test(e.name)) {
              assert.match(e.name, /_FILE$/, `${f}: ${owner}/${c.name} env ${e.name} names a file`);
              assert.match(e.value ?? '', /^\/var\/run\/secrets\/stackbackup\/((s3|cloud)\/(accessKey|secretKey)|restic\/password)$/, `${f}: ${owner}/${c.name} env ${e.name}`);
            }
          }
        }
        for (const v of template.spec.volumes ?? []) {
          if (v.secret) assert.equal(v.secret.defaultMode, 0o440, `${f}: ${owner} mounts ${v.name} readable by owner and group only`);
        }
      }
    }
    assert.ok(checked >= 10, `credentials were checked (${checked})`);
  });

  it('renders Secrets for every credential unless an existingSecret replaces them', async () => {
    const docs = await render({ files: ['s3gateway-values.yaml'] });
    const secrets = docs.filter((d) => d.kind === 'Secret');
    assert.deepEqual(secrets.map((s) => s.metadata.name).sort(), ['sb-stackbackup-minio', 'sb-stackbackup-s3gateway']);
    for (const s of secrets) {
      assert.equal(s.type, 'Opaque');
      assert.deepEqual(Object.keys(s.data ?? {}).sort(), ['accessKey', 'secretKey']);
    }
    const gateway = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'sb-stackbackup-gateway');
    assert.deepEqual(Object.keys(gateway?.data ?? {}), ['run-s3proxy.sh']);
  });
});

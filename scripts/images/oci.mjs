#!/usr/bin/env node
/**
 * JSON steps of the image build (scripts/images/lib.sh) on an OCI layout, with Node only:
 *   name LAYOUT TAG FULL_REFERENCE   keep only TAG in index.json and name it FULL_REFERENCE for containerd
 *                                    (annotation io.containerd.image.name; `ctr images import` uses it)
 *   meta LAYOUT TAG OUT NAME REFERENCE ARCHIVE   write the image's index entry (digest, size, config)
 *   index DIR                        write DIR/index.json from every DIR/<name>-<tag>.json
 */
import { readFileSync, readdirSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

const [command, ...args] = process.argv.slice(2);
const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
const writeJson = (path, value) => {
  writeFileSync(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
};
const blob = (layout, digest) => readJson(join(layout, 'blobs', ...digest.split(':')));
const manifestOf = (layout, tag) => {
  const index = readJson(join(layout, 'index.json'));
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!entry) throw new Error(`no manifest tagged ${tag} in ${layout}/index.json`);
  return { index, entry };
};

switch (command) {
  case 'name': {
    const [layout, tag, full] = args;
    const { index, entry } = manifestOf(layout, tag);
    const config = blob(layout, blob(layout, entry.digest).config.digest);
    entry.annotations = { ...entry.annotations, 'io.containerd.image.name': full };
    entry.platform = { architecture: config.architecture, os: config.os };
    index.manifests = [entry];
    writeJson(join(layout, 'index.json'), index);
    break;
  }
  case 'meta': {
    const [layout, tag, out, name, reference, archive] = args;
    const { entry } = manifestOf(layout, tag);
    const manifest = blob(layout, entry.digest);
    const config = blob(layout, manifest.config.digest);
    writeJson(out, {
      name,
      reference,
      containerdName: entry.annotations['io.containerd.image.name'],
      archive,
      archiveBytes: statSync(archive).size,
      digest: entry.digest,
      config: manifest.config.digest,
      layers: manifest.layers.map((l) => ({ digest: l.digest, size: l.size })),
      user: config.config?.User ?? '',
      entrypoint: config.config?.Entrypoint ?? [],
      cmd: config.config?.Cmd ?? [],
    });
    break;
  }
  case 'index': {
    const [dir] = args;
    const images = readdirSync(dir)
      .filter((f) => f.endsWith('.json') && f !== 'index.json')
      .sort()
      .map((f) => readJson(join(dir, f)))
      .filter((m) => {
        try {
          return statSync(m.archive).isFile();
        } catch {
          return false;
        }
      });
    writeJson(join(dir, 'index.json'), { images });
    break;
  }
  default:
    process.stderr.write('usage: oci.mjs name|meta|index ...\n');
    process.exit(2);
}

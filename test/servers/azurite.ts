/**
 * A real Azurite blob service (Microsoft's Azure Storage emulator, scripts/install/azurite.sh) on
 * loopback, with its data in a temporary folder. It serves the well-known development account.
 */
import { freePort, httpReady, startProcess, tempDir, toolPath, type RunningProcess } from './harness.js';

/** Azurite's fixed development account and key (published in Azurite's documentation). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteServer {
  /** The account's blob endpoint, e.g. http://127.0.0.1:PORT/devstoreaccount1. */
  blobEndpoint: string;
  account: string;
  accountKey: string;
  dataDir: string;
  process: RunningProcess;
  stop(): Promise<void>;
}

export async function startAzurite(): Promise<AzuriteServer> {
  const binary = toolPath('azurite-blob', 'azurite');
  const port = await freePort();
  const dataDir = await tempDir('azurite-data');
  const blobEndpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  const proc = await startProcess({
    name: 'azurite',
    command: binary,
    args: [
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(port),
      '--location',
      dataDir,
      '--silent',
      '--loose',
      '--skipApiVersionCheck',
      '--disableTelemetry',
    ],
    // Unauthenticated requests get 403 once the service is up.
    ready: () => httpReady(`${blobEndpoint}?comp=list`),
    timeoutMs: 90_000,
    cleanup: [dataDir],
  });
  return {
    blobEndpoint,
    account: AZURITE_ACCOUNT,
    accountKey: AZURITE_KEY,
    dataDir,
    process: proc,
    stop: () => proc.stop(),
  };
}

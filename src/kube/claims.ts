/**
 * The claims a label selector picks (backup.volumes.claimSelector), as the volume dispatcher backs them
 * up and status reports them: one list call in the release namespace.
 */
import { usageError } from '../util/errors.js';
import { kubeRequest, type Claim, type KubeAccess } from './client.js';

const LABEL_SELECTOR =
  /^[A-Za-z0-9./_-]{1,316}(\s*(!=|==|=)\s*[A-Za-z0-9._-]{0,63})?(,[A-Za-z0-9./_-]{1,316}(\s*(!=|==|=)\s*[A-Za-z0-9._-]{0,63})?)*$/;

/** Refuses what is not a label selector (KEY=VALUE, KEY!=VALUE or KEY, comma-separated); where names the option. */
export function labelSelector(value: string, where: string, hint: string): string {
  if (!LABEL_SELECTOR.test(value))
    throw usageError(
      `${where} ${JSON.stringify(value)} is not a label selector (KEY=VALUE, KEY!=VALUE or KEY, comma-separated)`,
      hint,
    );
  return value;
}

/** The claims in the access's namespace that match selector. */
export async function claimsMatching(access: KubeAccess, selector: string): Promise<Claim[]> {
  const listed = await kubeRequest<{ items: Claim[] }>(
    access,
    'GET',
    `/api/v1/namespaces/${encodeURIComponent(access.namespace)}/persistentvolumeclaims?labelSelector=${encodeURIComponent(selector)}`,
  );
  return listed.items;
}

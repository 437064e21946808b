// Image pull secrets to credential entries, with the kubelet's rules for which secrets count
// (pkg/credentialprovider/secrets: MakeDockerKeyring) and messages that name the secret and what was expected.
import type { DockerSecret } from '../cluster/types.ts';
import { parseDockerCfg, parseDockerConfigJson, type CredentialEntry } from './dockerconfig.ts';

export const SECRET_TYPE_DOCKER_CONFIG_JSON = 'kubernetes.io/dockerconfigjson';
export const SECRET_KEY_DOCKER_CONFIG_JSON = '.dockerconfigjson';
export const SECRET_TYPE_DOCKERCFG = 'kubernetes.io/dockercfg';
export const SECRET_KEY_DOCKERCFG = '.dockercfg';

export type SecretProblem = 'WrongType' | 'MissingKey' | 'Malformed';

export type SecretCredentials =
  | {
      ok: true;
      /** `secret NS/NAME`. */
      source: string;
      entries: CredentialEntry[];
      /** Non-fatal findings (an entry with no credentials, no registries at all, …). */
      problems: string[];
    }
  | {
      ok: false;
      source: string;
      problem: SecretProblem;
      /** One sentence naming the secret, its type, and what was expected. */
      message: string;
      /** Every finding, for logs. */
      problems: string[];
      /**
       * What the kubelet does with it: `ignores` the secret (wrong type, missing or empty key), or `failsPulls`:
       * its docker config does not parse, so every image pull of a pod that lists it fails.
       */
      kubelet: 'ignores' | 'failsPulls';
    };

/** `secret NS/NAME`, the source text used for credentials from a secret. */
export function secretSource(namespace: string, name: string): string {
  return `secret ${namespace}/${name}`;
}

const EXPECTED = `a ${SECRET_TYPE_DOCKER_CONFIG_JSON} secret with key ${SECRET_KEY_DOCKER_CONFIG_JSON} or a ${SECRET_TYPE_DOCKERCFG} secret with key ${SECRET_KEY_DOCKERCFG}`;

/** The credentials in one image pull secret, or why the kubelet cannot use it. */
export function credentialsFromSecret(secret: DockerSecret): SecretCredentials {
  const namespace = typeof secret?.namespace === 'string' ? secret.namespace : '';
  const name = typeof secret?.name === 'string' ? secret.name : '';
  const type = typeof secret?.type === 'string' ? secret.type : '';
  const source = secretSource(namespace, name);
  const shownType = type === '' ? 'no type' : `type ${type}`;
  const data: Record<string, unknown> = typeof secret?.data === 'object' && secret.data !== null ? secret.data : {};

  const kind =
    type === SECRET_TYPE_DOCKER_CONFIG_JSON
      ? { key: SECRET_KEY_DOCKER_CONFIG_JSON, parse: parseDockerConfigJson }
      : type === SECRET_TYPE_DOCKERCFG
        ? { key: SECRET_KEY_DOCKERCFG, parse: parseDockerCfg }
        : undefined;
  if (kind === undefined) {
    const hint = hasBytes(data[SECRET_KEY_DOCKER_CONFIG_JSON])
      ? ` It has a ${SECRET_KEY_DOCKER_CONFIG_JSON} key: recreate it with type ${SECRET_TYPE_DOCKER_CONFIG_JSON} (kubectl create secret docker-registry).`
      : hasBytes(data[SECRET_KEY_DOCKERCFG])
        ? ` It has a ${SECRET_KEY_DOCKERCFG} key: recreate it with type ${SECRET_TYPE_DOCKERCFG}.`
        : '';
    const message = `${source} has ${shownType}, but the kubelet only uses ${EXPECTED} as an image pull secret, so it ignores this one.${hint}`;
    return { ok: false, source, problem: 'WrongType', message, problems: [message], kubelet: 'ignores' };
  }

  const raw = data[kind.key];
  if (!hasBytes(raw)) {
    const present = Object.keys(data).filter((k) => hasBytes(data[k]));
    const what = raw === undefined ? `has no ${kind.key} key` : `has an empty ${kind.key} key`;
    const keys = present.length > 0 ? ` (its keys: ${present.map((k) => JSON.stringify(k)).join(', ')})` : '';
    const message = `${source} (${shownType}) ${what}${keys}; the kubelet expects its docker config under ${kind.key} and ignores the secret.`;
    return { ok: false, source, problem: 'MissingKey', message, problems: [message], kubelet: 'ignores' };
  }

  const parsed = kind.parse(typeof raw === 'string' ? raw : (raw as Buffer), source);
  if (parsed.kubeletRejects) {
    const first = parsed.problems[0] ?? 'its docker config does not parse';
    const detail = first.startsWith(`${source}: `) ? first.slice(source.length + 2) : first;
    const message = `${source} (${shownType}) is malformed: ${lowerFirst(detail)} The kubelet fails every image pull of a pod that lists it.`;
    return { ok: false, source, problem: 'Malformed', message, problems: parsed.problems, kubelet: 'failsPulls' };
  }
  return { ok: true, source, entries: parsed.entries, problems: parsed.problems };
}

/**
 * All of a pod's pull secrets as the kubelet combines them: one group of entries, in secret order (pass it as the
 * first group to buildKeyring). `kubeletFailsPulls` is true when any secret is malformed (MakeDockerKeyring errors).
 */
export function credentialsFromSecrets(secrets: readonly DockerSecret[]): {
  entries: CredentialEntry[];
  results: SecretCredentials[];
  kubeletFailsPulls: boolean;
} {
  const results = (Array.isArray(secrets) ? secrets : []).map(credentialsFromSecret);
  return {
    entries: results.flatMap((r) => (r.ok ? r.entries : [])),
    results,
    kubeletFailsPulls: results.some((r) => !r.ok && r.kubelet === 'failsPulls'),
  };
}

function hasBytes(v: unknown): v is Buffer | string {
  return (Buffer.isBuffer(v) || typeof v === 'string') && v.length > 0;
}

function lowerFirst(s: string): string {
  return s.length > 0 ? (s[0] ?? '').toLowerCase() + s.slice(1) : s;
}

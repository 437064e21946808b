// Words for people: one long line per problem for the denial message and the logs, one short line for
// AdmissionReview warnings (the API server truncates each warning past 120 characters).
import type { Platform, ReasonCode } from '../registry/resolution.ts';
import type { Finding, SecretNote } from './finding.ts';

export const WARNING_MAX_CHARS = 120;

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((s) => s !== undefined && s !== '').join('/');
}

function list(items: string[], max = 6): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

function quote(s: string, max = 200): string {
  const clean = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return JSON.stringify(clean.length > max ? `${clean.slice(0, max)}…` : clean);
}

/** The registry host as a user would type it in `--docker-server`. */
function registryOf(f: Finding): string {
  const ref = f.resolution.reference;
  if (!ref) return 'REGISTRY';
  const host = ref.split('/')[0] ?? 'REGISTRY';
  return host === 'docker.io' ? 'https://index.docker.io/v1/' : host;
}

function createSecretCommand(f: Finding, name: string): string {
  return `kubectl create secret docker-registry ${name} --docker-server=${registryOf(f)} --docker-username=USER --docker-password=TOKEN -n ${f.namespace}`;
}

/** Only an anonymous pull was tried (no credential applied). */
function anonymousOnly(f: Finding): boolean {
  return f.resolution.credentialsTried.every((c) => c === 'anonymous');
}

/** Credentials that did not come from a pull secret (a docker config file), by source. */
function otherCredentials(f: Finding): string[] {
  return f.resolution.credentialsTried.filter((c) => c !== 'anonymous' && !c.startsWith('secret '));
}

function secretsSentence(f: Finding): string {
  if (f.standalone) {
    const given = otherCredentials(f);
    return given.length > 0 ? `credentials given: ${list(given)}` : 'no credentials were given for it (--docker-config)';
  }
  if (f.secrets.length === 0) {
    return f.serviceAccountName
      ? `no imagePullSecrets are set on the pod or on ServiceAccount "${f.serviceAccountName}"`
      : 'no imagePullSecrets are set';
  }
  const parts = f.secrets.map((s) => `${s.name}${s.from === 'serviceAccount' ? ' (from the ServiceAccount)' : ''}: ${secretStatusText(s)}`);
  return `imagePullSecrets considered: ${parts.join('; ')}`;
}

/** Sentences from elsewhere go inside ours: drop their final full stop. */
function noStop(s: string): string {
  return s.replace(/\.+$/, '');
}

function secretStatusText(s: SecretNote): string {
  switch (s.status) {
    case 'ok': return 'read';
    case 'NotFound': return `does not exist in namespace ${s.namespace}`;
    case 'Forbidden': return 'pullguard may not read it (RBAC)';
    case 'Unavailable': return 'could not be read from the API server';
    case 'WrongType': return noStop(s.message ?? 'is not of type kubernetes.io/dockerconfigjson');
    case 'MissingKey': return noStop(s.message ?? 'has no .dockerconfigjson key');
    case 'Malformed': return noStop(s.message ?? 'is not a valid docker config');
  }
}

function triedSentence(f: Finding): string {
  const tried = f.resolution.credentialsTried;
  return tried.length > 0 ? ` Credentials tried: ${list(tried)}.` : '';
}

/** The fix, as the person running kubectl would need it. */
function fix(f: Finding): string {
  const r = f.resolution;
  const missing = f.secrets.find((s) => s.status === 'NotFound' || s.status === 'WrongType' || s.status === 'MissingKey' || s.status === 'Malformed');
  switch (r.reason) {
    case 'InvalidReference':
      return 'Fix: correct the image string (registry/repository:tag or @sha256:digest; the repository must be lowercase).';
    case 'TagNotFound':
      return r.suggestions && r.suggestions.length > 0
        ? `Fix: use an existing tag; closest: ${list(r.suggestions, 5)}.`
        : 'Fix: use a tag that exists (push it first, or check `crane ls` / the registry UI).';
    case 'DigestNotFound':
      return 'Fix: use a digest that exists in this repository (it may have been deleted or belong to another repository).';
    case 'RepositoryNotFound':
      return 'Fix: check the registry and repository name (typo, wrong organisation, or the image was never pushed).';
    case 'AuthRequired':
      if (missing?.status === 'NotFound') return `Fix: create the secret: ${createSecretCommand(f, missing.name)}`;
      // A Secret's type cannot be changed in place: replace it.
      if (missing) return `Fix: replace the secret: kubectl delete secret ${missing.name} -n ${f.namespace} && ${createSecretCommand(f, missing.name)}`;
      if (f.standalone) return `Fix: check the image name; if the repository is private, pass credentials with --docker-config, and in the cluster use a pull secret (${createSecretCommand(f, 'regcred')}).`;
      return `Fix: check the image name; if the repository is private, create a pull secret (${createSecretCommand(f, 'regcred')}) and add it to imagePullSecrets or to ServiceAccount "${f.serviceAccountName || 'default'}".`;
    case 'CredentialsRejected': {
      // Every matching credential was refused: name every secret that was read (all of them were tried).
      const read = f.secrets.filter((s) => s.status === 'ok').map((s) => s.name);
      const files = otherCredentials(f);
      if (read.length === 0 && files.length > 0) return `Fix: renew the credentials in ${list(files)}.`;
      const name = read[0] ?? 'regcred';
      const which = read.length > 1 ? `secrets ${read.join(', ')} (all were refused)` : `secret ${name}`;
      return `Fix: renew the credentials in ${which}: ${createSecretCommand(f, name)} --dry-run=client -o yaml | kubectl apply -f -`;
    }
    case 'AccessDenied':
      if (anonymousOnly(f)) return `Fix: the repository needs credentials: ${createSecretCommand(f, 'regcred')}, and add it to imagePullSecrets or to ServiceAccount "${f.serviceAccountName || 'default'}".`;
      return 'Fix: grant the account in the pull secret read (pull) access to this repository, or use credentials that have it.';
    case 'PlatformMismatch': {
      const has = (r.platforms ?? []).map(formatPlatform);
      return `Fix: build the image for ${list(f.eligiblePlatforms.map(formatPlatform))} (multi-arch), or pin the pod to nodes it can run on${has.length > 0 ? ` with a nodeSelector such as kubernetes.io/arch: ${r.platforms?.[0]?.architecture ?? ''}` : ''}.`;
    }
    case 'InvalidPullSecret': {
      const bad = f.secrets.find((s) => s.failsPulls);
      return `Fix: recreate the secret: ${createSecretCommand(f, bad?.name ?? 'regcred')} --dry-run=client -o yaml | kubectl apply -f -`;
    }
    case 'CachedOnNodes':
      return 'Not denied. Push the image again (or fix the credentials) so that every node can pull it.';
    case 'UnsupportedManifest':
      return 'Fix: rebuild and push the image with a current builder (Docker schema 2 or OCI); containerd 2.x no longer pulls schema 1 images.';
    case 'NeverPull':
      return 'Fix: pre-load the image on every eligible node, or set imagePullPolicy: IfNotPresent.';
    case 'SecretsUnreadable':
      return 'Not denied. Let pullguard read the pull secrets (RBAC get on secrets; for the CLI, --kubeconfig) so it can check with them.';
    case 'NodeCredentialsAssumed':
      return 'No action needed if the nodes\' credential provider grants access to this registry.';
    case 'RateLimited':
      return 'Not denied. Authenticate pulls (a pull secret raises the limit) or use a mirror.';
    case 'RegistryUnreachable':
    case 'RegistryTimeout':
    case 'RegistryError':
      return 'Not checked, so not denied; the nodes may fail the same way if the registry stays down.';
    case 'Resolved':
      return '';
  }
}

/** What happened, in one sentence or two. */
function what(f: Finding): string {
  const r = f.resolution;
  // The normalised reference only when it says more than the image as written (which the line already quotes).
  const lead = r.reference && r.reference !== r.image ? `${r.reference}: ` : '';
  const said = r.registryMessage ? ` The registry said: ${r.registryMessage}.` : '';
  switch (r.reason) {
    case 'InvalidReference':
      return `${r.detail ?? 'the image reference is not valid'} (the kubelet would report InvalidImageName).`;
    case 'TagNotFound':
      return `${lead}the tag does not exist.${said}`;
    case 'DigestNotFound':
      return `${lead}no manifest with this digest.${said}`;
    case 'RepositoryNotFound':
      return `${lead}the repository does not exist.${said}`;
    case 'AuthRequired':
      return `${lead}the registry requires credentials and none that work apply to it; ${secretsSentence(f)}. The repository is private, or it does not exist (registries such as Docker Hub answer both the same way).${said}`;
    case 'CredentialsRejected':
      return `${lead}the registry rejected the credentials; ${secretsSentence(f)}.${triedSentence(f)}${said}`;
    case 'AccessDenied':
      if (anonymousOnly(f)) return `${lead}the registry refuses anonymous pulls of this repository; ${secretsSentence(f)}.${said}`;
      return `${lead}the credentials were accepted but have no pull access to this repository; ${secretsSentence(f)}.${triedSentence(f)}${said}`;
    case 'PlatformMismatch':
      return `${lead}the image offers ${list((r.platforms ?? []).map(formatPlatform)) || 'no runnable platform'}, but ${f.platformSource === 'nodes' ? 'the nodes this pod may land on run' : 'the platforms asked for are'} ${list(f.eligiblePlatforms.map(formatPlatform))}.`;
    case 'InvalidPullSecret':
      return `${lead}${r.detail ?? 'a pull secret of the pod is malformed'}`;
    case 'CachedOnNodes':
      return `${lead}${r.detail ?? 'the registry would refuse the pull, but eligible nodes have the image cached'}.`;
    case 'UnsupportedManifest':
      return `${lead}the manifest is of an unsupported type (${r.mediaType ?? 'unknown media type'}).${said}`;
    case 'NeverPull': {
      const nodes = f.nodesWithImage ?? [];
      const where = f.eligibleNodeCount === undefined
        ? 'pullguard cannot see which nodes have it'
        : f.eligibleNodeCount === 0
          ? 'no node matches its nodeSelector or affinity, so it would stay Pending anyway'
          : nodes.length > 0
          ? `${nodes.length} of ${f.eligibleNodeCount} eligible nodes report it (${list(nodes, 3)})`
          : `none of the ${f.eligibleNodeCount} eligible nodes reports it (ErrImageNeverPull likely)`;
      return `${lead}imagePullPolicy is Never, so the kubelet will not pull it; ${where}.`;
    }
    case 'SecretsUnreadable':
      return `${lead}the registry requires credentials, and pull secrets the kubelet would use could not be read (${r.detail ?? 'unknown error'}); ${secretsSentence(f)}.${triedSentence(f)}`;
    case 'NodeCredentialsAssumed':
      return `${lead}the registry requires credentials that the nodes' credential provider supplies; pullguard cannot check with them.${said}`;
    case 'RateLimited':
      return `${lead}the registry's rate limit was reached, so the image could not be checked.${said}`;
    case 'RegistryUnreachable':
      return `${lead}the registry could not be reached${r.cause ? ` (${r.cause})` : ''}.${r.detail ? ` ${r.detail}.` : ''}`;
    case 'RegistryTimeout':
      return `${lead}the registry did not answer in time.`;
    case 'RegistryError':
      return `${lead}the registry answered with an error.${said}${r.detail && !said ? ` ${r.detail}.` : ''}`;
    case 'Resolved':
      return `${r.reference ?? r.image} resolves${r.digest ? ` to ${r.digest}` : ''}.`;
  }
}

/** `container "app" (spec.containers[0].image)` — the exact place to edit. */
export function where(f: Finding): string {
  const t = f.target;
  const noun = t.field === 'volumes' ? 'image volume' : t.field === 'initContainers' ? 'init container' : t.field === 'ephemeralContainers' ? 'ephemeral container' : 'container';
  return `${noun} ${quote(t.containerName, 63)} (${t.fieldPath})`;
}

/** The full explanation: place (unless `place: false`), image as written, reason, what happened, fix. */
export function explain(f: Finding, opts: { place?: boolean } = {}): string {
  const r = f.resolution;
  const tail = fix(f);
  const head = opts.place === false ? `image ${quote(r.image)}` : `${where(f)}: image ${quote(r.image)}`;
  return `${head}: ${r.reason}: ${what(f)}${tail ? ` ${tail}` : ''}`;
}

/** What happened and the fix, without the place or the image (for the CLI, which prints those itself). */
export function explainBody(f: Finding): string {
  const tail = fix(f);
  return `${what(f)}${tail ? ` ${tail}` : ''}`;
}

const SHORT_HINT: Partial<Record<ReasonCode, (f: Finding) => string>> = {
  TagNotFound: (f) => (f.resolution.suggestions?.length ? `tag not found; try ${f.resolution.suggestions.slice(0, 3).join(', ')}` : 'tag not found'),
  RepositoryNotFound: () => 'repository not found',
  DigestNotFound: () => 'digest not found',
  AuthRequired: () => 'private or missing; needs a pull secret',
  CredentialsRejected: () => 'pull secret credentials rejected',
  AccessDenied: () => 'no pull access with these credentials',
  PlatformMismatch: (f) => `no ${list(f.eligiblePlatforms.map(formatPlatform), 2)} image`,
  UnsupportedManifest: () => 'schema1 manifest, unpullable',
  InvalidPullSecret: () => 'malformed pull secret fails every pull',
  CachedOnNodes: () => 'not in registry; cached on some nodes',
  NeverPull: (f) => (f.nodesWithImage && f.nodesWithImage.length === 0 && f.eligibleNodeCount ? 'pullPolicy Never, no node has it' : 'pullPolicy Never'),
  NodeCredentialsAssumed: () => 'needs node credentials; not checked',
  SecretsUnreadable: () => 'pull secrets unreadable; not checked',
  RateLimited: () => 'registry rate limit; not checked',
  RegistryUnreachable: (f) => `registry unreachable${f.resolution.cause ? ` (${f.resolution.cause})` : ''}; not checked`,
  RegistryTimeout: () => 'registry timed out; not checked',
  RegistryError: (f) => `registry error${f.resolution.status ? ` ${f.resolution.status}` : ''}; not checked`,
  InvalidReference: () => 'invalid image reference',
};

/** At most 120 characters: `spec.containers[0] app: nginx:lates: TagNotFound (tag not found; try latest)`. */
export function shortWarning(f: Finding): string {
  const r = f.resolution;
  const hint = SHORT_HINT[r.reason]?.(f) ?? '';
  const path = f.target.fieldPath.replace(/\.image(\.reference)?$/, '');
  const image = r.image.length > 40 ? `${r.image.slice(0, 39)}…` : r.image;
  const text = `${path} ${image}: ${r.reason}${hint ? ` (${hint})` : ''}`.replace(/[\u0000-\u001f\u007f]/g, '?');
  return text.length > WARNING_MAX_CHARS ? `${text.slice(0, WARNING_MAX_CHARS - 1)}…` : text;
}

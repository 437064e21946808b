// The one table of reason codes: for each, its verdict, what it means, how it is said in a denial, its fix, and the
// short form a warning carries. A new reason is one union member plus one row; the compiler finds a missing row.
import type { Finding, ReasonCode, SecretNote, Verdict } from './finding.ts';
import { formatPlatform, grammatical, isDigest, isMediaType, isPlatformField, isTag, list, plain, quote } from './text.ts';

// The codes are spelled in finding.ts (the verdict layer's value types, below this table): a pod-level reason is one
// PodReason member there, a registry outcome one RegistryOutcome member in src/registry; either needs its row here.
export type { PodReason, ReasonCode, Verdict } from './finding.ts';

/** The first thing to do, short enough for a warning: `lead` then `items`, of which the first is always kept. */
export interface ShortFix {
  lead: string;
  items: string[];
}

export interface ReasonRow {
  verdict: Verdict;
  /** What the code means, as the README's table says it. */
  meaning: string;
  /** What happened, in a sentence or two (denials, audit annotations, logs). */
  what(f: Finding): string;
  /** The fix, as the person running kubectl needs it; '' when there is nothing to do. */
  fix(f: Finding): string;
  /** A few words for a warning: `tag not found`. */
  short(f: Finding): string;
  /** The fix's first item for a warning: the closest tags, the secret to create or renew, the image's platforms. */
  firstFix(f: Finding): ShortFix;
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

function triedSentence(f: Finding): string {
  const tried = f.resolution.credentialsTried;
  return tried.length > 0 ? ` Credentials tried: ${list(tried)}.` : '';
}

/** The normalised reference, only when it says more than the image as written (which the line already quotes). */
function lead(f: Finding): string {
  const r = f.resolution;
  return r.reference && r.reference !== r.image ? `${plain(r.reference)}: ` : '';
}

/** What the registry said: its text is data, on one line. */
function said(f: Finding): string {
  const m = f.resolution.registryMessage;
  return m ? ` The registry said: ${plain(m, 300)}.` : '';
}

function detail(f: Finding, otherwise: string): string {
  const d = f.resolution.detail;
  return d ? plain(d, 600) : otherwise;
}

/** Closest existing tags, only those that are tags (a hostile registry's "tag" is not suggested). */
function suggestions(f: Finding): string[] {
  return (f.resolution.suggestions ?? []).filter(isTag);
}

function imagePlatforms(f: Finding): string[] {
  return (f.resolution.platforms ?? []).map(formatPlatform);
}

/** The pull secret that failed (missing, wrong type...), if one did. */
function unusableSecret(f: Finding): SecretNote | undefined {
  return f.secrets.find((s) => s.status === 'NotFound' || s.status === 'WrongType' || s.status === 'MissingKey' || s.status === 'Malformed');
}

function readSecrets(f: Finding): string[] {
  return f.secrets.filter((s) => s.status === 'ok').map((s) => s.name);
}

const one = (lead: string, item = ''): ShortFix => ({ lead, items: item ? [item] : [] });

/** For warnings: the secret to create (where the kubelet would find it). */
function createSecretShort(f: Finding, name: string): ShortFix {
  if (f.standalone) return one('pass credentials with --docker-config');
  const listed = f.secrets.some((s) => s.name === name);
  const host = f.resolution.reference?.split('/')[0] ?? 'its registry';
  return one(`create pull secret ${name} for ${host}${listed ? '' : ', list it in imagePullSecrets'}`);
}

export const REASONS = {
  Resolved: {
    verdict: 'allow',
    meaning: 'the manifest exists, credentials work, a platform matches',
    what: (f) => `${plain(f.resolution.reference ?? f.resolution.image)} resolves${f.resolution.digest ? ` to ${grammatical(f.resolution.digest, isDigest)}` : ''}.`,
    fix: () => '',
    short: () => 'resolves',
    firstFix: () => one(''),
  },
  InvalidReference: {
    verdict: 'deny',
    meaning: 'the image string does not parse (the kubelet reports InvalidImageName)',
    what: (f) => `${detail(f, 'the image reference is not valid')} (the kubelet would report InvalidImageName).`,
    fix: () => 'Fix: correct the image string (registry/repository:tag or @sha256:digest; the repository must be lowercase).',
    short: () => 'invalid reference',
    firstFix: () => one('write registry/repository:tag, lowercase'),
  },
  TagNotFound: {
    verdict: 'deny',
    meaning: '404 for the tag; closest tags suggested',
    what: (f) => `${lead(f)}the tag does not exist.${said(f)}`,
    fix: (f) => {
      const s = suggestions(f);
      return s.length > 0
        ? `Fix: use an existing tag; closest: ${list(s, 5)}.`
        : 'Fix: use a tag that exists (push it first, or check `crane ls` / the registry UI).';
    },
    short: () => 'tag not found',
    firstFix: (f) => (suggestions(f).length > 0 ? { lead: 'try ', items: suggestions(f).slice(0, 5) } : one('push the tag, or use one that exists')),
  },
  DigestNotFound: {
    verdict: 'deny',
    meaning: '404 for the digest',
    what: (f) => `${lead(f)}no manifest with this digest.${said(f)}`,
    fix: () => 'Fix: use a digest that exists in this repository (it may have been deleted or belong to another repository).',
    short: () => 'digest not found',
    firstFix: () => one('use a digest in this repository'),
  },
  RepositoryNotFound: {
    verdict: 'deny',
    meaning: 'the registry says the repository does not exist (`NAME_UNKNOWN`)',
    what: (f) => `${lead(f)}the repository does not exist.${said(f)}`,
    fix: () => 'Fix: check the registry and repository name (typo, wrong organisation, or the image was never pushed).',
    short: () => 'repository not found',
    firstFix: () => one('check registry and repository name'),
  },
  AuthRequired: {
    verdict: 'deny',
    meaning: 'the registry wants credentials and none that apply work; private *or* missing',
    what: (f) => `${lead(f)}the registry requires credentials and none that work apply to it; ${secretsSentence(f)}. The repository is private, or it does not exist (registries such as Docker Hub answer both the same way).${said(f)}`,
    fix: (f) => {
      const missing = unusableSecret(f);
      if (missing?.status === 'NotFound') return `Fix: create the secret: ${createSecretCommand(f, missing.name)}`;
      // A Secret's type cannot be changed in place: replace it.
      if (missing) return `Fix: replace the secret: kubectl delete secret ${missing.name} -n ${f.namespace} && ${createSecretCommand(f, missing.name)}`;
      if (f.standalone) return `Fix: check the image name; if the repository is private, pass credentials with --docker-config, and in the cluster use a pull secret (${createSecretCommand(f, 'regcred')}).`;
      return `Fix: check the image name; if the repository is private, create a pull secret (${createSecretCommand(f, 'regcred')}) and add it to imagePullSecrets or to ServiceAccount "${f.serviceAccountName || 'default'}".`;
    },
    short: (f) => (unusableSecret(f)?.status === 'NotFound' ? `secret ${unusableSecret(f)?.name} missing` : 'private or missing'),
    firstFix: (f) => {
      const missing = unusableSecret(f);
      if (missing && missing.status !== 'NotFound') return one(`replace pull secret ${missing.name} with a kubernetes.io/dockerconfigjson one`);
      return createSecretShort(f, missing?.name ?? 'regcred');
    },
  },
  CredentialsRejected: {
    verdict: 'deny',
    meaning: 'every matching credential was refused',
    what: (f) => `${lead(f)}the registry rejected the credentials; ${secretsSentence(f)}.${triedSentence(f)} Even a public image fails with a stale or wrong secret: the kubelet does not fall back to an anonymous pull.${said(f)}`,
    fix: (f) => {
      // Every matching credential was refused: name every secret that was read (all of them were tried).
      const read = readSecrets(f);
      const files = otherCredentials(f);
      if (read.length === 0 && files.length > 0) return `Fix: renew the credentials in ${list(files)}.`;
      const name = read[0] ?? 'regcred';
      const which = read.length > 1 ? `secrets ${read.join(', ')} (all were refused)` : `secret ${name}`;
      return `Fix: renew the credentials in ${which}: ${createSecretCommand(f, name)} --dry-run=client -o yaml | kubectl apply -f -`;
    },
    short: () => 'credentials rejected',
    firstFix: (f) => {
      const read = readSecrets(f);
      const files = otherCredentials(f);
      if (read.length === 0 && files.length > 0) return { lead: 'renew the credentials in ', items: files };
      return { lead: 'renew pull secret ', items: read.length > 0 ? read : ['regcred'] };
    },
  },
  AccessDenied: {
    verdict: 'deny',
    meaning: 'credentials accepted, no pull access (`DENIED`, 403)',
    what: (f) => anonymousOnly(f)
      ? `${lead(f)}the registry refuses anonymous pulls of this repository; ${secretsSentence(f)}.${said(f)}`
      : `${lead(f)}the credentials were accepted but have no pull access to this repository; ${secretsSentence(f)}.${triedSentence(f)}${said(f)}`,
    fix: (f) => anonymousOnly(f)
      ? `Fix: the repository needs credentials: ${createSecretCommand(f, 'regcred')}, and add it to imagePullSecrets or to ServiceAccount "${f.serviceAccountName || 'default'}".`
      : 'Fix: grant the account in the pull secret read (pull) access to this repository, or use credentials that have it.',
    short: (f) => (anonymousOnly(f) ? 'anonymous pulls refused' : 'no pull access with these credentials'),
    firstFix: (f) => (anonymousOnly(f) ? createSecretShort(f, 'regcred') : { lead: 'grant pull access to the account of ', items: readSecrets(f).length > 0 ? readSecrets(f) : ['the credentials'] }),
  },
  PlatformMismatch: {
    verdict: 'deny',
    meaning: 'no platform in the image\'s index that an eligible node\'s runtime takes (containerd\'s `platforms.Only`; on CRI-O nodes containers/image\'s exact table)',
    what: (f) => `${lead(f)}the image offers ${list(imagePlatforms(f)) || 'no runnable platform'}, but ${f.platformSource === 'nodes' ? 'the nodes this pod may land on run' : 'the platforms asked for are'} ${list(f.eligiblePlatforms.map(formatPlatform))}.${f.resolution.runtimeNote ? ` ${plain(f.resolution.runtimeNote, 400)}.` : ''}`,
    fix: (f) => {
      const arch = f.resolution.platforms?.[0]?.architecture ?? '';
      const pin = imagePlatforms(f).length > 0 ? ` with a nodeSelector such as kubernetes.io/arch: ${arch === '' || isPlatformField(arch) ? arch : quote(arch, 40)}` : '';
      return `Fix: build the image for ${list(f.eligiblePlatforms.map(formatPlatform))} (multi-arch), or pin the pod to nodes it can run on${pin}.`;
    },
    short: () => 'wrong platform',
    firstFix: (f) => {
      const nodes = f.eligiblePlatforms.length > 0 ? `${f.platformSource === 'nodes' ? 'nodes run' : 'asked for'} ${list(f.eligiblePlatforms.map(formatPlatform), 2)}, ` : '';
      return imagePlatforms(f).length > 0 ? { lead: `${nodes}image has `, items: imagePlatforms(f) } : one(`${nodes}image has no runnable platform`);
    },
  },
  ExecFormatError: {
    verdict: 'deny',
    meaning: 'a single-manifest (index-less) image whose config names another platform than every eligible node: containerd pulls it anyway, the container cannot start. `platforms.execFormatError: warn` makes it `unknown` (clusters that emulate other architectures with binfmt)',
    what: (f) => `${lead(f)}the image offers ${list(imagePlatforms(f)) || 'no runnable platform'}, but ${f.platformSource === 'nodes' ? 'the nodes this pod may land on run' : 'the platforms asked for are'} ${list(f.eligiblePlatforms.map(formatPlatform))}. It is a single manifest (no index), so the pull succeeds there and then the container cannot start (exec format error, CrashLoopBackOff) unless the nodes emulate its platform.`,
    fix: (f) => {
      const arch = f.resolution.platforms?.[0]?.architecture ?? '';
      const pin = imagePlatforms(f).length > 0 ? ` with a nodeSelector such as kubernetes.io/arch: ${arch === '' || isPlatformField(arch) ? arch : quote(arch, 40)}` : '';
      const both = [...new Set([...f.eligiblePlatforms.map(formatPlatform), ...imagePlatforms(f)])].join(',');
      return `Fix: build the image for ${list(f.eligiblePlatforms.map(formatPlatform))} (multi-arch), e.g. docker buildx build --platform ${both}, or pin the pod to nodes it can run on${pin}.`;
    },
    short: () => 'pulls, then exec format error',
    firstFix: (f) => {
      const nodes = f.eligiblePlatforms.length > 0 ? `${f.platformSource === 'nodes' ? 'nodes run' : 'asked for'} ${list(f.eligiblePlatforms.map(formatPlatform), 2)}, ` : '';
      return imagePlatforms(f).length > 0 ? { lead: `${nodes}single-platform image is `, items: imagePlatforms(f) } : one(`${nodes}image has no runnable platform`);
    },
  },
  PlatformFallbackUncertain: {
    verdict: 'unknown',
    meaning: 'the index has no entry for the eligible nodes\' own platform, only one their runtime may or may not take: a fallback (386 on amd64, a lower arm variant, 32-bit arm on arm64), which containerd 1.x takes and 2.x only with `use_local_image_pull` (the Node does not report it), or an OCI index entry without a platform, which CRI-O takes when nothing else matches; also when the nodes name no runtime pullguard models',
    what: (f) => `${lead(f)}the image offers ${list(imagePlatforms(f)) || 'no runnable platform'}, but not the nodes' own platform (${list(f.eligiblePlatforms.map(formatPlatform))}). ${detail(f, 'Whether the nodes\' runtime takes a compatible entry depends on its configuration')}.`,
    fix: (f) => `Not denied. Build the image for ${list(f.eligiblePlatforms.map(formatPlatform))} (multi-arch), or pin the pod to nodes whose runtime takes it.`,
    short: () => 'only a fallback platform; runtime decides',
    firstFix: (f) => {
      const nodes = f.eligiblePlatforms.length > 0 ? `nodes run ${list(f.eligiblePlatforms.map(formatPlatform), 2)}, ` : '';
      return imagePlatforms(f).length > 0 ? { lead: `${nodes}image has `, items: imagePlatforms(f) } : one(`${nodes}build for the nodes' platform`);
    },
  },
  UnsupportedManifest: {
    verdict: 'deny',
    meaning: 'Docker schema 1 when every eligible node\'s runtime refuses it (containerd 2.0 by default, 2.1+), or another unpullable manifest type',
    what: (f) => `${lead(f)}the manifest is of an unsupported type (${f.resolution.mediaType ? grammatical(f.resolution.mediaType, isMediaType) : 'unknown media type'}).${said(f)}`,
    fix: () => 'Fix: rebuild and push the image with a current builder (Docker schema 2 or OCI); containerd 2.x no longer pulls schema 1 images.',
    short: () => 'schema 1 manifest',
    firstFix: () => one('rebuild with a current builder'),
  },
  Schema1Deprecated: {
    verdict: 'unknown',
    meaning: 'Docker schema 1 that some eligible node still converts (containerd 1.6/1.7, CRI-O), or no node inventory to tell',
    what: (f) => `${lead(f)}the image is a Docker schema 1 manifest. ${detail(f, 'Some container runtimes still convert it; containerd 2.x does not')}.`,
    fix: () => 'Not denied. Rebuild and push the image with a current builder (Docker schema 2 or OCI): containerd 2.0 refuses schema 1 by default and 2.1 removed it.',
    short: () => 'schema 1 manifest, deprecated',
    firstFix: () => one('rebuild with a current builder'),
  },
  InvalidPullSecret: {
    verdict: 'deny',
    meaning: 'a pull secret of the pod is malformed: the kubelet\'s keyring fails, and every pull of the pod with it',
    what: (f) => `${lead(f)}${detail(f, 'a pull secret of the pod is malformed')}`,
    fix: (f) => `Fix: recreate the secret: ${createSecretCommand(f, f.secrets.find((s) => s.failsPulls)?.name ?? 'regcred')} --dry-run=client -o yaml | kubectl apply -f -`,
    short: () => 'malformed pull secret fails every pull',
    firstFix: (f) => one(`recreate pull secret ${f.secrets.find((s) => s.failsPulls)?.name ?? 'regcred'}`),
  },
  RegistryBlocked: {
    verdict: 'deny',
    meaning: "the nodes' registry configuration refuses the pull (registries.conf `blocked`, or no hosts.toml host may resolve or pull it)",
    what: (f) => `${lead(f)}${detail(f, "the nodes' registry configuration refuses to pull this image")}`,
    fix: () => "Fix: use an image from a registry the nodes may pull from (or by digest when only pull hosts are configured), or ask the cluster administrator to change the nodes' registry configuration.",
    short: () => 'registry blocked on the nodes',
    firstFix: () => one('use a registry the nodes allow'),
  },
  AmbiguousShortName: {
    verdict: 'unknown',
    meaning: 'a short name (no registry) with no alias in the nodes\' registries.conf and several search registries (or none): CRI-O 1.34+ refuses it unless crio.conf short_name_mode = "disabled", which pullguard cannot read',
    what: (f) => `${lead(f)}${detail(f, 'CRI-O 1.34+ refuses this ambiguous short name unless crio.conf short_name_mode = "disabled"')}`,
    fix: () => 'Not denied. Add an alias for the short name to the nodes\' registries.conf [aliases], or write the full name (for example docker.io/library/nginx).',
    short: () => 'ambiguous short name',
    firstFix: () => one('write the image with its registry'),
  },
  CachedOnNodes: {
    verdict: 'unknown',
    meaning: 'the registry (or, for an index with no entry for them, the nodes\' runtime) would refuse the pull, but an eligible node has the image cached and the policy is not `Always`',
    what: (f) => `${lead(f)}${detail(f, 'the registry would refuse the pull, but eligible nodes have the image cached')}.`,
    fix: (f) => (f.resolution.cachedInsteadOf === 'PlatformMismatch'
      ? `Not denied. Build the image for ${list(f.eligiblePlatforms.map(formatPlatform)) || 'the nodes\' platform'} (multi-arch) so that every node can pull it.`
      : 'Not denied. Push the image again (or fix the credentials) so that every node can pull it.'),
    short: (f) => (f.resolution.cachedInsteadOf === 'PlatformMismatch' ? 'no entry the nodes take; cached on some nodes' : 'not in registry; cached on some nodes'),
    firstFix: (f) => one(f.resolution.cachedInsteadOf === 'PlatformMismatch' ? 'build it for the nodes\' platform' : 'push it again so every node can pull it'),
  },
  NeverPull: {
    verdict: 'unknown',
    meaning: '`imagePullPolicy: Never`: the kubelet never pulls; says whether eligible nodes report the image',
    what: (f) => {
      const nodes = f.nodesWithImage ?? [];
      const where = f.eligibleNodeCount === undefined
        ? 'pullguard cannot see which nodes have it'
        : f.eligibleNodeCount === 0
          ? 'no node matches its nodeSelector or affinity, so it would stay Pending anyway'
          : nodes.length > 0
          ? `${nodes.length} of ${f.eligibleNodeCount} eligible nodes report it (${list(nodes, 3)})`
          : `none of the ${f.eligibleNodeCount} eligible nodes reports it (ErrImageNeverPull likely)`;
      return `${lead(f)}imagePullPolicy is Never, so the kubelet will not pull it; ${where}.`;
    },
    fix: () => 'Fix: pre-load the image on every eligible node, or set imagePullPolicy: IfNotPresent.',
    short: (f) => (f.nodesWithImage && f.nodesWithImage.length === 0 && f.eligibleNodeCount ? 'pullPolicy Never, no node has it' : 'pullPolicy Never'),
    firstFix: () => one('pre-load it on every node or use IfNotPresent'),
  },
  NodeCredentialsAssumed: {
    verdict: 'unknown',
    meaning: 'a 401 from a registry whose credentials come from the nodes\' credential provider (ECR, GCR, ACR…) and no credential provider is configured for it',
    what: (f) => `${lead(f)}the registry requires credentials that the nodes' credential provider supplies; pullguard cannot check with them.${said(f)}`,
    fix: () => 'No action needed if the nodes\' credential provider grants access to this registry.',
    short: () => 'uses node credentials',
    firstFix: () => one('fine if the nodes\' credentials grant access'),
  },
  CredentialProviderUnavailable: {
    verdict: 'unknown',
    meaning: 'a refusal for an image a configured kubelet credential provider matches, when that plugin was slow, failed, needs service-account tokens, or its credentials (got with pullguard\'s identity) were refused',
    what: (f) => `${lead(f)}the registry requires credentials that a kubelet credential provider supplies, and pullguard could not get them: ${detail(f, 'the plugin gave none').replace(/\.$/, '')}.${said(f)}`,
    fix: () => 'Not denied. Give pullguard the identity its credential provider needs (see README: Kubelet credential providers), or check the plugin on the nodes too.',
    short: () => 'credential provider gave nothing usable',
    firstFix: () => one('check pullguard\'s credential provider identity'),
  },
  SecretsUnreadable: {
    verdict: 'unknown',
    meaning: 'the registry wants credentials and a pull secret the kubelet would use could not be read',
    what: (f) => `${lead(f)}the registry refused the pull or hid the repository, and pull secrets the kubelet would use could not be read (${detail(f, 'unknown error')}); ${secretsSentence(f)}.${triedSentence(f)}`,
    fix: () => 'Not denied. Let pullguard read the pull secrets (RBAC get on secrets; for the CLI, --kubeconfig) so it can check with them.',
    short: () => 'pull secrets unreadable',
    firstFix: () => one('grant pullguard get on secrets'),
  },
  NodeLoopbackRegistry: {
    verdict: 'unknown',
    meaning: 'pullguard runs in a pod (`server.inCluster`) and the image\'s registry is on the node\'s own loopback (`localhost`, `127.0.0.0/8`, `::1`), which a pod cannot reach, and the registry config has no entry for that host: no request is made',
    what: (f) => `${lead(f)}the registry ${plain(registryOf(f))} is on the node's own loopback, where the kubelet pulls it from; pullguard runs in a pod and cannot reach it, so the image was not checked.`,
    fix: (f) => `Not denied. To have it checked, give "${plain(registryOf(f))}" an entry under \`registries:\` in pullguard's registry config with a mirror at an address pullguard can reach: the in-cluster Service of the registry the nodes expose on localhost (for minikube's registry addon, mirrors: [{host: registry.kube-system.svc.cluster.local, plainHTTP: true}]).`,
    short: () => 'node-local registry, not checked',
    firstFix: () => one('add a registries: entry pullguard can reach'),
  },
  RateLimited: {
    verdict: 'unknown',
    meaning: '429 (Docker Hub pull limit); pullguard backs off and does not retry',
    what: (f) => `${lead(f)}the registry's rate limit was reached, so the image could not be checked.${said(f)}`,
    fix: () => 'Not denied. Authenticate pulls (a pull secret raises the limit) or use a mirror.',
    short: () => 'registry rate limit',
    firstFix: () => one('authenticate pulls or use a mirror'),
  },
  PullBudgetLow: {
    verdict: 'unknown',
    meaning: 'the reference resolved, but Docker Hub\'s `ratelimit-remaining` is at the reserve: the platform is not checked (no pull spent)',
    what: (f) => `${lead(f)}resolves, but its platform was not checked: the registry's pull budget is low, and reading the platforms would spend a pull.`,
    fix: () => 'Not denied. Authenticate pulls (a pull secret raises the limit) or use a mirror; the platform is checked again once the budget allows.',
    short: () => 'pull budget low; platform not checked',
    firstFix: () => one('authenticate pulls or use a mirror'),
  },
  RegistryUnreachable: {
    verdict: 'unknown',
    meaning: 'DNS, connection refused/reset, TLS or proxy failure (the sub-cause is given)',
    what: (f) => `${lead(f)}${f.resolution.cause === 'tls' ? 'the TLS connection to the registry failed' : 'the registry could not be reached'}${f.resolution.cause ? ` (${f.resolution.cause})` : ''}.${f.resolution.detail ? ` ${detail(f, '')}.` : ''}`,
    fix: () => 'Not checked, so not denied; the nodes may fail the same way if the registry stays down.',
    short: (f) => `registry unreachable${f.resolution.cause ? ` (${f.resolution.cause})` : ''}`,
    firstFix: () => one('the nodes may fail the same way'),
  },
  RegistryTimeout: {
    verdict: 'unknown',
    meaning: 'no answer before the review\'s deadline',
    what: (f) => `${lead(f)}the registry did not answer in time.`,
    fix: () => 'Not checked, so not denied; the nodes may fail the same way if the registry stays down.',
    short: () => 'registry timed out',
    firstFix: () => one('the nodes may fail the same way'),
  },
  RegistryError: {
    verdict: 'unknown',
    meaning: '5xx, malformed or oversized answers',
    what: (f) => `${lead(f)}the registry answered with an error.${said(f)}${f.resolution.detail && !said(f) ? ` ${detail(f, '')}.` : ''}`,
    fix: () => 'Not checked, so not denied; the nodes may fail the same way if the registry stays down.',
    short: (f) => `registry error${f.resolution.status ? ` ${f.resolution.status}` : ''}`,
    firstFix: () => one('the nodes may fail the same way'),
  },
} as const satisfies Record<ReasonCode, ReasonRow>;

/** Every reason code, in the table's order. */
export const REASON_CODES = Object.keys(REASONS) as ReasonCode[];

export function verdictOf(reason: ReasonCode): Verdict {
  return REASONS[reason].verdict;
}

/** The table's row for a reason (typed as the general row, for callers that do not know which reason). */
export function reasonRow(reason: ReasonCode): ReasonRow {
  return REASONS[reason];
}

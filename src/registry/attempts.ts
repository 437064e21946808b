// The credential attempts for one endpoint, in the kubelet's order: each credential that matched the image, in
// keyring order (pod secrets, then the ServiceAccount's, then node credentials), and anonymous ONLY when none
// matched. kubernetes pkg/kubelet/kuberuntime/kuberuntime_image.go PullImage (@00bdb3f; the same loop lives on in
// pkg/kubelet/images since 1.33): `creds, withCredentials := keyring.Lookup(repo)`; without credentials one
// anonymous pull, with them `for _, currentCreds := range creds { PullImage(auth) }` and the aggregate error —
// no anonymous pull after matching credentials fail. The list comes from pkg/credentialprovider/keyring.go
// (BasicDockerKeyring.Lookup appends every matching entry; credentials.lookup gives us the same list). A stale
// secret fails even a public image (containerd asks the token endpoint with it and gets 401).
import type { BlockList } from 'node:net';
import type { Reference } from '../reference/reference.ts';
import { hasUsableSecret, type TokenService } from './auth.ts';
import { AuthorizingSender } from './authorizing-sender.ts';
import type { Challenge } from './challenge.ts';
import type { RegistryError } from './errors.ts';
import type { Clock, RegistryLogger, Sender } from './exchange.ts';
import { errorFields, type Fields, type Inspection, type Outcome } from './outcome.ts';
import type { RepositoryClient, RequestContext } from './repository.ts';
import type { PullCredential, RegistryOutcome } from './resolution.ts';

const AUTH_REASONS: ReadonlySet<RegistryOutcome> = new Set(['AuthRequired', 'CredentialsRejected', 'AccessDenied']);
const NOT_FOUND: ReadonlySet<RegistryOutcome> = new Set(['TagNotFound', 'DigestNotFound', 'RepositoryNotFound']);

export interface AttemptTarget {
  sender: Sender;
  baseUrl: string;
  host: string;
  query?: Record<string, string>;
  apiRoot?: string;
  challenges: readonly Challenge[];
  plainHTTP: boolean;
  allowedHosts?: readonly string[];
  internalNetworks?: BlockList;
}

export interface AttemptDeps {
  clock: Clock;
  tokens: TokenService;
  logger?: RegistryLogger;
}

interface AuthFailure {
  error: RegistryError;
  category: 'rejected' | 'denied' | 'required';
  credential: PullCredential | undefined;
}

/** Runs `inspect` under each credential in the kubelet's order; the first definite answer wins. */
export async function attemptCredentials(
  target: AttemptTarget,
  ref: Reference,
  credentials: PullCredential[],
  ctx: RequestContext,
  nodeCredentials: boolean,
  deps: AttemptDeps,
  inspect: (c: RepositoryClient) => Promise<Inspection>,
): Promise<Outcome> {
  const usable = credentials.filter(hasUsableSecret);
  const queue: (PullCredential | undefined)[] = usable.length > 0 ? [...usable] : [undefined];
  const tried: string[] = [];
  let notFound: Outcome | undefined;
  const failures: AuthFailure[] = [];
  while (queue.length > 0) {
    const credential = queue.shift();
    tried.push(credential?.source ?? 'anonymous');
    const sender = new AuthorizingSender(target.sender, {
      host: target.host,
      repository: ref.repository,
      credential,
      challenges: target.challenges,
      tokens: deps.tokens,
      plainHTTP: target.plainHTTP,
      ...(target.allowedHosts ? { allowedHosts: target.allowedHosts } : {}),
      ...(target.internalNetworks ? { internalNetworks: target.internalNetworks } : {}),
    });
    const client: RepositoryClient = { sender, baseUrl: target.baseUrl, host: target.host, repository: ref.repository, ctx, clock: deps.clock, ...(target.query ? { query: target.query } : {}), ...(target.apiRoot !== undefined ? { apiRoot: target.apiRoot } : {}) };
    const got = await inspect(client);
    if (got.kind === 'done') {
      // Registries such as GitLab, Harbor and GHCR answer 404 to an account that may not see a private
      // repository; the kubelet tries the next credential on any error, so a not-found is final only at the end.
      if (NOT_FOUND.has(got.reason) && credential !== undefined && queue.length > 0) {
        notFound ??= { reason: got.reason, fields: got.fields, credentialsTried: [], credentialUsed: credential.source };
        continue;
      }
      return { reason: got.reason, fields: got.fields, credentialsTried: tried, credentialUsed: credential?.source ?? 'anonymous' };
    }
    if (!AUTH_REASONS.has(got.error.reason)) return { reason: got.error.reason, fields: errorFields(got.error), credentialsTried: tried, credentialUsed: credential?.source ?? 'anonymous' };
    failures.push(authFailure(got.error, sender));
    deps.logger?.debug({ host: target.host, credential: credential?.source ?? 'anonymous', reason: got.error.reason, status: got.error.status }, 'registry refused a credential');
  }
  // A credential saw "not found" and none after it did better: that answer stands.
  if (notFound) return { ...notFound, credentialsTried: tried };
  return { ...classifyAuthFailure(failures, ref, target.host, nodeCredentials, usable.length), credentialsTried: tried };
}

function authFailure(e: RegistryError, sender: AuthorizingSender): AuthFailure {
  const credential = sender.credential;
  let category: AuthFailure['category'];
  if (e.reason === 'CredentialsRejected') category = 'rejected';
  else if (e.reason === 'AccessDenied') category = 'denied';
  else if (!credential) category = 'required';
  else if (sender.authenticated) category = 'denied';
  else if (sender.sentCredentials) category = 'rejected';
  else category = 'required';
  return { error: e, category, credential };
}

function classifyAuthFailure(failures: AuthFailure[], ref: Reference, host: string, nodeCredentials: boolean, credentialCount: number): Omit<Outcome, 'credentialsTried'> {
  const denied = failures.find((f) => f.category === 'denied' && f.credential);
  const rejected = failures.filter((f) => f.category === 'rejected');
  const anonymousDenied = failures.find((f) => f.category === 'denied' && !f.credential);
  const chosen = denied ?? rejected[0] ?? anonymousDenied ?? failures[failures.length - 1];
  const fields: Fields = chosen ? errorFields(chosen.error) : {};
  const repo = `${ref.registry}/${ref.repository}`;
  if (nodeCredentials) {
    return { reason: 'NodeCredentialsAssumed', fields: { ...fields, detail: `${host} refused our credentials for ${repo}; the nodes' kubelet credential provider supplies them, so the pull may still work` } };
  }
  if (denied) {
    return { reason: 'AccessDenied', fields: { ...fields, detail: `the credentials from ${denied.credential?.source} were accepted but do not allow pulling ${repo} (or the repository does not exist)` } };
  }
  if (rejected.length > 0) {
    const names = rejected.map((f) => f.credential?.source ?? 'the pull secret').join(', ');
    return {
      reason: 'CredentialsRejected',
      fields: {
        ...fields,
        detail: `${host} refused the credentials from ${names} (wrong or expired username/password/token); the kubelet does not fall back to an anonymous pull when a credential matches, so even a public image fails with a stale secret: ${rejected[0]?.error.message ?? ''}`,
      },
    };
  }
  if (anonymousDenied) return { reason: 'AccessDenied', fields: { ...fields, detail: `${host} denied anonymous access to ${repo}` } };
  const why = credentialCount === 0 ? 'no pull credential matched this image' : 'no credential was accepted';
  return {
    reason: 'AuthRequired',
    fields: { ...fields, detail: `${host} requires authentication for ${repo}: the repository is private or does not exist (registries such as Docker Hub answer 401 for both); ${why}` },
  };
}

// A 404 for a manifest: a missing tag or digest, or a missing repository; with the closest existing tags.
// HEAD carries no error body, so outside Docker Hub (where a manifest GET may count as a pull) a GET asks why;
// tags/list (which registry.k8s.io also redirects) tells whether the repository exists and what tags it has.
import { isDockerHub, manifestReference } from '../reference/reference.ts';
import type { RegistryDefaults } from './config.ts';
import type { RegistryError } from './errors.ts';
import { done, errorFields, type InspectRequest, type Inspection } from './outcome.ts';
import { getManifest, listTags, type RepositoryClient } from './repository.ts';
import type { RegistryOutcome } from './resolution.ts';
import { suggestTags } from './suggest.ts';

/** Enough for an error body; a manifest this GET unexpectedly returns is not needed. */
const ERROR_PROBE_BYTES = 64 * 1024;

export async function notFound(c: RepositoryClient, q: InspectRequest, first: RegistryError, defaults: RegistryDefaults): Promise<Inspection> {
  const { ref } = q;
  const missing: RegistryOutcome = ref.digest ? 'DigestNotFound' : 'TagNotFound';
  let e = first;
  // A mirror's 404 only sends us on to the next host: no extra requests.
  if (q.mirror) return done(e.hasCode('NAME_UNKNOWN') ? 'RepositoryNotFound' : missing, errorFields(e));
  if (e.codes.length === 0 && e.method === 'HEAD' && !isDockerHub(ref.registry)) {
    const got = await getManifest(c, manifestReference(ref), ERROR_PROBE_BYTES);
    if (!got.ok && got.error.status === 404) e = got.error;
  }
  if (e.hasCode('NAME_UNKNOWN')) return done('RepositoryNotFound', { ...errorFields(e), detail: `the repository ${ref.registry}/${ref.repository} does not exist` });
  const wantTags = q.suggestTags && !ref.digest;
  // Whether the repository exists is still open when the registry gave no code, or for a digest (which
  // distribution reports as MANIFEST_UNKNOWN even in a repository that does not exist).
  const unsure = !e.hasCode('MANIFEST_UNKNOWN') || ref.digest !== undefined;
  let suggestions: string[] | undefined;
  if (wantTags || unsure) {
    const tags = await listTags(c, { maxPages: wantTags ? defaults.maxTagPages : 1, pageSize: wantTags ? defaults.tagPageSize : 1 });
    if (!tags.ok && tags.error.reason === 'RepositoryNotFound') {
      return done('RepositoryNotFound', { ...errorFields(tags.error), detail: `the repository ${ref.registry}/${ref.repository} does not exist` });
    }
    if (tags.ok && wantTags && ref.tag) suggestions = suggestTags(ref.tag, tags.value.tags);
  }
  const what = ref.digest ? `digest ${ref.digest}` : `tag ${JSON.stringify(ref.tag ?? 'latest')}`;
  return done(missing, { ...errorFields(e), detail: `${what} does not exist in ${ref.registry}/${ref.repository}`, ...(suggestions && suggestions.length > 0 ? { suggestions } : {}) });
}

// Image references parsed and normalised exactly as the kubelet and containerd do (distribution/reference
// ParseNormalizedNamed / ParseDockerRef): `nginx` is `docker.io/library/nginx:latest`. Pure and total: every input
// gives a Reference or a typed error that says which part is wrong and why.
import { checkDigest, checkHost, checkPath, checkTag, describeChar, hasUppercase, quote } from './grammar.ts';

export interface Reference {
  /** Normalised registry as in the name: `docker.io`, `quay.io`, `localhost:5000`, `[::1]:5000`. */
  registry: string;
  /** `library/nginx`, `team/app`. */
  repository: string;
  /** The tag written, or `latest` when neither tag nor digest was written. */
  tag?: string;
  /** `sha256:<64 hex>`; when both tag and digest are written both are kept, and the digest wins for pulling. */
  digest?: string;
  /** registry + '/' + repository */
  name: string;
  /** `docker.io/library/nginx:latest`, `x/y@sha256:…`, or `name:tag@digest` when both were written. */
  canonical: string;
  /** True when neither tag nor digest was written (the kubelet then defaults imagePullPolicy to Always). */
  tagDefaulted: boolean;
}

export type ReferenceErrorCode =
  | 'Empty'
  | 'TooLong'
  | 'InvalidFormat'
  | 'UppercaseRepository'
  | 'InvalidTag'
  | 'InvalidDigest'
  | 'UnsupportedDigestAlgorithm'
  | 'NameTooLong'
  | 'InvalidHost'
  | 'Whitespace';

export interface ReferenceError {
  code: ReferenceErrorCode;
  message: string;
  input: string;
}

export type ParseResult = { ok: true; reference: Reference } | { ok: false; error: ReferenceError };

export const DOCKER_HUB_CONFIG_KEY = 'https://index.docker.io/v1/';

export const DEFAULT_REGISTRY = 'docker.io';
export const DEFAULT_TAG = 'latest';

/** Inputs longer than this are refused before any scanning; no real reference comes close. */
export const MAX_INPUT_LENGTH = 4096;

/**
 * Longest repository path (without the registry; with the `library/` normalisation adds), as containerd 2 checks
 * it: distribution/reference v0.6 reference.go Parse tests `len(repo.path) > NameTotalLengthMax` (255).
 */
export const MAX_NAME_LENGTH = 255;

const LEGACY_DOCKER_HUB = 'index.docker.io';
const DOCKER_HUB_ENDPOINT = 'registry-1.docker.io';
const OFFICIAL_PREFIX = 'library/';
const DOCKER_HUB_NAMES: ReadonlySet<string> = new Set([DEFAULT_REGISTRY, LEGACY_DOCKER_HUB, DOCKER_HUB_ENDPOINT]);

// Whitespace, control and invisible format characters (zero-width space, BOM, bidi marks).
const INVISIBLE = /[\s\p{Cc}\p{Cf}\p{Z}]/u;
const NON_ASCII = /[^\x00-\x7f]/;
const IMAGE_ID = /^[a-f0-9]{64}$/;
const URL_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

export function parseReference(input: string): ParseResult {
  if (typeof input !== 'string') return fail('InvalidFormat', `an image reference must be a string, not ${input === null ? 'null' : typeof input}`, '');
  if (input === '') return fail('Empty', 'the image reference is empty', input);
  if (input.length > MAX_INPUT_LENGTH) {
    return fail('TooLong', `the image reference is ${input.length} characters long; the limit is ${MAX_INPUT_LENGTH}`, input);
  }
  const characterProblem = checkCharacters(input);
  if (characterProblem !== null) return characterProblem;

  const scheme = URL_SCHEME.exec(input);
  if (scheme !== null) {
    return fail('InvalidFormat', `image references have no URL scheme; remove ${quote(scheme[0])} and write registry/repository`, input);
  }
  // distribution refuses a bare image ID so it cannot be mistaken for a repository name.
  if (IMAGE_ID.test(input)) {
    return fail('InvalidFormat', `${quote(input)} is a 64-character hex image ID, not a repository name; to pin content write name@sha256:<digest>`, input);
  }

  // name [":" tag] ["@" digest]: "@" appears nowhere else, and the tag ":" is the first one after the last "/".
  const at = input.indexOf('@');
  const beforeDigest = at < 0 ? input : input.slice(0, at);
  const digest = at < 0 ? undefined : input.slice(at + 1);
  const tagColon = beforeDigest.indexOf(':', beforeDigest.lastIndexOf('/') + 1);
  const writtenName = tagColon < 0 ? beforeDigest : beforeDigest.slice(0, tagColon);
  const tag = tagColon < 0 ? undefined : beforeDigest.slice(tagColon + 1);

  if (writtenName === '') {
    return fail('InvalidFormat', `there is no image name before ${quote(tagColon === 0 ? ':' : '@')}`, input);
  }

  const { registry, repository, writtenRepository } = splitRegistry(writtenName);
  if (hasUppercase(writtenRepository)) {
    return fail(
      'UppercaseRepository',
      `repository name ${quote(writtenRepository)} must be lowercase (did you mean ${quote(writtenRepository.toLowerCase())}?)`,
      input,
    );
  }
  if (writtenRepository === '') {
    return fail('InvalidFormat', `there is no repository after the registry ${quote(registry)}`, input);
  }

  const hostProblem = checkHost(registry);
  const pathProblem = checkPath(repository);
  // As in the grammar, a first component that is no valid host may still match as a path component
  // (`a_b.example/x`); the runtime then contacts that first component as the host, so it stays the registry.
  if (hostProblem !== null && !(pathProblem === null && checkPath(`${registry}/${repository}`) === null)) {
    return fail('InvalidHost', hostProblem, input);
  }
  if (pathProblem !== null) return fail('InvalidFormat', pathProblem, input);

  const name = `${registry}/${repository}`;
  // The grammar puts no bound on the host, but no longer host name resolves (Go's net isDomainName: 254 at most),
  // so the runtime cannot contact it.
  if (registry.length > MAX_NAME_LENGTH) {
    return fail('NameTooLong', `the registry host ${quote(registry, { sayLength: false })} is ${registry.length} characters long; no host name that long resolves`, input);
  }
  if (repository.length > MAX_NAME_LENGTH) {
    return fail('NameTooLong', `the repository path ${quote(repository, { sayLength: false })} is ${repository.length} characters long; the limit is ${MAX_NAME_LENGTH}`, input);
  }

  if (tag !== undefined) {
    const tagProblem = checkTag(tag);
    if (tagProblem !== null) return fail('InvalidTag', tagProblem, input);
  }
  if (digest !== undefined) {
    const digestProblem = checkDigest(digest);
    if (digestProblem !== null) return fail(digestProblem.code, digestProblem.reason, input);
  }

  const tagDefaulted = tag === undefined && digest === undefined;
  const effectiveTag = tagDefaulted ? DEFAULT_TAG : tag;
  const reference: Reference = {
    registry,
    repository,
    ...(effectiveTag === undefined ? {} : { tag: effectiveTag }),
    ...(digest === undefined ? {} : { digest }),
    name,
    canonical: formatCanonical(name, effectiveTag, digest),
    tagDefaulted,
  };
  return { ok: true, reference };
}

/** Docker Hub under any of its names. */
export function isDockerHub(registry: string): boolean {
  return DOCKER_HUB_NAMES.has(registry);
}

/** The host[:port] to connect to: Docker Hub's registry API is not served at docker.io itself. */
export function registryEndpoint(registry: string): string {
  return registry === DEFAULT_REGISTRY ? DOCKER_HUB_ENDPOINT : registry;
}

/** The pull reference the registry is asked for: the digest when present, else the tag. */
export function manifestReference(ref: Reference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}

/**
 * distribution's splitDockerDomain: the first component is the registry when it is `localhost`, contains "." or
 * ":", or has uppercase letters (which no repository may have); otherwise the name is on Docker Hub, and a
 * single-component Docker Hub name is an official image under `library/`.
 */
function splitRegistry(writtenName: string): { registry: string; repository: string; writtenRepository: string } {
  const slash = writtenName.indexOf('/');
  let registry = DEFAULT_REGISTRY;
  let writtenRepository = writtenName;
  if (slash >= 0) {
    const first = writtenName.slice(0, slash);
    if (first === 'localhost' || first.includes('.') || first.includes(':') || hasUppercase(first)) {
      registry = first === LEGACY_DOCKER_HUB ? DEFAULT_REGISTRY : first;
      writtenRepository = writtenName.slice(slash + 1);
    }
  }
  const official = registry === DEFAULT_REGISTRY && writtenRepository !== '' && !writtenRepository.includes('/');
  return { registry, repository: official ? OFFICIAL_PREFIX + writtenRepository : writtenRepository, writtenRepository };
}

function checkCharacters(input: string): ParseResult | null {
  const invisible = INVISIBLE.exec(input);
  if (invisible !== null) {
    const ch = invisible[0];
    const space = /\s/.test(ch);
    const what = space ? describeChar(ch) : `${describeChar(ch)} (an invisible control character)`;
    if (invisible.index === 0) return fail('Whitespace', `the image reference starts with ${what}; remove the leading ${space ? 'whitespace' : 'character'}`, input);
    if (space && input.slice(invisible.index).trim() === '') {
      return fail('Whitespace', `the image reference ends with ${what}; remove the trailing whitespace`, input);
    }
    return fail('Whitespace', `the image reference contains ${what} at position ${invisible.index + 1}`, input);
  }
  const nonAscii = NON_ASCII.exec(input);
  if (nonAscii !== null) {
    const ch = String.fromCodePoint(input.codePointAt(nonAscii.index) ?? 0);
    return fail('InvalidFormat', `the image reference contains ${describeChar(ch)} at position ${nonAscii.index + 1}; references are plain ASCII`, input);
  }
  return null;
}

function formatCanonical(name: string, tag: string | undefined, digest: string | undefined): string {
  return name + (tag === undefined ? '' : `:${tag}`) + (digest === undefined ? '' : `@${digest}`);
}

function fail(code: ReferenceErrorCode, message: string, input: string): ParseResult {
  return { ok: false, error: { code, message, input } };
}

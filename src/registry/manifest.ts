// Manifest media types and total parsers for indexes, manifests and image configs. Pure: bytes in, typed
// value or a reason out. A registry's answer never throws here.
import type { Platform } from './resolution.ts';
import { normalizePlatform } from '../reference/platform.ts';

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
} as const;

/** The Accept list for manifest requests: everything containerd accepts, plus schema1 so we can name it. */
export const MANIFEST_ACCEPT = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerList,
  MEDIA_TYPES.dockerManifest,
  MEDIA_TYPES.dockerSchema1Signed,
  MEDIA_TYPES.dockerSchema1,
].join(', ');

export type ManifestKind = 'index' | 'manifest' | 'schema1' | 'unknown';

/** Content-Type without parameters, lower-cased. */
export function mediaTypeOf(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const t = contentType.split(';')[0]?.trim().toLowerCase();
  return t || undefined;
}

export function manifestKind(mediaType: string | undefined): ManifestKind {
  switch (mediaType) {
    case MEDIA_TYPES.ociIndex:
    case MEDIA_TYPES.dockerList:
      return 'index';
    case MEDIA_TYPES.ociManifest:
    case MEDIA_TYPES.dockerManifest:
      return 'manifest';
    case MEDIA_TYPES.dockerSchema1:
    case MEDIA_TYPES.dockerSchema1Signed:
      return 'schema1';
    default:
      return 'unknown';
  }
}

const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export function isDigest(s: unknown): s is string {
  return typeof s === 'string' && s.length <= 256 && DIGEST.test(s);
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface IndexEntry extends Descriptor {
  /** Attestations/signatures stored beside the images: not runnable, never matched. */
  attestation: boolean;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

function parseJson(body: Buffer): Parsed<Record<string, unknown>> {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, problem: 'body is not valid JSON' };
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) return { ok: false, problem: 'body is not a JSON object' };
  return { ok: true, value: json as Record<string, unknown> };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function stringRecord(v: unknown): Record<string, string> | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

function parsePlatformObject(v: unknown): Platform | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  const os = str(o.os);
  const architecture = str(o.architecture);
  if (!os || !architecture) return undefined;
  const p: Platform = { os, architecture };
  const variant = str(o.variant);
  if (variant) p.variant = variant;
  const osVersion = str(o['os.version']);
  if (osVersion) p.osVersion = osVersion;
  return p;
}

function parseDescriptor(v: unknown): Descriptor | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  const digest = o.digest;
  if (!isDigest(digest)) return undefined;
  const d: Descriptor = { mediaType: str(o.mediaType) ?? '', digest, size: typeof o.size === 'number' && o.size >= 0 ? o.size : -1 };
  const platform = parsePlatformObject(o.platform);
  if (platform) d.platform = platform;
  const annotations = stringRecord(o.annotations);
  if (annotations) d.annotations = annotations;
  return d;
}

export function isAttestation(d: Descriptor): boolean {
  if (d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') return true;
  return d.platform?.os === 'unknown' && d.platform.architecture === 'unknown';
}

export interface ImageIndex {
  mediaType: string;
  manifests: IndexEntry[];
}

/** Parses an OCI index / Docker manifest list. */
export function parseIndex(body: Buffer, mediaType: string): Parsed<ImageIndex> {
  const json = parseJson(body);
  if (!json.ok) return json;
  const manifests = json.value.manifests;
  if (!Array.isArray(manifests)) return { ok: false, problem: 'index has no "manifests" array' };
  const out: IndexEntry[] = [];
  for (const m of manifests.slice(0, 10_000)) {
    const d = parseDescriptor(m);
    if (!d) return { ok: false, problem: 'index has an entry without a valid digest' };
    out.push({ ...d, attestation: isAttestation(d) });
  }
  return { ok: true, value: { mediaType: str(json.value.mediaType) ?? mediaType, manifests: out } };
}

export interface ImageManifest {
  mediaType: string;
  config: Descriptor;
  layers: number;
}

/** Parses an OCI image manifest / Docker v2 schema 2 manifest. */
export function parseManifest(body: Buffer, mediaType: string): Parsed<ImageManifest> {
  const json = parseJson(body);
  if (!json.ok) return json;
  const config = parseDescriptor(json.value.config);
  if (!config) return { ok: false, problem: 'manifest has no valid "config" descriptor' };
  const layers = Array.isArray(json.value.layers) ? json.value.layers.length : 0;
  return { ok: true, value: { mediaType: str(json.value.mediaType) ?? mediaType, config, layers } };
}

/** Reads the platform from an image config blob; undefined platform when the config does not say. */
export function parseConfigPlatform(body: Buffer): Parsed<Platform | undefined> {
  const json = parseJson(body);
  if (!json.ok) return json;
  const p = parsePlatformObject(json.value);
  return { ok: true, value: p ? normalizePlatform(p) : undefined };
}

/** Whether a config media type is a container image config (not an artifact such as a Helm chart). */
export function isImageConfig(mediaType: string): boolean {
  return mediaType === MEDIA_TYPES.ociConfig || mediaType === MEDIA_TYPES.dockerConfig || mediaType === '';
}

/** When the body itself says which kind it is (a registry sending a generic content type). */
export function sniffMediaType(body: Buffer): string | undefined {
  const json = parseJson(body);
  if (!json.ok) return undefined;
  const declared = str(json.value.mediaType);
  if (declared) return declared.toLowerCase();
  if (json.value.schemaVersion === 1) return MEDIA_TYPES.dockerSchema1;
  if (Array.isArray(json.value.manifests)) return MEDIA_TYPES.ociIndex;
  if (json.value.config && typeof json.value.config === 'object') return MEDIA_TYPES.ociManifest;
  return undefined;
}

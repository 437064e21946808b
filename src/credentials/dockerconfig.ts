// Docker credential files (config.json's `auths`, legacy .dockercfg) parsed into credential entries, the way the
// kubelet reads them (pkg/credentialprovider/config.go), plus sentences for everything that looks wrong.
// Pure and total: any text gives a result. Problems never contain secret values.
import type { PullCredential } from '../registry/index.ts';

/**
 * One credential from a docker config: the one credential type (PullCredential), its `key` as written
 * (`https://index.docker.io/v1/`, `registry.io/team`) until the keyring matches it to an image (keyring.ts).
 * Docker's `identitytoken` and `registrytoken` are kept; the kubelet never reads them (see keyring.ts).
 */
export type CredentialEntry = PullCredential;

export interface DockerConfigParse {
  /** Usable entries, in document order; a malformed entry is left out and never stops the others. */
  entries: CredentialEntry[];
  /** Human sentences about anything wrong or surprising; never a secret value. */
  problems: string[];
  /**
   * True when the kubelet's own parser (Go encoding/json into DockerConfigJSON / DockerConfig) fails on this text.
   * For a pod pull secret that is fatal: the kubelet's MakeDockerKeyring returns the error and every image pull of
   * the pod fails, whatever registry it is for.
   */
  kubeletRejects: boolean;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Parse a config.json / `.dockerconfigjson` document: `{"auths": {KEY: {auth, username, password, ...}}}`. */
export function parseDockerConfigJson(text: string | Buffer, source: string): DockerConfigParse {
  const out: DockerConfigParse = { entries: [], problems: [], kubeletRejects: false };
  const doc = parseJson(text, source, out);
  if (doc === undefined || doc === null) {
    if (doc === null) out.problems.push(`${source}: the docker config is JSON null; it holds no credentials.`);
    return out;
  }
  if (!isObject(doc)) {
    reject(out, `${source}: the docker config must be a JSON object with an "auths" map, not ${describe(doc)}.`);
    return out;
  }
  // Go's encoding/json matches struct field names case-insensitively ("Auths", "AUTHS" work too).
  const headers = goField(doc, 'httpheaders');
  if (headers !== undefined && headers !== null) {
    const stringMap = isObject(headers) && Object.values(headers).every((v) => v === null || typeof v === 'string');
    if (!stringMap) reject(out, `${source}: "HttpHeaders" must be a map of strings, not ${describe(headers)}.`);
  }
  const helpers = ['credsstore', 'credhelpers'].filter((f) => goField(doc, f) !== undefined);
  if (helpers.length > 0) {
    out.problems.push(`${source}: the docker config names credential helpers (credsStore/credHelpers); the kubelet never runs them, so only the "auths" entries count.`);
  }
  const auths = goField(doc, 'auths');
  if (auths === undefined || auths === null) {
    const looksLegacy = Object.values(doc).some((v) => isObject(v) && ['auth', 'username', 'password'].some((f) => goField(v, f) !== undefined));
    out.problems.push(
      looksLegacy
        ? `${source}: the docker config has no "auths" map; it looks like a legacy .dockercfg (registries at the top level), which belongs in a kubernetes.io/dockercfg secret under the key .dockercfg.`
        : `${source}: the docker config has no "auths" map, so it holds no credentials.`,
    );
    return out;
  }
  if (!isObject(auths)) {
    reject(out, `${source}: "auths" must be a map from registry to credentials, not ${describe(auths)}.`);
    return out;
  }
  readEntries(auths, source, out);
  return out;
}

/** Parse a legacy `.dockercfg` document: the registry map at the top level, `{KEY: {auth, ...}}`. */
export function parseDockerCfg(text: string | Buffer, source: string): DockerConfigParse {
  const out: DockerConfigParse = { entries: [], problems: [], kubeletRejects: false };
  const doc = parseJson(text, source, out);
  if (doc === undefined || doc === null) {
    if (doc === null) out.problems.push(`${source}: the .dockercfg is JSON null; it holds no credentials.`);
    return out;
  }
  if (!isObject(doc)) {
    reject(out, `${source}: a .dockercfg must be a JSON object from registry to credentials, not ${describe(doc)}.`);
    return out;
  }
  const auths = goField(doc, 'auths');
  if (isObject(auths) && Object.keys(doc).length === 1) {
    // The kubelet reads "auths" as a registry named `auths` with no credentials: say what really happened.
    out.problems.push(
      `${source}: this .dockercfg holds a config.json-style "auths" map; the kubelet reads it as a registry named "auths" and finds no credentials. Put config.json content in a kubernetes.io/dockerconfigjson secret under the key .dockerconfigjson.`,
    );
  }
  readEntries(doc, source, out);
  return out;
}

function readEntries(map: JsonObject, source: string, out: DockerConfigParse): void {
  const keys = Object.keys(map);
  if (keys.length === 0) out.problems.push(`${source}: the docker config lists no registries.`);
  for (const key of keys) {
    const entry = readEntry(key, map[key] ?? null, source, out);
    if (entry) out.entries.push(entry);
  }
}

/** One registry entry, as Go's DockerConfigEntry.UnmarshalJSON reads it: a non-empty `auth` replaces username/password. */
function readEntry(key: string, value: Json, source: string, out: DockerConfigParse): CredentialEntry | undefined {
  const where = `${source}: the entry for ${quoteKey(key)}`;
  if (key.trim() === '') out.problems.push(`${source}: an entry has an empty registry key, so it never matches any image.`);
  if (value !== null && !isObject(value)) {
    reject(out, `${where} must be an object with auth or username/password, not ${describe(value)}.`);
    return undefined;
  }
  const fields = value ?? {};
  const strings: Record<'username' | 'password' | 'email' | 'auth', string> = { username: '', password: '', email: '', auth: '' };
  let typeError = false;
  for (const name of ['username', 'password', 'email', 'auth'] as const) {
    const v = goField(fields, name);
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') {
      reject(out, `${where} has a "${name}" that is ${describe(v)}, not a string.`);
      typeError = true;
      continue;
    }
    strings[name] = v;
  }
  if (typeError) return undefined;

  const entry: CredentialEntry = { key, source };
  let username = strings.username;
  let password = strings.password;
  if (strings.auth !== '') {
    const decoded = decodeAuthField(strings.auth);
    if (!decoded.ok) {
      reject(out, `${where} has an "auth" field that ${decoded.why}.`);
      return undefined;
    }
    if ((username !== '' || password !== '') && (username !== decoded.username || password !== decoded.password)) {
      out.problems.push(`${where} has both "auth" and username/password that disagree; like the kubelet, the decoded "auth" is used.`);
    }
    username = decoded.username;
    password = decoded.password;
  }
  if (username !== '') entry.username = username;
  if (password !== '') entry.password = password;

  // Docker CLI fields the kubelet does not know about: kept for completeness, never an error for the kubelet.
  for (const [name, field] of [['identitytoken', 'identityToken'], ['registrytoken', 'registryToken']] as const) {
    const v = goField(fields, name);
    if (v === undefined || v === null || v === '') continue;
    if (typeof v !== 'string') {
      out.problems.push(`${where} has an "${name}" that is ${describe(v)}, not a string; it is ignored.`);
      continue;
    }
    entry[field] = v;
  }

  const hasBasic = entry.username !== undefined || entry.password !== undefined;
  const hasToken = entry.identityToken !== undefined || entry.registryToken !== undefined;
  if (!hasBasic && !hasToken) {
    out.problems.push(`${where} has no credentials (no auth, username, password or token); the kubelet still uses it, which amounts to an anonymous pull.`);
  } else if (!hasBasic) {
    out.problems.push(`${where} has only a token (identitytoken/registrytoken), which the kubelet ignores: it pulls with an empty username and password.`);
  }
  return entry;
}

type Decoded = { ok: true; username: string; password: string } | { ok: false; why: string };

/**
 * base64(`user:pass`), split at the first colon so passwords may contain colons. Like the kubelet: padded text
 * (ending in `=`) decodes as standard base64, unpadded as raw standard base64; `\r` and `\n` are ignored.
 */
export function decodeAuthField(field: string): Decoded {
  const bytes = decodeGoBase64(field);
  if (bytes === undefined) return { ok: false, why: 'is not valid base64' };
  const text = bytes.toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return { ok: false, why: 'does not decode to "username:password" (no colon)' };
  return { ok: true, username: text.slice(0, colon), password: text.slice(colon + 1) };
}

const BASE64_BODY = /^[A-Za-z0-9+/]*$/;

function decodeGoBase64(field: string): Buffer | undefined {
  const padded = field.trim().endsWith('=');
  const s = field.replace(/[\r\n]/g, '');
  const body = padded ? s.replace(/={1,2}$/, '') : s;
  if (!BASE64_BODY.test(body)) return undefined;
  if (padded ? s.length % 4 !== 0 : body.length % 4 === 1) return undefined;
  return Buffer.from(body, 'base64');
}

function parseJson(text: string | Buffer, source: string, out: DockerConfigParse): Json | undefined {
  const s = typeof text === 'string' ? text : Buffer.isBuffer(text) ? text.toString('utf8') : undefined;
  if (s === undefined) {
    reject(out, `${source}: the docker config is not text.`);
    return undefined;
  }
  if (s.trim() === '') {
    reject(out, `${source}: the docker config is empty.`);
    return undefined;
  }
  try {
    return JSON.parse(s) as Json;
  } catch (err) {
    // V8's message quotes the input, which may hold secrets: keep only the position.
    reject(out, `${source}: the docker config is not valid JSON${jsonErrorPosition(err, s)}.`);
    return undefined;
  }
}

function jsonErrorPosition(err: unknown, text: string): string {
  const message = err instanceof Error ? err.message : '';
  const lineCol = /\(line (\d+) column (\d+)\)/.exec(message);
  if (lineCol) return ` (line ${lineCol[1]}, column ${lineCol[2]})`;
  const pos = /at position (\d+)/.exec(message);
  if (pos) {
    const offset = Number(pos[1]);
    const before = text.slice(0, offset).split('\n');
    return ` (line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1})`;
  }
  if (/end of (JSON )?input|Unterminated/i.test(message)) return ' (it ends too early)';
  return '';
}

function reject(out: DockerConfigParse, problem: string): void {
  out.kubeletRejects = true;
  out.problems.push(problem);
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A struct field as Go's encoding/json finds it: name compared case-insensitively, the last matching key wins. */
function goField(obj: JsonObject, lowerName: string): Json | undefined {
  let found: Json | undefined;
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lowerName) found = obj[k];
  return found;
}

function describe(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

function quoteKey(key: string): string {
  return JSON.stringify(key.length > 200 ? `${key.slice(0, 200)}…` : key);
}

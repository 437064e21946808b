// The kubelet's credential-provider tables (kubernetes pkg/credentialprovider keyring_test.go, config_test.go,
// secrets/secrets_test.go) run against src/credentials, every case: test/fixtures/conformance/conformance-credentials.json.
// A case for an API pullguard has no counterpart for is skipped here with the table's stated reason.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { decodeAuthField, parseDockerCfg, parseDockerConfigJson, type CredentialEntry } from '../../src/credentials/dockerconfig.ts';
import { buildKeyring, isDefaultRegistryMatch, lookup, urlsMatch } from '../../src/credentials/keyring.ts';
import { credentialsFromSecrets } from '../../src/credentials/secret.ts';

type Creds = { username: string; password: string };

interface Case {
  id: string;
  kind: string;
  source: { repo: string; file: string; test: string };
  skip?: string;
  expect?: Record<string, unknown> & { creds?: Creds[]; first?: Creds; max?: number; error?: boolean };
  input?: string;
  glob?: string;
  target?: string;
  dockercfg?: string;
  entries?: { key: string; username: string; password: string }[];
  lookup?: string;
  secrets?: { type: string; data: Record<string, string> }[];
  defaultKeyring?: Creds[];
  format?: 'dockerconfigjson' | 'dockercfg';
  text?: string;
}

const TABLE = new URL('../fixtures/conformance/conformance-credentials.json', import.meta.url);
const { cases } = JSON.parse(readFileSync(TABLE, 'utf8')) as { cases: Case[] };

/** Cases pullguard answers differently from the kubelet, on purpose or not yet: id → why (checked as `todo`). */
const KNOWN_DIFFERENCES: Record<string, string> = {};

const SOURCE = 'conformance';

/** The kubelet's Lookup takes the image string as written; pullguard's takes it split, and joins it back the same way. */
function image(s: string): { registry: string; repository: string } {
  const slash = s.indexOf('/');
  return slash < 0 ? { registry: s, repository: '' } : { registry: s.slice(0, slash), repository: s.slice(slash + 1) };
}

const plain = (c: { username?: string; password?: string }): Creds => ({ username: c.username ?? '', password: c.password ?? '' });

function entriesOf(c: Case): CredentialEntry[] {
  if (c.dockercfg !== undefined) {
    const parsed = parseDockerCfg(c.dockercfg, SOURCE);
    if (parsed.kubeletRejects) throw new Error(`${c.id}: the table's .dockercfg does not parse: ${parsed.problems.join(' ')}`);
    return parsed.entries;
  }
  return (c.entries ?? []).map((e) => ({ key: e.key, source: SOURCE, username: e.username, password: e.password }));
}

/** Upstream's outcome for one case, shaped like `expect`. */
function observe(c: Case): unknown {
  const want = c.expect ?? {};
  switch (c.kind) {
    case 'urlsMatch':
      return { match: urlsMatch(c.glob ?? '', c.target ?? '') };
    case 'isDefaultRegistryMatch':
      return { match: isDefaultRegistryMatch(c.input ?? '') };
    case 'keyringLookup': {
      const creds = lookup(buildKeyring(entriesOf(c)), image(c.lookup ?? '')).map(plain);
      if ('creds' in want) return { creds };
      // Upstream: ok, the first credential, and no more than `max` hits.
      const out: Record<string, unknown> = { first: creds[0] };
      if (want.max !== undefined) out['max'] = creds.length <= want.max ? want.max : `${creds.length} hits`;
      return out;
    }
    case 'secretsKeyring': {
      const secrets = (c.secrets ?? []).map((s, i) => ({
        namespace: 'default',
        name: `secret-${i}`,
        type: s.type,
        data: Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, Buffer.from(v)])),
      }));
      const pod = credentialsFromSecrets(secrets).entries;
      // The upstream fake default keyring answers every image: node credentials keyed by the looked-up registry.
      const node = (c.defaultKeyring ?? []).map((d) => ({ key: image(c.lookup ?? '').registry, source: 'node', ...d }));
      return { creds: lookup(buildKeyring(pod, node), image(c.lookup ?? '')).map(plain) };
    }
    case 'dockerConfig': {
      const parsed = (c.format === 'dockercfg' ? parseDockerCfg : parseDockerConfigJson)(c.text ?? '', SOURCE);
      if (want.error === true || parsed.kubeletRejects) return { error: parsed.kubeletRejects };
      return { entries: Object.fromEntries(parsed.entries.map((e) => [e.key, plain(e)])) };
    }
    case 'dockerConfigEntry': {
      // One DockerConfigEntry checked as a one-entry .dockercfg: an entry error makes the kubelet reject the config.
      const parsed = parseDockerCfg(`{"registry.example": ${c.text ?? ''}}`, SOURCE);
      if (want.error === true || parsed.kubeletRejects) return { error: parsed.kubeletRejects };
      return plain(parsed.entries[0] ?? {});
    }
    case 'decodeAuth': {
      const decoded = decodeAuthField(c.input ?? '');
      if (want.error === true || !decoded.ok) return { error: !decoded.ok };
      return { username: decoded.username, password: decoded.password };
    }
    default:
      throw new Error(`${c.id}: kind ${c.kind} has no runner and no skip reason in the table`);
  }
}

t.test('the upstream credentials table is complete enough to be worth running', async (t) => {
  t.ok(cases.length >= 90, `${cases.length} cases`);
  t.same(cases.filter((c) => c.skip === undefined && c.expect === undefined).map((c) => c.id), [], 'every case that runs states an outcome');
});

for (const kind of [...new Set(cases.map((c) => c.kind))]) {
  t.test(`upstream ${kind} cases`, async (t) => {
    for (const c of cases.filter((x) => x.kind === kind)) {
      const name = `${c.id} (${c.source.repo} ${c.source.file})`;
      if (c.skip !== undefined) {
        t.test(name, { skip: c.skip }, async () => {});
        continue;
      }
      const todo = KNOWN_DIFFERENCES[c.id];
      t.same(observe(c), c.expect, name, todo === undefined ? {} : { todo });
    }
  });
}

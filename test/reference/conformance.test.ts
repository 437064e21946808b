// The upstream reference tables (distribution/reference reference_test.go, normalize_test.go, regexp_test.go and the
// kubelet's pkg/util/parsers) run against src/reference, every case: test/fixtures/conformance/conformance-reference.json.
// A case for an API pullguard has no counterpart for is skipped here with the table's stated reason.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { checkHost, checkPath } from '../../src/reference/grammar.ts';
import { parseReference, type Reference } from '../../src/reference/reference.ts';

interface Case {
  id: string;
  kind: 'parse' | 'canonicalName' | 'host' | 'nameGrammar' | 'compose' | 'familiarMatch' | 'identifier';
  input: string;
  expect?: Record<string, unknown>;
  skip?: string;
  adapted?: string;
  unchecked?: string;
  source: { repo: string; file: string; test: string };
}

const TABLE = new URL('../fixtures/conformance/conformance-reference.json', import.meta.url);
const { cases } = JSON.parse(readFileSync(TABLE, 'utf8')) as { cases: Case[] };

/** Cases pullguard parses differently from upstream on purpose, or not yet: id → why (checked as `todo`). */
// None today: the 255-character rule now counts the repository path only, as distribution/reference v0.6 does.
const KNOWN_DIFFERENCES: Record<string, string> = {};

/** The reference as written after normalisation: name, then the tag and digest only if they were written. */
function written(ref: Reference): string {
  return ref.name + (ref.tagDefaulted || ref.tag === undefined ? '' : `:${ref.tag}`) + (ref.digest === undefined ? '' : `@${ref.digest}`);
}

/** Upstream's view of a parsed reference, in the field names the table uses. */
function observe(input: string): Record<string, unknown> {
  const got = parseReference(input);
  if (!got.ok) return { error: true, ok: false, code: got.error.code };
  const ref = got.reference;
  return {
    error: false,
    ok: true,
    registry: ref.registry,
    repository: ref.repository,
    name: ref.name,
    tag: ref.tagDefaulted ? null : (ref.tag ?? null),
    digest: ref.digest ?? null,
    tagDefaulted: ref.tagDefaulted,
    // ParseAnyReference / ParseNormalizedNamed String(): nothing added.
    normalized: written(ref),
    // ParseDockerRef: a digest drops the tag; otherwise the tag, `latest` by default.
    dockerRef: ref.digest !== undefined ? `${ref.name}@${ref.digest}` : `${ref.name}:${ref.tag ?? 'latest'}`,
    // The kubelet's ParseImageName: the tag to pull is `latest` only when neither tag nor digest is written.
    pullTag: ref.tag ?? null,
  };
}

/** anchoredNameRegexp = [domainAndPort "/"] remoteName; the optional domain is tried first, as the greedy regexp does. */
function nameGrammar(input: string): Record<string, unknown> {
  const slash = input.indexOf('/');
  if (slash >= 0) {
    const domain = input.slice(0, slash);
    const path = input.slice(slash + 1);
    if (checkHost(domain) === null && checkPath(path) === null) return { valid: true, domain, path };
  }
  return checkPath(input) === null ? { valid: true, domain: '', path: input } : { valid: false };
}

function pick(observed: Record<string, unknown>, expect: Record<string, unknown>): Record<string, unknown> {
  if (expect['error'] === true || expect['ok'] === false) return { error: observed['error'] };
  if (observed['error'] === true) return { error: true, code: observed['code'] };
  return Object.fromEntries(Object.keys(expect).map((k) => [k, observed[k]]));
}

function check(c: Case): { got: unknown; want: unknown } {
  const want = c.expect ?? {};
  switch (c.kind) {
    case 'parse':
      return { got: pick(observe(c.input), want), want: want['error'] === true ? { error: true } : want };
    case 'canonicalName': {
      // ParseNamed: the normalised name (plus written tag/digest) must print back as the input.
      const got = parseReference(c.input);
      const canonical = got.ok && written(got.reference) === c.input;
      const observed: Record<string, unknown> = { canonical };
      if (got.ok && 'registry' in want) Object.assign(observed, { registry: got.reference.registry, repository: got.reference.repository });
      return { got: observed, want };
    }
    case 'host':
      return { got: { valid: checkHost(c.input) === null }, want };
    case 'nameGrammar': {
      const got = nameGrammar(c.input);
      return { got: Object.fromEntries(Object.keys(want).map((k) => [k, got[k]])), want };
    }
    default:
      throw new Error(`${c.id}: kind ${c.kind} has no runner and no skip reason in the table`);
  }
}

t.test('the upstream reference table is complete enough to be worth running', async (t) => {
  t.ok(cases.length >= 300, `${cases.length} cases`);
  t.same(cases.filter((c) => c.skip === undefined && c.expect === undefined).map((c) => c.id), [], 'every case that runs states an outcome');
});

for (const kind of [...new Set(cases.map((c) => c.kind))]) {
  t.test(`upstream ${kind} cases`, async (t) => {
    for (const c of cases.filter((x) => x.kind === kind)) {
      const name = `${c.id} (${c.source.repo} ${c.source.file}): ${JSON.stringify(c.input)}`;
      if (c.skip !== undefined) {
        t.test(name, { skip: c.skip }, async () => {});
        continue;
      }
      const todo = KNOWN_DIFFERENCES[c.id];
      const { got, want } = check(c);
      t.same(got, want, name, todo === undefined ? {} : { todo });
    }
  });
}

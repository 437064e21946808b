// How each node runtime picks an index entry: containers/image's own WantedPlatforms table (CRI-O's pulls,
// test/fixtures/conformance/conformance-containers-image.json), and the three matchers side by side on the cases
// where they part: 386 on amd64, lower arm variants, 32-bit arm on arm64, arm64 v8.x, spellings containerd normalises.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { containerdDefaultSpec, containersImageWantedPlatforms, criOWantedPlatforms, formatPlatform, indexEntryMatches, parsePlatform, type IndexMatcher, type Platform } from '../../src/reference/platform.ts';

interface Case {
  id: string;
  kind: string;
  skip?: string;
  choice: { os: string; architecture: string; variant?: string };
  expect: { wanted: [string, string, string][] };
}

const table = JSON.parse(readFileSync(new URL('../fixtures/conformance/conformance-containers-image.json', import.meta.url), 'utf8')) as { cases: Case[] };
const triple = (p: Platform): [string, string, string] => [p.os, p.architecture, p.variant ?? ''];

t.ok(table.cases.length >= 5, 'the whole table is loaded');
for (const c of table.cases) {
  t.test(`${c.kind} ${c.id}`, { ...(c.skip ? { skip: c.skip } : {}) }, async (t) => {
    if (c.kind !== 'wantedPlatforms') return t.fail(`case kind ${c.kind} has no check and no skip reason`);
    t.same(containersImageWantedPlatforms(c.choice).map(triple), c.expect.wanted, 'the platforms containers/image wants, in its order');
  });
}

const P = (s: string): Platform => {
  const p = parsePlatform(s);
  if (!p) throw new Error(`bad platform ${s}`);
  return p;
};

t.test('CRI-O wants what containers/image detects on the node: arm64 is v8, amd64 has no variant, arm its label', async (t) => {
  t.same(criOWantedPlatforms(P('linux/amd64')).map(formatPlatform), ['linux/amd64']);
  t.same(criOWantedPlatforms({ os: 'linux', architecture: 'amd64', variant: 'v3' }).map(formatPlatform), ['linux/amd64'], 'amd64 levels are never detected');
  t.same(criOWantedPlatforms(P('linux/arm64')).map(formatPlatform), ['linux/arm64/v8', 'linux/arm64']);
  t.same(criOWantedPlatforms({ os: 'linux', architecture: 'arm64', variant: 'v8.2' }).map(formatPlatform), ['linux/arm64/v8', 'linux/arm64'], 'every arm64 CPU reports "CPU architecture: 8"');
  t.same(criOWantedPlatforms({ os: 'linux', architecture: 'arm', variant: 'v7' }).map(formatPlatform), ['linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5', 'linux/arm']);
  t.same(criOWantedPlatforms({ os: 'linux', architecture: 'arm' }).map(formatPlatform), ['linux/arm', 'linux/arm/v8', 'linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5'], 'an arm node of unknown variant');
});

// [node, index entry, containerd (platforms.Only), containerd-strict (2.x transfer service), cri-o]
const CASES: [Platform, Platform, boolean, boolean, boolean][] = [
  [P('linux/amd64'), P('linux/amd64'), true, true, true],
  [P('linux/amd64'), P('linux/386'), true, false, false],
  [P('linux/amd64'), P('linux/amd64/v2'), false, false, false],
  [P('linux/amd64'), { os: 'linux', architecture: 'amd64', variant: 'v1' }, true, true, false],
  [P('linux/amd64'), { os: 'linux', architecture: 'x86_64' }, true, true, false],
  [P('linux/amd64'), P('linux/arm64'), false, false, false],
  [P('linux/arm64'), P('linux/arm64'), true, true, true],
  [P('linux/arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' }, true, true, true],
  [P('linux/arm64'), { os: 'linux', architecture: 'aarch64' }, true, true, false],
  [P('linux/arm64'), P('linux/arm/v7'), true, false, false],
  [P('linux/arm64'), P('linux/arm64/v8.2'), false, false, false],
  [{ os: 'linux', architecture: 'arm64', variant: 'v8.2' }, P('linux/arm64/v8.1'), true, false, false],
  [{ os: 'linux', architecture: 'arm', variant: 'v7' }, P('linux/arm/v7'), true, true, true],
  [{ os: 'linux', architecture: 'arm', variant: 'v7' }, P('linux/arm/v6'), true, false, true],
  [{ os: 'linux', architecture: 'arm', variant: 'v7' }, { os: 'linux', architecture: 'arm' }, true, true, true],
  [{ os: 'linux', architecture: 'arm', variant: 'v7' }, P('linux/arm/v8'), false, false, false],
  [{ os: 'linux', architecture: 'arm', variant: 'v6' }, P('linux/arm/v7'), false, false, false],
  [{ os: 'linux', architecture: 'arm' }, P('linux/arm/v6'), true, true, true],
  [P('linux/s390x'), P('linux/s390x'), true, true, true],
  [{ os: 'windows', architecture: 'amd64', osVersion: '10.0.20348' }, { os: 'windows', architecture: 'amd64', osVersion: '10.0.17763.1' }, false, false, true],
];

t.test('the three matchers on one table: containerd falls back, its transfer service and CRI-O do not', async (t) => {
  const matchers: IndexMatcher[] = ['containerd', 'containerd-strict', 'cri-o'];
  for (const [node, entry, ...want] of CASES) {
    matchers.forEach((m, i) => {
      const expected = want[i] === true;
      t.equal(indexEntryMatches(m, node, entry), expected, `${m}: a ${formatPlatform(node)} node ${expected ? 'takes' : 'does not take'} ${JSON.stringify(entry)}`);
    });
  }
});

t.test('CRI-O compares index entries as written, so a platform containerd normalises is not taken', async (t) => {
  t.notOk(indexEntryMatches('cri-o', P('linux/amd64'), { os: 'Linux', architecture: 'amd64' }), 'no lower-casing');
  t.ok(indexEntryMatches('containerd', P('linux/amd64'), { os: 'Linux', architecture: 'amd64' }), 'containerd lower-cases');
  t.notOk(indexEntryMatches('cri-o', P('linux/arm64'), { os: 'linux', architecture: 'arm64', variant: '8' }), 'no "8" → "v8"');
});

t.test('the transfer service fetches for DefaultSpec as containerd detects it: a variant label on amd64 or arm64 does not count', async (t) => {
  t.same(containerdDefaultSpec({ os: 'linux', architecture: 'amd64', variant: 'v3' }), { os: 'linux', architecture: 'amd64' });
  t.same(containerdDefaultSpec({ os: 'linux', architecture: 'arm64', variant: 'v8.2' }), { os: 'linux', architecture: 'arm64' });
  t.same(containerdDefaultSpec({ os: 'linux', architecture: 'arm', variant: 'v6' }), { os: 'linux', architecture: 'arm', variant: 'v6' });
  t.same(containerdDefaultSpec({ os: 'windows', architecture: 'amd64', osVersion: '10.0.20348' }), { os: 'windows', architecture: 'amd64', osVersion: '10.0.20348' });
  t.ok(indexEntryMatches('containerd-strict', containerdDefaultSpec({ os: 'linux', architecture: 'amd64', variant: 'v3' }), P('linux/amd64')));
  t.notOk(indexEntryMatches('containerd-strict', containerdDefaultSpec({ os: 'linux', architecture: 'amd64', variant: 'v3' }), P('linux/amd64/v3')));
});

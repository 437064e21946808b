// Platform parsing, normalisation and matching with containerd's `platforms.Only` semantics.
import t from 'tap';
import { compatiblePlatforms, formatPlatform, matchPlatforms, normalizePlatform, parsePlatform, platformMatches, type Platform } from '../../src/reference/platform.ts';

const P = (s: string): Platform => {
  const p = parsePlatform(s);
  if (!p) throw new Error(`bad platform ${s}`);
  return p;
};

t.test('parsePlatform reads os/arch[/variant] and normalises aliases', async (t) => {
  const table: [string, Platform | undefined][] = [
    ['linux/amd64', { os: 'linux', architecture: 'amd64' }],
    ['linux/arm64', { os: 'linux', architecture: 'arm64' }],
    ['linux/arm64/v8', { os: 'linux', architecture: 'arm64' }],
    ['linux/aarch64', { os: 'linux', architecture: 'arm64' }],
    ['linux/x86_64', { os: 'linux', architecture: 'amd64' }],
    ['linux/armhf', { os: 'linux', architecture: 'arm', variant: 'v7' }],
    ['linux/armel', { os: 'linux', architecture: 'arm', variant: 'v6' }],
    ['linux/arm', { os: 'linux', architecture: 'arm', variant: 'v7' }],
    ['linux/arm/v6', { os: 'linux', architecture: 'arm', variant: 'v6' }],
    ['linux/arm/7', { os: 'linux', architecture: 'arm', variant: 'v7' }],
    ['Linux/AMD64', { os: 'linux', architecture: 'amd64' }],
    ['linux/i386', { os: 'linux', architecture: '386' }],
    ['macos/arm64', { os: 'darwin', architecture: 'arm64' }],
    ['windows(10.0.17763)/amd64', { os: 'windows', architecture: 'amd64', osVersion: '10.0.17763' }],
    ['amd64', { os: 'linux', architecture: 'amd64' }],
    ['  linux/s390x  ', { os: 'linux', architecture: 's390x' }],
    ['', undefined],
    ['linux', undefined],
    ['linux/', undefined],
    ['linux/amd64/v2/extra', undefined],
    ['linux/am d64', undefined],
    ['../etc', undefined],
  ];
  for (const [input, want] of table) t.same(parsePlatform(input), want, JSON.stringify(input));
});

t.test('formatPlatform writes what docker --platform takes', async (t) => {
  t.equal(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' }), 'linux/arm/v7');
  t.equal(formatPlatform({ os: 'linux', architecture: 'amd64' }), 'linux/amd64');
  t.equal(formatPlatform(P('linux/arm64/v8')), 'linux/arm64', 'arm64/v8 is the default variant');
});

t.test('normalizePlatform follows containerd for variants', async (t) => {
  t.same(normalizePlatform({ os: 'linux', architecture: 'arm64', variant: 'v8' }), { os: 'linux', architecture: 'arm64' });
  t.same(normalizePlatform({ os: 'linux', architecture: 'amd64', variant: 'v1' }), { os: 'linux', architecture: 'amd64' });
  t.same(normalizePlatform({ os: 'linux', architecture: 'arm', variant: '8' }), { os: 'linux', architecture: 'arm', variant: 'v8' });
});

type Row = { node: string; image: string; runs: boolean; why: string };
const table: Row[] = [
  { node: 'linux/amd64', image: 'linux/amd64', runs: true, why: 'same platform' },
  { node: 'linux/amd64', image: 'linux/x86_64', runs: true, why: 'x86_64 is amd64' },
  { node: 'linux/amd64', image: 'linux/386', runs: true, why: 'amd64 runs 386 (containerd Only)' },
  { node: 'linux/amd64', image: 'linux/arm64', runs: false, why: 'different architecture' },
  { node: 'linux/amd64', image: 'windows/amd64', runs: false, why: 'different os' },
  { node: 'linux/amd64', image: 'linux/amd64/v2', runs: false, why: 'a v1 node cannot run x86-64-v2 code' },
  { node: 'linux/amd64/v3', image: 'linux/amd64/v2', runs: true, why: 'higher amd64 levels run lower ones' },
  { node: 'linux/amd64/v3', image: 'linux/amd64', runs: true, why: 'and baseline amd64' },
  { node: 'linux/arm64', image: 'linux/arm64', runs: true, why: 'same platform' },
  { node: 'linux/arm64', image: 'linux/arm64/v8', runs: true, why: 'arm64/v8 is the default arm64 variant' },
  { node: 'linux/aarch64', image: 'linux/arm64', runs: true, why: 'aarch64 is arm64' },
  { node: 'linux/arm64', image: 'linux/arm/v7', runs: true, why: 'arm64 runs 32-bit arm v7' },
  { node: 'linux/arm64', image: 'linux/arm/v6', runs: true, why: 'arm64 runs 32-bit arm v6' },
  { node: 'linux/arm64', image: 'linux/amd64', runs: false, why: 'arm64 cannot run amd64' },
  { node: 'linux/arm64/v8.2', image: 'linux/arm64', runs: true, why: 'arm64 v8.2 runs baseline v8' },
  { node: 'linux/arm64', image: 'linux/arm64/v8.2', runs: false, why: 'baseline arm64 cannot run v8.2-only code' },
  { node: 'linux/arm/v8', image: 'linux/arm/v7', runs: true, why: 'arm/v8 runs v7' },
  { node: 'linux/arm/v8', image: 'linux/arm/v6', runs: true, why: 'arm/v8 runs v6' },
  { node: 'linux/arm/v8', image: 'linux/arm/v5', runs: true, why: 'arm/v8 runs v5' },
  { node: 'linux/arm/v7', image: 'linux/arm/v8', runs: false, why: 'arm/v7 cannot run v8' },
  { node: 'linux/arm/v6', image: 'linux/arm/v7', runs: false, why: 'arm/v6 cannot run v7' },
  { node: 'linux/armhf', image: 'linux/arm', runs: true, why: 'armhf is arm/v7, and a plain arm image is v7' },
  { node: 'linux/armel', image: 'linux/arm/v6', runs: true, why: 'armel is arm/v6' },
  { node: 'linux/arm', image: 'linux/arm64', runs: false, why: '32-bit arm cannot run arm64' },
  { node: 'windows/amd64', image: 'windows/amd64', runs: true, why: 'windows matches windows' },
];

for (const r of table) {
  t.test(`${r.node} node ${r.runs ? 'runs' : 'does not run'} a ${r.image} image: ${r.why}`, async (t) => {
    t.equal(platformMatches(P(r.node), P(r.image)), r.runs);
  });
}

t.test('windows osVersion is matched as containerd does: same build before ltsc2022, from 20348 up to the host build after', async (t) => {
  const win = (osVersion?: string): Platform => ({ os: 'windows', architecture: 'amd64', ...(osVersion ? { osVersion } : {}) });
  t.ok(platformMatches(win('10.0.20348'), win('10.0.20348.1234')), 'the revision does not count');
  t.ok(platformMatches(win('10.0.26100'), win('10.0.20348')), 'ltsc2025 hosts run ltsc2022 images');
  t.notOk(platformMatches(win('10.0.20348'), win('10.0.17763.1234')), 'ltsc2022 hosts do not run ltsc2019 images');
  t.notOk(platformMatches(win('10.0.17763'), win('10.0.20348')), 'ltsc2019 hosts run only their own build');
  t.ok(platformMatches(win(), win('10.0.17763')), 'a node without the windows-build label may run any build');
  t.ok(platformMatches(win('10.0.17763'), win()), 'an image without os.version runs anywhere');
});

t.test('compatiblePlatforms lists containerd preference order, best first', async (t) => {
  t.same(compatiblePlatforms(P('linux/arm64')).map(formatPlatform), ['linux/arm64', 'linux/arm/v8', 'linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']);
  t.same(compatiblePlatforms(P('linux/arm/v7')).map(formatPlatform), ['linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']);
});

t.test('matchPlatforms prefers the best variant and reports unsupported candidates', async (t) => {
  const offered = [P('linux/amd64'), P('linux/arm/v6'), P('linux/arm/v7')];
  const m = matchPlatforms([P('linux/arm64')], offered);
  t.same(m.matched?.offered, P('linux/arm/v7'), 'arm64 prefers arm/v7 over arm/v6');
  const partial = matchPlatforms([P('linux/s390x'), P('linux/amd64')], offered);
  t.same(partial.matched?.offered, P('linux/amd64'));
  t.same(partial.unsupported, [P('linux/s390x')]);
  const none = matchPlatforms([P('linux/ppc64le')], offered);
  t.equal(none.matched, undefined);
  t.same(none.unsupported, [P('linux/ppc64le')]);
  t.same(matchPlatforms([], offered), { unsupported: [] }, 'no candidates: nothing matched, nothing unsupported');
});

t.test('a node without a variant label: arm may run any arm variant; amd64 and arm64 are held to the fixed defaults of containerd', async (t) => {
  // containerd sets no amd64 variant and always v8 on arm64 (containerd/platforms defaults_unix.go, cpuinfo.go),
  // so a v3- or v9-only image is not pulled there whatever the CPU; 32-bit arm reads its variant from the CPU.
  t.notOk(matchPlatforms([{ os: 'linux', architecture: 'amd64' }], [{ os: 'linux', architecture: 'amd64', variant: 'v3' }]).matched, 'amd64 node, amd64/v3-only image');
  t.notOk(matchPlatforms([{ os: 'linux', architecture: 'arm64' }], [{ os: 'linux', architecture: 'arm64', variant: 'v9' }]).matched, 'arm64 node, arm64/v9-only image');
  t.ok(matchPlatforms([{ os: 'linux', architecture: 'arm' }], [{ os: 'linux', architecture: 'arm', variant: 'v8' }]).matched, 'arm node of unknown variant, arm/v8-only image');
  t.notOk(matchPlatforms([{ os: 'linux', architecture: 'amd64', variant: 'v2' }], [{ os: 'linux', architecture: 'amd64', variant: 'v3' }]).matched, 'a v2 node cannot run v3');
  t.notOk(matchPlatforms([{ os: 'linux', architecture: 'amd64' }], [{ os: 'linux', architecture: 'arm64', variant: 'v8' }]).matched, 'the architecture still has to match');
  t.ok(matchPlatforms([{ os: 'linux', architecture: 'amd64', variant: 'v3' }], [{ os: 'linux', architecture: 'amd64', variant: 'v3' }]).matched, 'a node labelled v3 runs a v3-only image');
});

t.test('a hostile variant label (v8.1000000, v10000000, v100000000) builds a short list and still runs every real lower variant', async (t) => {
  const node = (architecture: string, variant: string): Platform => ({ os: 'linux', architecture, variant });
  const cases: Array<{ node: Platform; runs: string[]; not: string[] }> = [
    { node: node('arm64', 'v8.1000000'), runs: ['linux/arm64/v8.9', 'linux/arm64/v8.2', 'linux/arm64', 'linux/arm/v7'], not: ['linux/arm64/v9', 'linux/amd64'] },
    { node: node('arm64', 'v9.1000000'), runs: ['linux/arm64/v9.5', 'linux/arm64/v9', 'linux/arm64/v8.9', 'linux/arm64', 'linux/arm/v5'], not: ['linux/amd64'] },
    { node: node('amd64', 'v10000000'), runs: ['linux/amd64/v4', 'linux/amd64/v3', 'linux/amd64', 'linux/386'], not: ['linux/arm64'] },
    { node: node('arm', 'v100000000'), runs: ['linux/arm/v8', 'linux/arm/v7', 'linux/arm/v5'], not: ['linux/arm64'] },
    { node: node('amd64', `v${'9'.repeat(400)}`), runs: ['linux/amd64/v2', 'linux/amd64'], not: [] },
  ];
  for (const c of cases) {
    const list = compatiblePlatforms(c.node);
    t.ok(list.length <= 30, `${formatPlatform(c.node)}: ${list.length} platforms`);
    t.same(list[0], c.node, 'the node\'s own variant first');
    for (const image of c.runs) t.ok(platformMatches(c.node, P(image)), `${formatPlatform(c.node)} runs ${image}`);
    for (const image of c.not) t.notOk(platformMatches(c.node, P(image)), `${formatPlatform(c.node)} does not run ${image}`);
    t.ok(matchPlatforms([c.node], c.runs.map(P)).matched, 'matchPlatforms agrees');
  }
});

// containerd/platforms' own test tables (test/fixtures/conformance/conformance-platforms.json, transcribed from
// compare_test.go, platforms_test.go, defaults_test.go and the Windows compatibility tests) run against
// pullguard's platform functions: TestOnly against platformMatches, TestOnlyStrict against the transfer-service
// matcher (indexEntryMatches 'containerd-strict'). A case pullguard has no counterpart API for is skipped here with its reason.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { formatPlatform, indexEntryMatches, matchPlatforms, parsePlatform, platformMatches, type Platform } from '../../src/reference/platform.ts';

interface Case {
  id: string;
  kind: string;
  skip?: string;
  input?: string;
  candidate?: string | Platform;
  offered?: string | Platform;
  expect?: { error?: boolean; platform?: Platform; formatted?: string; matches?: Platform[]; match?: boolean };
}

const table = JSON.parse(readFileSync(new URL('../fixtures/conformance/conformance-platforms.json', import.meta.url), 'utf8')) as { cases: Case[] };

function platform(p: string | Platform | undefined): Platform {
  if (typeof p === 'object') return p;
  const parsed = parsePlatform(p ?? '');
  if (!parsed) throw new Error(`the table's platform ${JSON.stringify(p)} does not parse`);
  return parsed;
}

t.ok(table.cases.length > 300, 'the whole table is loaded');

for (const c of table.cases) {
  if (c.skip !== undefined) {
    t.test(`${c.kind} ${c.id}`, { skip: c.skip }, async () => {});
    continue;
  }
  t.test(`${c.kind} ${c.id}`, async (t) => {
    switch (c.kind) {
      case 'platformParse': {
        const got = parsePlatform(c.input ?? '');
        if (c.expect?.error) {
          t.equal(got, undefined, `${JSON.stringify(c.input)} is not a platform`);
          return;
        }
        t.same(got, c.expect?.platform, 'parses to the normalised platform');
        if (!got) return;
        if (c.expect?.formatted !== undefined) t.equal(formatPlatform(got), c.expect.formatted, 'formats as containerd does');
        for (const m of [c.expect?.platform, ...(c.expect?.matches ?? [])]) {
          if (m) t.ok(platformMatches(got, m), `matches ${JSON.stringify(m)}`);
        }
        return;
      }
      case 'only':
      case 'matchObjects': {
        const node = platform(c.candidate);
        const image = platform(c.offered);
        const want = c.expect?.match === true;
        t.equal(platformMatches(node, image), want, `a ${formatPlatform(node)} node ${want ? 'runs' : 'does not run'} a ${formatPlatform(image)} image`);
        t.equal(matchPlatforms([node], [image]).matched !== undefined, want, 'matchPlatforms agrees');
        return;
      }
      case 'onlyStrict': {
        // OnlyStrict(p) is Ordered(Normalize(p)): the matcher containerd 2.x's transfer-service pull fetches with.
        const node = platform(c.candidate);
        const image = platform(c.offered);
        const want = c.expect?.match === true;
        t.equal(indexEntryMatches('containerd-strict', node, image), want, `a ${formatPlatform(node)} node's transfer-service pull ${want ? 'takes' : 'does not take'} a ${formatPlatform(image)} entry`);
        return;
      }
      default:
        t.fail(`case kind ${c.kind} has no check and no skip reason`);
    }
  });
}

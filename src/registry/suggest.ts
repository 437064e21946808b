// "Did you mean": ranks a repository's existing tags by closeness to a tag that does not exist.
// Pure; the tag listing itself is in operations.ts.

/**
 * Optimal string alignment distance (Damerau–Levenshtein with adjacent transpositions). With `limit`, any distance
 * above it is returned as `limit + 1` as soon as that is certain: a registry may list 10,000 long tags, and the
 * webhook's event loop must not pay a full quadratic comparison for each.
 */
export function editDistance(a: string, b: string, limit = Number.MAX_SAFE_INTEGER): number {
  if (a === b) return 0;
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  if (!a.length) return b.length;
  if (!b.length) return a.length;
  const cols = b.length + 1;
  let prev2 = new Int32Array(cols);
  let prev = new Int32Array(cols);
  let cur = new Int32Array(cols);
  for (let j = 0; j < cols; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, (prev2[j - 2] as number) + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    // Every later row is at least this row's minimum minus one transposition saving, which never goes below it.
    if (rowMin > limit) return limit + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  const d = prev[cols - 1] as number;
  return d > limit ? limit + 1 : d;
}

const TAG = /^[\w][\w.-]{0,127}$/;

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/** Leading numeric version, e.g. `v1.25.3-alpine` → [1, 25, 3]; undefined when not version-like. */
export function versionOf(tag: string): number[] | undefined {
  const m = /^v?(\d{1,9})(?:\.(\d{1,9}))?(?:\.(\d{1,9}))?/.exec(tag);
  if (!m) return undefined;
  return [m[1], m[2], m[3]].filter((x): x is string => x !== undefined).map(Number);
}

/** Suffix after the version (`-alpine`), which a close suggestion should share. */
function flavourOf(tag: string): string {
  const m = /^v?\d+(?:\.\d+){0,2}(.*)$/.exec(tag);
  return m ? (m[1] ?? '') : tag;
}

/** How many leading version components agree (1.25.3 vs 1.25.9 → 2). */
function versionAgreement(a: number[] | undefined, b: number[] | undefined): number {
  if (!a || !b) return 0;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function versionGap(a: number[] | undefined, b: number[] | undefined): number {
  if (!a || !b) return Number.MAX_SAFE_INTEGER;
  const i = versionAgreement(a, b);
  return Math.abs((a[i] ?? 0) - (b[i] ?? 0));
}

export interface SuggestOptions {
  max?: number;
}

/**
 * Up to `max` (default 5) existing tags closest to `wanted`: small edit distance, or a shared version line
 * (same major.minor), or a long shared prefix. Ties: same flavour suffix, longer prefix, nearer version, newer.
 */
export function suggestTags(wanted: string, tags: Iterable<string>, opts: SuggestOptions = {}): string[] {
  const max = opts.max ?? 5;
  const wantedVersion = versionOf(wanted);
  const wantedFlavour = flavourOf(wanted);
  const threshold = Math.max(2, Math.floor(wanted.length / 2));
  const scored: { tag: string; distance: number; prefix: number; agree: number; sameFlavour: boolean; gap: number; version?: number[] }[] = [];
  const seen = new Set<string>();
  for (const tag of tags) {
    // Tags come from the registry: only well-formed ones (the tag grammar) are ever shown to a person.
    if (typeof tag !== 'string' || tag === wanted || seen.has(tag) || !TAG.test(tag)) continue;
    seen.add(tag);
    const distance = editDistance(wanted, tag, threshold);
    const prefix = commonPrefix(wanted, tag);
    const version = versionOf(tag);
    const agree = versionAgreement(wantedVersion, version);
    const close = distance <= threshold || prefix >= Math.min(4, wanted.length) || (wantedVersion !== undefined && agree >= Math.min(2, wantedVersion.length));
    if (!close) continue;
    const entry = { tag, distance, prefix, agree, sameFlavour: flavourOf(tag) === wantedFlavour, gap: versionGap(wantedVersion, version) };
    scored.push(version ? { ...entry, version } : entry);
  }
  scored.sort(
    (a, b) =>
      a.distance - b.distance ||
      Number(b.sameFlavour) - Number(a.sameFlavour) ||
      b.agree - a.agree ||
      b.prefix - a.prefix ||
      a.gap - b.gap ||
      compareVersionsDesc(a.version, b.version) ||
      (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0),
  );
  return scored.slice(0, max).map((s) => s.tag);
}

function compareVersionsDesc(a: number[] | undefined, b: number[] | undefined): number {
  if (!a || !b) return 0;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (b[i] ?? 0) - (a[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

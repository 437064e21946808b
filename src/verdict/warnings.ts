// AdmissionReview warnings a person can act on: the container's name, the image as written, the reason, and the
// first thing to do, one warning per distinct problem, all within what the API server passes on whole.
//
// The API server's budget (kubernetes staging/src/k8s.io/apiserver/pkg/endpoints/filters/warning.go, v1.19+):
// warnings are kept whole until `truncateAtTotalRunes = 4 * 1024` runes in total for the request; past that, every
// warning is cut to `truncateItemRunes = 256` runes. So each of ours is at most 256 (nothing to cut) and all of ours
// together leave room for the API server's and other webhooks' own.
import type { Finding } from './finding.ts';
import { reasonRow } from './reasons.ts';
import { plain, runes, shortenImage } from './text.ts';

/** The API server's per-warning cut once a request's warnings pass 4 Ki runes: ours never reach it. */
export const WARNING_MAX_CHARS = 256;
/** What kubectl's documentation advises per warning: kept to whenever the fix still fits. */
export const WARNING_TARGET_CHARS = 120;
/** The API server's total (4 Ki runes) less a share kept for its own warnings and other webhooks'. */
export const WARNINGS_MAX_RUNES = 4 * 1024 - 512;
/** Shortest the image is cut to in the middle while the warning aims at WARNING_TARGET_CHARS. */
const IMAGE_MIN_CHARS = 40;

const NOUN: Record<Finding['target']['field'], [string, string]> = {
  containers: ['container', 'containers'],
  initContainers: ['init container', 'init containers'],
  ephemeralContainers: ['ephemeral container', 'ephemeral containers'],
  volumes: ['image volume', 'image volumes'],
};

/** Findings that are one problem for a person: the same image, the same reason, the same first fix. */
function problemKey(f: Finding): string {
  const fix = reasonRow(f.resolution.reason).firstFix(f);
  return JSON.stringify([f.resolution.verdict, f.resolution.image, f.resolution.reason, fix.lead, fix.items]);
}

/** Findings grouped by problem, in the order each problem first appears. */
export function groupProblems(findings: Finding[]): Finding[][] {
  const groups = new Map<string, Finding[]>();
  for (const f of findings) {
    const key = problemKey(f);
    const g = groups.get(key);
    if (g) g.push(f);
    else groups.set(key, [f]);
  }
  return [...groups.values()];
}

interface Shape {
  hint: boolean;
  items: number;
  names: number;
}

// From most to least said: the problem's few words go first, then later fix items, then the names past the first.
const SHAPES: Shape[] = [
  { hint: true, items: Infinity, names: Infinity },
  { hint: true, items: 3, names: Infinity },
  { hint: false, items: 3, names: Infinity },
  { hint: false, items: 1, names: Infinity },
  { hint: false, items: 1, names: 3 },
  { hint: false, items: 1, names: 1 },
];

function who(group: Finding[], names: number): string {
  const fields = new Set(group.map((f) => f.target.field));
  const [one, many] = fields.size === 1 ? NOUN[group[0]!.target.field] : NOUN.containers;
  const all = [...new Set(group.map((f) => plain(f.target.containerName, 63)))];
  const shown = all.length > names ? `${all.slice(0, names).join(', ')} and ${all.length - names} more` : all.join(', ');
  return `${all.length === 1 ? one : many} ${shown}`;
}

/**
 * One warning for containers sharing an image and a reason: `container app: nginx:lates: TagNotFound (would deny):
 * tag not found; try latest, 1.25`. At most WARNING_MAX_CHARS, and WARNING_TARGET_CHARS whenever the fix fits in it.
 */
export function problemWarning(group: Finding[]): string {
  const f = group[0];
  if (!f) return '';
  const r = f.resolution;
  const row = reasonRow(r.reason);
  const fix = row.firstFix(f);
  const image = plain(r.image);
  const word = r.verdict === 'deny' ? 'would deny' : 'not denied';
  const render = (s: Shape, img: string): string => {
    const more = fix.items.length > s.items ? ` (+${fix.items.length - s.items} more)` : '';
    const todo = `${fix.lead}${fix.items.slice(0, s.items).join(', ')}${more}`.trim();
    const said = [s.hint ? row.short(f) : '', todo].filter((x) => x !== '').join('; ');
    return plain(`${who(group, s.names)}: ${img}: ${r.reason} (${word})${said ? `: ${said}` : ''}`);
  };
  // First the target length, shortening a long image in the middle; then the full room with the image whole (at the
  // cost of the few words and later fix items); then the image shortened, and at last the names past the first.
  const passes: [number, number, Shape[]][] = [
    [WARNING_TARGET_CHARS, Math.min(image.length, IMAGE_MIN_CHARS), SHAPES.filter((s) => s.items >= 3 && s.names === Infinity)],
    [WARNING_MAX_CHARS, image.length, SHAPES.filter((s) => s.names === Infinity)],
    [WARNING_MAX_CHARS, 1, SHAPES],
  ];
  for (const [limit, least, shapes] of passes) {
    for (const shape of shapes) {
      const room = limit - render(shape, '').length;
      if (room < least) continue;
      const text = render(shape, shortenImage(image, room));
      if (text.length <= limit) return text;
    }
  }
  return plain(render(SHAPES.at(-1)!, shortenImage(image, 60)), WARNING_MAX_CHARS);
}

/** The warning for one finding on its own. */
export function shortWarning(f: Finding): string {
  return problemWarning([f]);
}

export interface Overflow {
  /** Problems (warnings) left out. */
  more: number;
  /** Index of the first problem left out (its audit annotation is `image-<index>`). */
  first: number;
}

/**
 * Warnings that fit the API server's total: each line as given while the total stays within WARNINGS_MAX_RUNES,
 * then one last line (from `overflow`) saying how many more there are and where their full text is.
 */
export function fitWarnings(lines: string[], overflow: (o: Overflow) => string = defaultOverflow): string[] {
  const out: string[] = [];
  let used = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const size = runes(line);
    const last = i === lines.length - 1;
    const tail = last ? 0 : runes(overflow({ more: lines.length - i - 1, first: i + 1 }));
    if (used + size + tail > WARNINGS_MAX_RUNES) {
      // Everything from here on is said by the one overflow line (which always fits: the room was kept for it).
      out.push(overflow({ more: lines.length - i, first: i }));
      return out;
    }
    out.push(line);
    used += size;
  }
  return out;
}

function defaultOverflow(o: Overflow): string {
  return `pullguard: ${o.more} more image problem(s) not shown; see the audit annotations or the webhook's log`;
}

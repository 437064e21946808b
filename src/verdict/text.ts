// Text from outside is data: every string a registry (or a spec) gives us passes through here before it reaches a
// denial, a warning, an audit annotation or a log line, so it can never add a line, reorder what a terminal shows,
// or hide characters. Values with a grammar (tags, digests, media types, platforms) are shown only when they match it.

/**
 * Characters that change layout rather than show text: C0 controls (with \t \n \v \f \r), DEL, C1 controls (with NEL
 * U+0085), soft hyphen, the Arabic letter mark, the Mongolian vowel separator, zero-width space/joiners and the LRM/RLM
 * marks (U+200B–U+200F), the line and paragraph separators (U+2028, U+2029), bidi embeddings and overrides
 * (U+202A–U+202E), the word joiner and invisible operators (U+2060–U+2064), bidi isolates (U+2066–U+2069), the
 * deprecated format controls (U+206A–U+206F), the BOM / zero-width no-break space (U+FEFF), interlinear annotation
 * controls (U+FFF9–U+FFFB), the invisible tag characters (U+E0000–U+E007F), and lone surrogates (in a `u` regexp
 * a surrogate range matches only unpaired ones; they would not survive UTF-8 encoding).
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb\u{e0000}-\u{e007f}]/gu;

/** Shown in place of each character that is not safe to print. */
export const REPLACEMENT = '?';

/** `s` as one line of plain text: unsafe characters replaced, at most `max` long. */
export function plain(s: string, max = Infinity): string {
  const clean = s.replace(UNSAFE, REPLACEMENT);
  return clean.length > max ? `${clean.slice(0, Math.max(0, max - 1))}…` : clean;
}

/** `plain`, in double quotes with JSON escaping: text that is visibly someone else's. */
export function quote(s: string, max = 200): string {
  return JSON.stringify(plain(s, max));
}

/** Whether `s` has any character `plain` would replace. */
export function hasUnsafe(s: string): boolean {
  UNSAFE.lastIndex = 0;
  const found = UNSAFE.test(s);
  UNSAFE.lastIndex = 0;
  return found;
}

// Grammars from distribution/reference (reference/regexp.go, v2.8 / v0.6): tag and digest; media types per RFC 6838
// section 4.2; platform fields as containerd/platforms spells them (lower-case words, digits, '.', '_', '-').
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
const PLATFORM_FIELD = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A tag that may be suggested: it matches the tag grammar exactly. */
export function isTag(s: string): boolean {
  return TAG.test(s);
}

export function isDigest(s: string): boolean {
  return DIGEST.test(s) && s.length <= 200;
}

export function isMediaType(s: string): boolean {
  return MEDIA_TYPE.test(s);
}

export function isPlatformField(s: string): boolean {
  return PLATFORM_FIELD.test(s);
}

/** A value with a grammar: as is when it matches, else quoted as data (`"…"`), never raw. */
export function grammatical(s: string, valid: (s: string) => boolean, max = 80): string {
  return valid(s) ? s : quote(s, max);
}

/** `a, b, c and 3 more`. */
export function list(items: string[], max = 6): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

/** Length in runes (code points), as the API server counts warnings. */
export function runes(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * An image reference at most `max` characters long, shortened in the middle: the start (registry host) and the end
 * (the last path component with its tag or digest) stay; the tag and digest are never cut.
 */
export function shortenImage(image: string, max: number): string {
  if (image.length <= max) return image;
  const slash = image.lastIndexOf('/');
  const at = image.indexOf('@', slash + 1);
  const colon = image.indexOf(':', slash + 1);
  const tagStart = at >= 0 && (colon < 0 || at < colon) ? at : colon >= 0 ? colon : image.length;
  const tag = image.slice(tagStart);
  const body = image.slice(0, tagStart);
  const keep = max - tag.length - 1;
  if (keep <= 0) return `…${tag}`;
  const front = Math.ceil(keep / 2);
  return `${body.slice(0, front)}…${body.slice(body.length - (keep - front))}${tag}`;
}

/** `linux/arm/v7` as `docker --platform` takes it; a field off its grammar is shown quoted, as data. */
export function formatPlatform(p: { os: string; architecture: string; variant?: string | undefined }): string {
  const fields = [p.os, p.architecture, p.variant].filter((s): s is string => typeof s === 'string' && s !== '');
  const text = fields.join('/');
  return fields.every(isPlatformField) ? text : quote(text, 60);
}

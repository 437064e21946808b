// How deep a JSON text nests, measured on the raw text in one linear pass before anything parses it: the
// parser, the schema validator and every walk over the object are recursive, and a few MB of `[[[[…` stall them.

/** True when `text` opens more than `max` arrays/objects inside each other (brackets in strings do not count). */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: jump to its closing quote with indexOf (most of a review's bytes are strings), skipping quotes
      // escaped by an odd number of backslashes. Unterminated: nothing after it counts (the parser refuses it).
      let from = i + 1;
      for (;;) {
        const quote = text.indexOf('"', from);
        if (quote < 0) return false;
        let b = quote - 1;
        while (b > i && text.charCodeAt(b) === 0x5c) b--;
        if ((quote - 1 - b) % 2 === 0) {
          i = quote;
          break;
        }
        from = quote + 1;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

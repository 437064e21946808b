// bcrypt ($2b$) in pure TypeScript, for the registry's htpasswd file: distribution 2.8 accepts only bcrypt
// there, and neither `htpasswd` (apache2-utils) nor a bcrypt package is guaranteed on a dev or CI machine.
// Test-only: not constant-time, not for real secrets. Cross-checked against libxcrypt in bcrypt.test.ts.
import { randomBytes } from 'node:crypto';

const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const P_WORDS = 18;
const S_WORDS = 4 * 256;

/**
 * Blowfish's initial P-array and S-boxes are, by definition, the fractional hex digits of pi; computing
 * them (Machin's formula, BigInt, a few ms) replaces 1042 hand-copied constants.
 */
function piWords(): Uint32Array {
  const words = P_WORDS + S_WORDS;
  const guard = 64n;
  const bits = BigInt(words * 32) + guard;
  const one = 1n << bits;
  const arctanInv = (x: bigint): bigint => {
    let sum = 0n;
    let term = one / x;
    const x2 = x * x;
    for (let k = 1n, sign = 1n; term !== 0n; k += 2n, sign = -sign) {
      sum += (sign * term) / k;
      term /= x2;
    }
    return sum;
  };
  const pi = 16n * arctanInv(5n) - 4n * arctanInv(239n);
  const fraction = (pi - 3n * one) >> guard;
  const out = new Uint32Array(words);
  for (let i = 0; i < words; i++) out[i] = Number((fraction >> BigInt((words - 1 - i) * 32)) & 0xffffffffn);
  return out;
}

let initial: Uint32Array | undefined;

class Blowfish {
  readonly p: Uint32Array;
  readonly s: Uint32Array;

  constructor() {
    initial ??= piWords();
    this.p = initial.slice(0, P_WORDS);
    this.s = initial.slice(P_WORDS);
  }

  private f(x: number): number {
    const s = this.s;
    return ((((s[x >>> 24]! + s[256 + ((x >>> 16) & 0xff)]!) ^ s[512 + ((x >>> 8) & 0xff)]!) + s[768 + (x & 0xff)]!) >>> 0);
  }

  /** Encrypts the block lr in place. */
  encipher(lr: Uint32Array, off: number): void {
    const p = this.p;
    let l = lr[off]!;
    let r = lr[off + 1]!;
    l ^= p[0]!;
    for (let i = 1; i <= 16; i += 2) {
      r ^= this.f(l) ^ p[i]!;
      l ^= this.f(r) ^ p[i + 1]!;
    }
    lr[off] = r ^ p[17]!;
    lr[off + 1] = l;
  }

  /** The EksBlowfish key schedule step; `salt` undefined is the "expand0" variant. */
  expand(key: Uint8Array, salt: Uint8Array | undefined): void {
    const keyStream = stream(key);
    for (let i = 0; i < P_WORDS; i++) this.p[i] = (this.p[i]! ^ keyStream()) >>> 0;
    const saltStream = salt ? stream(salt) : () => 0;
    const lr = new Uint32Array(2);
    const fill = (target: Uint32Array, count: number): void => {
      for (let i = 0; i < count; i += 2) {
        lr[0] = lr[0]! ^ saltStream();
        lr[1] = lr[1]! ^ saltStream();
        this.encipher(lr, 0);
        target[i] = lr[0]!;
        target[i + 1] = lr[1]!;
      }
    };
    fill(this.p, P_WORDS);
    fill(this.s, S_WORDS);
  }
}

/** Big-endian 32-bit words taken cyclically from bytes. */
function stream(bytes: Uint8Array): () => number {
  let j = 0;
  return () => {
    let w = 0;
    for (let k = 0; k < 4; k++) {
      w = (w << 8) | bytes[j]!;
      j = (j + 1) % bytes.length;
    }
    return w >>> 0;
  };
}

function encode64(bytes: Uint8Array, length: number): string {
  let out = '';
  for (let i = 0; i < length; i += 3) {
    const b0 = bytes[i]!;
    const b1 = i + 1 < length ? bytes[i + 1]! : 0;
    const b2 = i + 2 < length ? bytes[i + 2]! : 0;
    out += BCRYPT_ALPHABET[b0 >> 2]! + BCRYPT_ALPHABET[((b0 & 3) << 4) | (b1 >> 4)]!;
    if (i + 1 < length) out += BCRYPT_ALPHABET[((b1 & 15) << 2) | (b2 >> 6)]!;
    if (i + 2 < length) out += BCRYPT_ALPHABET[b2 & 63]!;
  }
  return out;
}

function decode64(text: string, length: number): Uint8Array {
  let bits = 0n;
  for (const ch of text) {
    const v = BCRYPT_ALPHABET.indexOf(ch);
    if (v < 0) throw new Error(`bcrypt: bad salt character ${JSON.stringify(ch)}`);
    bits = (bits << 6n) | BigInt(v);
  }
  const extra = BigInt(text.length * 6 - length * 8);
  bits >>= extra;
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--, bits >>= 8n) out[i] = Number(bits & 0xffn);
  return out;
}

/**
 * bcrypt of `password` with a `salt` given as a full setting (`$2b$04$` + 22 characters), or random salt at
 * `cost` (default 4: the registry checks a password in well under a millisecond).
 */
export function bcryptHash(password: string, salt?: string, cost = 4): string {
  let setting = salt;
  if (setting === undefined) {
    setting = `$2b$${String(cost).padStart(2, '0')}$${encode64(randomBytes(16), 16)}`;
  }
  const m = /^\$(2[aby])\$(\d\d)\$([./A-Za-z0-9]{22})/.exec(setting);
  if (!m) throw new Error(`bcrypt: bad setting ${JSON.stringify(setting)}`);
  const [, variant, costText, saltText] = m as unknown as [string, string, string, string];
  const rounds = Number(costText);
  if (rounds < 4 || rounds > 31) throw new Error(`bcrypt: cost ${rounds} out of range`);
  const saltBytes = decode64(saltText, 16);
  // The key is the password plus its NUL terminator, at most 72 bytes.
  const key = new Uint8Array([...Buffer.from(password, 'utf8'), 0]).subarray(0, 72);

  const bf = new Blowfish();
  bf.expand(key, saltBytes);
  for (let i = 0, n = 2 ** rounds; i < n; i++) {
    bf.expand(key, undefined);
    bf.expand(saltBytes, undefined);
  }
  const magic = Buffer.from('OrpheanBeholderScryDoubt', 'latin1');
  const cdata = new Uint32Array(6);
  for (let i = 0; i < 6; i++) cdata[i] = magic.readUInt32BE(i * 4);
  for (let i = 0; i < 64; i++) for (let b = 0; b < 6; b += 2) bf.encipher(cdata, b);
  const out = Buffer.alloc(24);
  for (let i = 0; i < 6; i++) out.writeUInt32BE(cdata[i]!, i * 4);
  return `$${variant}$${costText}$${encode64(saltBytes, 16)}${encode64(out, 23)}`;
}

/** An htpasswd file (one `user:bcrypt` line each) as distribution's `auth.htpasswd` reads it. */
export function htpasswd(users: readonly { username: string; password: string }[]): string {
  return users.map((u) => `${u.username}:${bcryptHash(u.password)}\n`).join('');
}

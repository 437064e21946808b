// Signs registry bearer tokens (JWT, ES256) the way distribution 2.8 verifies them
// (registry/auth/token/token.go): the registry's `auth.token.rootcertbundle` holds a token CA, and each
// token's header carries either `x5c` (the signing certificate, which that CA issued) or `kid` (the libtrust
// key ID of a key whose certificate is in the bundle). Both are offered; x5c is the default.
import { createHash, createPrivateKey, randomUUID, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from './lifecycle.ts';
import { makeSharedPki } from './pki.ts';

export interface TokenAccess {
  type: string;
  name: string;
  actions: string[];
}

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  access: TokenAccess[];
}

export type KeyReference = 'x5c' | 'kid';

export interface TokenSigner {
  /** PEM for the registry's rootcertbundle. */
  rootBundlePem: string;
  rootBundleFile: string;
  /** libtrust key ID of the signing key. */
  keyId: string;
  sign(claims: TokenClaims, keyReference?: KeyReference): string;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * libtrust's key ID (github.com/docker/libtrust util.go keyIDFromCryptoKey): SHA-256 of the DER
 * SubjectPublicKeyInfo, first 240 bits, base32, in 12 colon-separated groups of 4.
 */
export function libtrustKeyId(publicKey: KeyObject): string {
  const hash = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest().subarray(0, 30);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of hash) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31]!;
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out.match(/.{4}/g)!.join(':');
}

export function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

function pemToDerBase64(pem: string): string {
  return new X509Certificate(pem).raw.toString('base64');
}

export function newJti(): string {
  return randomUUID();
}

let cached: Promise<TokenSigner> | undefined;

/**
 * One token CA and signing certificate, made by certs/dev-certs.sh and shared by every test process (pki.ts), apart
 * from the CA that serves TLS: its "serving" certificate is a fine signing certificate (distribution checks the
 * chain with ExtKeyUsageAny).
 */
export async function makeTokenSigner(): Promise<TokenSigner> {
  cached ??= (async (): Promise<TokenSigner> => {
    const pki = await makeSharedPki('token-ca');
    const key = createPrivateKey(pki.keyPem);
    const cert = new X509Certificate(pki.certPem);
    const keyId = libtrustKeyId(cert.publicKey);
    // For `kid`, the registry looks the key up among the bundle's certificates, so the signing
    // certificate goes in the bundle beside the CA.
    const rootBundlePem = pki.caPem + pki.certPem;
    // In a directory of this process's: the shared PKI's directory is read by other processes while this one writes.
    const rootBundleFile = join(makeTempDir('token-ca'), 'token-root-bundle.crt');
    await writeFile(rootBundleFile, rootBundlePem);
    const x5c = [pemToDerBase64(pki.certPem)];
    return {
      rootBundlePem,
      rootBundleFile,
      keyId,
      sign(claims: TokenClaims, keyReference: KeyReference = 'x5c'): string {
        const header = keyReference === 'x5c' ? { typ: 'JWT', alg: 'ES256', x5c } : { typ: 'JWT', alg: 'ES256', kid: keyId };
        const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
        // JWS ES256 wants r||s, not DER.
        const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
        return `${input}.${base64url(signature)}`;
      },
    };
  })().catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

/** Decodes a JWT's header and claims without verifying it (for tests). */
export function decodeJwt(token: string): { header: Record<string, unknown>; claims: TokenClaims } {
  const [h, c] = token.split('.');
  if (h === undefined || c === undefined) throw new Error('not a JWT');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as TokenClaims,
  };
}

// Platforms as containerd sees them: parsing, normalising and matching an image's platforms against the
// platforms a pod may run on, with the semantics of containerd's `platforms.Only` matcher.
import type { Platform } from './resolution.ts';

const COMPONENT = /^[a-z0-9][a-z0-9_.-]*$/;
const KNOWN_OS = new Set(['linux', 'windows', 'darwin', 'freebsd', 'netbsd', 'openbsd', 'solaris', 'illumos', 'aix', 'plan9', 'android', 'ios', 'js', 'wasip1', 'dragonfly', 'zos']);
const KNOWN_ARCH = new Set(['amd64', '386', 'arm', 'arm64', 'ppc64le', 'ppc64', 's390x', 'riscv64', 'mips64le', 'mips64', 'mipsle', 'mips', 'loong64', 'wasm']);

/** Normalises like containerd's `platforms.Normalize`: lower case, aliases, arm variant defaults. */
export function normalizePlatform(p: Platform): Platform {
  let os = p.os.toLowerCase();
  if (os === 'macos') os = 'darwin';
  let architecture = p.architecture.toLowerCase();
  let variant = (p.variant ?? '').toLowerCase();
  switch (architecture) {
    case 'i386':
      architecture = '386';
      variant = '';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      architecture = 'amd64';
      if (variant === 'v1') variant = '';
      break;
    case 'aarch64':
    case 'arm64':
      architecture = 'arm64';
      if (variant === '8' || variant === 'v8' || variant === 'v8.0') variant = '';
      else if (variant === '9' || variant === '9.0' || variant === 'v9.0') variant = 'v9';
      break;
    case 'armhf':
      architecture = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      architecture = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === '' || variant === '7') variant = 'v7';
      else if (variant === '5' || variant === '6' || variant === '8') variant = `v${variant}`;
      break;
  }
  const out: Platform = { os, architecture };
  if (variant) out.variant = variant;
  if (p.osVersion) out.osVersion = p.osVersion;
  return out;
}

/**
 * Parses `os/arch[/variant]` (also `os(osversion)/arch`, or a bare architecture meaning linux).
 * Returns the normalised platform, or undefined when the string is not a platform.
 */
export function parsePlatform(s: string): Platform | undefined {
  const text = s.trim().toLowerCase();
  if (!text) return undefined;
  const parts = text.split('/');
  if (parts.length > 3) return undefined;
  let osPart = parts[0] ?? '';
  let osVersion: string | undefined;
  const versioned = /^([a-z0-9_.-]+)\(([a-z0-9_.-]+)\)$/.exec(osPart);
  if (versioned) {
    osPart = versioned[1] ?? '';
    osVersion = versioned[2];
  }
  if (parts.length === 1) {
    const arch = normalizePlatform({ os: 'linux', architecture: osPart });
    return KNOWN_ARCH.has(arch.architecture) && !osVersion ? arch : undefined;
  }
  const arch = parts[1] ?? '';
  const variant = parts[2];
  if (!COMPONENT.test(osPart) || !COMPONENT.test(arch) || (variant !== undefined && !COMPONENT.test(variant))) return undefined;
  const p: Platform = { os: osPart, architecture: arch };
  if (variant) p.variant = variant;
  if (osVersion) p.osVersion = osVersion;
  return normalizePlatform(p);
}

/** `os/arch[/variant]`, as the error messages and `docker --platform` write it. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x).join('/');
}

export function isKnownOs(os: string): boolean {
  return KNOWN_OS.has(os.toLowerCase());
}

function armVersion(variant: string | undefined): number | undefined {
  const m = /^v(\d+)$/.exec(variant ?? '');
  return m ? Number(m[1]) : undefined;
}

/**
 * The platforms a node of `candidate` can run, best first (containerd `platforms.Only`):
 * amd64/vN also runs lower amd64 levels and 386; arm/vN runs down to arm/v5;
 * arm64 runs arm64 (lower v8.x levels too) and 32-bit arm/v8 down to arm/v5.
 */
export function compatiblePlatforms(candidate: Platform): Platform[] {
  const p = normalizePlatform(candidate);
  const base = { os: p.os, ...(p.osVersion ? { osVersion: p.osVersion } : {}) };
  const out: Platform[] = [p];
  switch (p.architecture) {
    case 'amd64': {
      const level = armVersion(p.variant);
      if (level !== undefined) {
        for (let v = level - 1; v >= 1; v--) out.push(v === 1 ? { ...base, architecture: 'amd64' } : { ...base, architecture: 'amd64', variant: `v${v}` });
      }
      out.push({ ...base, architecture: '386' });
      break;
    }
    case 'arm': {
      const level = armVersion(p.variant);
      if (level !== undefined) for (let v = level - 1; v >= 5; v--) out.push({ ...base, architecture: 'arm', variant: `v${v}` });
      break;
    }
    case 'arm64': {
      const m = /^v(\d+)\.(\d+)$/.exec(p.variant ?? '');
      if (m) {
        const major = Number(m[1]);
        for (let minor = Number(m[2]) - 1; minor >= 1; minor--) out.push({ ...base, architecture: 'arm64', variant: `v${major}.${minor}` });
        if (major === 9) {
          out.push({ ...base, architecture: 'arm64', variant: 'v9' });
          for (let minor = Number(m[2]) + 5; minor >= 1; minor--) out.push({ ...base, architecture: 'arm64', variant: `v8.${minor}` });
        }
        out.push({ ...base, architecture: 'arm64' });
      } else if (p.variant === 'v9') {
        for (let minor = 5; minor >= 1; minor--) out.push({ ...base, architecture: 'arm64', variant: `v8.${minor}` });
        out.push({ ...base, architecture: 'arm64' });
      }
      for (let v = 8; v >= 5; v--) out.push({ ...base, architecture: 'arm', variant: `v${v}` });
      break;
    }
  }
  return out;
}

/** Whether an image built for `offered` runs on a node of platform `candidate`. Windows osVersion is ignored. */
export function platformMatches(candidate: Platform, offered: Platform): boolean {
  const o = normalizePlatform(offered);
  return compatiblePlatforms(candidate).some((c) => c.os === o.os && c.architecture === o.architecture && (c.variant ?? '') === (o.variant ?? ''));
}

export interface PlatformMatch {
  /** The first candidate (in the caller's order) the image can run on. */
  matched?: { candidate: Platform; offered: Platform };
  /** Candidates no offered platform runs on. */
  unsupported: Platform[];
}

/**
 * Matches offered image platforms against candidate node platforms. A pod whose candidates include at least
 * one runnable platform is not certain to fail, so `matched` is the first hit and `unsupported` the rest.
 * For each candidate, the best offered platform follows containerd's preference order.
 */
export function matchPlatforms(candidates: Platform[], offered: Platform[]): PlatformMatch {
  const unsupported: Platform[] = [];
  let matched: PlatformMatch['matched'];
  for (const candidate of candidates) {
    let hit: Platform | undefined;
    for (const want of compatiblePlatforms(candidate)) {
      hit = offered.find((o) => {
        const n = normalizePlatform(o);
        return n.os === want.os && n.architecture === want.architecture && (n.variant ?? '') === (want.variant ?? '');
      });
      if (hit) break;
    }
    // Nodes do not report their variant (amd64 v2/v3, arm64 v8.x/v9, arm v6/v7): containerd detects it from the
    // CPU. When the candidate does not say, any variant of its os/architecture may run, so none is a certain miss.
    if (!hit && !candidate.variant) {
      const c = normalizePlatform(candidate);
      hit = offered.find((o) => {
        const n = normalizePlatform(o);
        return n.os === c.os && n.architecture === c.architecture;
      });
    }
    if (hit) matched ??= { candidate, offered: hit };
    else unsupported.push(candidate);
  }
  return matched ? { matched, unsupported } : { unsupported };
}

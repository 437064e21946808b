// Platforms as containerd sees them: the value type, parsing, normalising, formatting, and matching an image's
// platforms against the platforms a pod may run on, with the semantics of containerd's `platforms.Only` matcher
// (containerd/platforms v1.0.0-rc.x: compare.go platformVector, database.go Normalize,
// platform_windows_compat.go). Pure: no I/O. Every layer that speaks of platforms imports this one definition.

/** An OCI platform: `os/architecture[/variant]`, plus the Windows OS version (`10.0.17763`) when known. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  osVersion?: string;
}

const COMPONENT = /^[a-z0-9][a-z0-9_.-]*$/;
const KNOWN_ARCH = new Set(['amd64', '386', 'arm', 'arm64', 'ppc64le', 'ppc64', 's390x', 'riscv64', 'mips64le', 'mips64', 'mipsle', 'mips', 'loong64', 'wasm']);

/** Normalises like containerd's `platforms.Normalize` (database.go): lower case, aliases, arm variant defaults. */
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
  return [p.os, p.architecture, p.variant].filter((s) => s !== undefined && s !== '').join('/');
}

/** Two normalised platforms name the same os/architecture/variant (osVersion aside). */
function sameTriple(a: Platform, b: Platform): boolean {
  return a.os === b.os && a.architecture === b.architecture && (a.variant ?? '') === (b.variant ?? '');
}

function level(variant: string | undefined): number | undefined {
  const m = /^v(\d+)$/.exec(variant ?? '');
  return m ? Number(m[1]) : undefined;
}

/**
 * Arm introduced no v8.10 or later: v9.x is compatible with v8.(x+5), capped at the last real v8 minor
 * (containerd/platforms compare.go after v1.0.0-rc.1; compare_test.go TestOnly linux/arm64/v9.6).
 */
const LAST_ARM64_V8_MINOR = 9;

/**
 * The highest levels any image names (amd64 v4, arm v8, arm64 v8.9 / v9.9). A node label may name any number
 * (`pullguard.io/variant=v10000000`); containerd would list every level below it, so the lists start at most
 * here: the node's own variant still comes first, and every real image variant it runs is still listed, but a
 * hostile label cannot make a review build millions of platforms.
 */
const MAX_AMD64_LEVEL = 4;
const MAX_ARM_LEVEL = 8;
const MAX_ARM64_MINOR = 9;

/**
 * The platforms a node of `candidate` can run, best first (containerd/platforms compare.go `platformVector`):
 * amd64/vN also runs lower amd64 levels and 386; arm/vN runs down to arm/v5; arm64 (v8 when unset) runs lower
 * v8.x levels, v9.x runs lower v9 minors and v8 up to v8.(x+5) (at most v8.9), and every arm64 runs arm/v8 to v5.
 */
export function compatiblePlatforms(candidate: Platform): Platform[] {
  const p = normalizePlatform(candidate);
  const base = { os: p.os, ...(p.osVersion ? { osVersion: p.osVersion } : {}) };
  const out: Platform[] = [p];
  switch (p.architecture) {
    case 'amd64': {
      const v = level(p.variant);
      if (v !== undefined) {
        for (let l = Math.min(v - 1, MAX_AMD64_LEVEL); l >= 1; l--) out.push(l === 1 ? { ...base, architecture: 'amd64' } : { ...base, architecture: 'amd64', variant: `v${l}` });
      }
      out.push({ ...base, architecture: '386' });
      break;
    }
    case 'arm': {
      const v = level(p.variant);
      if (v !== undefined) for (let l = Math.min(v - 1, MAX_ARM_LEVEL); l >= 5; l--) out.push({ ...base, architecture: 'arm', variant: `v${l}` });
      break;
    }
    case 'arm64': {
      const m = /^v(\d+)(?:\.(\d+))?$/.exec(p.variant ?? 'v8');
      const major = m ? Number(m[1]) : 8;
      let minor = m?.[2] !== undefined ? Number(m[2]) : 0;
      const arm64 = (variant: string): Platform => (variant === 'v8' ? { ...base, architecture: 'arm64' } : { ...base, architecture: 'arm64', variant });
      if (major === 9) {
        for (let n = Math.min(minor - 1, MAX_ARM64_MINOR); n >= 0; n--) out.push(arm64(n === 0 ? 'v9' : `v9.${n}`));
        minor = Math.min(minor + 5, LAST_ARM64_V8_MINOR);
        out.push(arm64(`v8.${minor}`));
      }
      if (major === 8 || major === 9) for (let n = Math.min(minor - 1, LAST_ARM64_V8_MINOR); n >= 0; n--) out.push(arm64(n === 0 ? 'v8' : `v8.${n}`));
      for (let l = 8; l >= 5; l--) out.push({ ...base, architecture: 'arm', variant: `v${l}` });
      break;
    }
  }
  return out;
}

/**
 * Windows host/container compatibility (containerd/platforms platform_windows_compat.go
 * checkWindowsHostAndContainerCompat): same major.minor; a host older than Windows Server 2022 (build 20348)
 * runs only its own build; a newer host runs any build from 20348 (the stable-ABI LTSC) up to its own.
 * An unknown version on either side matches (windowsVersionMatcher: an empty version matches anything).
 */
export function windowsVersionCompatible(hostVersion: string | undefined, imageVersion: string | undefined): boolean {
  if (!hostVersion || !imageVersion) return true;
  const host = windowsVersion(hostVersion);
  const ctr = windowsVersion(imageVersion);
  if (host.major === 0 && host.minor === 0 && host.build === 0) return true;
  if (host.major !== ctr.major || host.minor !== ctr.minor) return false;
  if (host.build < WS2022_BUILD) return host.build === ctr.build;
  return ctr.build >= WS2022_BUILD && ctr.build <= host.build;
}

/** Windows Server 2022 (ltsc2022): the first stable-ABI release. */
const WS2022_BUILD = 20348;

/** getWindowsOSVersion: `major.minor.build[.revision]`; anything unparseable is the zero version. */
function windowsVersion(v: string): { major: number; minor: number; build: number } {
  const zero = { major: 0, minor: 0, build: 0 };
  const parts = v.split('.');
  if (parts.length < 3) return zero;
  const [major, minor, build] = parts.slice(0, 3).map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if (major === undefined || minor === undefined || build === undefined) return zero;
  if (!(major <= 0xff && minor <= 0xff && build <= 0xffff)) return zero;
  return { major, minor, build };
}

/** Whether a node of `candidate` would accept the image entry `offered` (containerd `Only(candidate).Match`). */
export function platformMatches(candidate: Platform, offered: Platform): boolean {
  const o = normalizePlatform(offered);
  if (!compatiblePlatforms(candidate).some((c) => sameTriple(c, o))) return false;
  return o.os !== 'windows' || windowsVersionCompatible(candidate.osVersion, o.osVersion);
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
  const normalised = offered.map((o) => ({ o, n: normalizePlatform(o) }));
  for (const candidate of candidates) {
    let hit: Platform | undefined;
    for (const want of compatiblePlatforms(candidate)) {
      hit = normalised.find(({ n }) => sameTriple(n, want) && (n.os !== 'windows' || windowsVersionCompatible(candidate.osVersion, n.osVersion)))?.o;
      if (hit) break;
    }
    // Only 32-bit arm nodes detect their variant from the CPU (cpuinfo_linux.go getArmCPUVariant: v5–v8); amd64
    // nodes set none and arm64 nodes always v8 (defaults_unix.go DefaultSpec, cpuinfo.go cpuVariant). When an arm
    // node's variant is not known (no pullguard.io/variant label), any arm variant may run there.
    if (!hit && !candidate.variant && normalizePlatform(candidate).architecture === 'arm') {
      const c = normalizePlatform(candidate);
      hit = normalised.find(({ n }) => n.os === c.os && n.architecture === 'arm')?.o;
    }
    if (hit) matched ??= { candidate, offered: hit };
    else unsupported.push(candidate);
  }
  return matched ? { matched, unsupported } : { unsupported };
}

/**
 * How a node's runtime picks an entry of an index for itself. They differ only in the fallbacks they allow:
 * - `containerd`: `platforms.Only(DefaultSpec())` — the compatibility vector above (386 on amd64, lower arm
 *   variants, 32-bit arm on arm64). containerd 1.x's CRI pulls with the client's default matcher
 *   (client.go `platforms.Default()`, defaults_unix.go `Only(DefaultSpec())`), and so does 2.x with
 *   `use_local_image_pull = true` (internal/cri/server/images/image_pull.go pullImageWithLocalPull, v2.1/v2.2).
 * - `containerd-strict`: 2.x's default transfer-service pull, whose image store fetches only the children that
 *   `platforms.Ordered(DefaultSpec())` matches (image_pull.go pullImageWithTransferService `WithPlatforms`,
 *   core/transfer/image/imagestore.go ImageFilter, v2.1/v2.2): `Ordered` builds plain `NewMatcher`s, equality of
 *   the normalised os/architecture/variant (containerd/platforms compare.go, platforms.go), no fallback.
 * - `cri-o`: containers/image `WantedPlatforms` + `MatchesPlatform` (internal/pkg/platform/platform_matcher.go,
 *   go.podman.io/image/v5 in containers/container-libs): exact strings, no normalising, no 386, no 32-bit arm on
 *   arm64, no arm64 v8.x; an OCI index entry without a platform is taken when nothing matches (oci_index.go
 *   chooseInstance).
 */
export type IndexMatcher = 'containerd' | 'containerd-strict' | 'cri-o';

/**
 * containers/image WantedPlatforms for an explicit os/architecture/variant choice (platform_matcher.go, the
 * `compatibility` table of go.podman.io/image/v5): with a known variant, it and the less capable ones of its
 * architecture, then no variant; without one, no variant first, then every known variant of the architecture.
 */
export function containersImageWantedPlatforms(choice: { os: string; architecture: string; variant?: string }): Platform[] {
  const order = CONTAINERS_IMAGE_COMPATIBILITY[choice.architecture];
  const wanted = choice.variant ?? '';
  let variants: string[];
  if (wanted !== '') {
    const i = order ? order.indexOf(wanted) : -1;
    variants = [...(i >= 0 && order ? order.slice(i) : [wanted]), ''];
  } else {
    variants = ['', ...(order ?? [])];
  }
  return variants.map((v) => (v === '' ? { os: choice.os, architecture: choice.architecture } : { os: choice.os, architecture: choice.architecture, variant: v }));
}

/** platform_matcher.go `compatibility`: most capable first; architectures without variants have no entry. */
const CONTAINERS_IMAGE_COMPATIBILITY: Readonly<Record<string, readonly string[]>> = { arm: ['v8', 'v7', 'v6', 'v5'], arm64: ['v8'] };

/**
 * What CRI-O wants on a node of `candidate`: CRI-O leaves the architecture/variant choice unset (pkg/config
 * DefaultConfig's SystemContext, server/image_pull.go contextForNamespace), so c/image reads the variant from
 * /proc/cpuinfo on arm and arm64 only (getCPUVariant): every arm64 CPU reports "CPU architecture: 8" (v8); a
 * 32-bit arm node's variant is the pullguard.io/variant label when set, else unknown; amd64 and others have none.
 */
export function criOWantedPlatforms(candidate: Platform): Platform[] {
  const p = normalizePlatform(candidate);
  const variant = p.architecture === 'arm64' ? 'v8' : p.architecture === 'arm' && candidate.variant ? (p.variant ?? '') : '';
  return containersImageWantedPlatforms({ os: p.os, architecture: p.architecture, variant });
}

/**
 * The platform containerd's DefaultSpec() reports on a node of `candidate`: no amd64 level and arm64 always v8
 * (defaults_unix.go, cpuinfo.go cpuVariant), so a pullguard.io/variant label there does not narrow what the
 * transfer service fetches; a 32-bit arm node's variant is its label (read from the CPU by containerd).
 */
export function containerdDefaultSpec(candidate: Platform): Platform {
  const p = normalizePlatform(candidate);
  if (p.architecture !== 'amd64' && p.architecture !== 'arm64') return candidate;
  return { os: p.os, architecture: p.architecture, ...(p.osVersion ? { osVersion: p.osVersion } : {}) };
}

/** Whether a node of `candidate` whose runtime picks entries as `matcher` takes the index entry `offered`. */
export function indexEntryMatches(matcher: IndexMatcher, candidate: Platform, offered: Platform): boolean {
  const c = normalizePlatform(candidate);
  // Only 32-bit arm nodes detect their variant from the CPU; without the label any arm variant may be theirs.
  if (c.architecture === 'arm' && !candidate.variant && normalizePlatform(offered).architecture === 'arm' && normalizePlatform(offered).os === c.os) return true;
  switch (matcher) {
    case 'containerd':
      return platformMatches(candidate, offered);
    case 'containerd-strict': {
      // OnlyStrict(candidate): for a node, pass containerdDefaultSpec(node) as the candidate.
      const o = normalizePlatform(offered);
      return sameTriple(c, o) && (o.os !== 'windows' || windowsVersionCompatible(candidate.osVersion, o.osVersion));
    }
    case 'cri-o':
      // MatchesPlatform compares the index entry's strings as written: no lower-casing, no aliases.
      return criOWantedPlatforms(candidate).some((w) => w.os === offered.os && w.architecture === offered.architecture && (w.variant ?? '') === (offered.variant ?? ''));
  }
}

// Platforms moved to src/reference/platform.ts (shared value types live at the bottom); this re-export keeps the
// registry's own imports working until they point there directly.
export { compatiblePlatforms, formatPlatform, matchPlatforms, normalizePlatform, parsePlatform, platformMatches, windowsVersionCompatible, type Platform, type PlatformMatch } from '../reference/platform.ts';

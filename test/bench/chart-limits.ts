// The chart's default memory limit, read from charts/pullguard/values.yaml, so the bench judges the RSS it measures
// against the limit the chart ships today.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const VALUES = new URL('../../charts/pullguard/values.yaml', import.meta.url);
const UNITS: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };

/** A Kubernetes memory quantity (`384Mi`, `1Gi`, `500M`, `1048576`) in bytes; NaN when it is none. */
export function quantityBytes(q: unknown): number {
  const m = /^(\d+(?:\.\d+)?)(k|M|G|Ki|Mi|Gi)?$/.exec(String(q ?? '').trim());
  return m ? Number(m[1]) * UNITS[m[2] ?? '']! : NaN;
}

interface ChartValues {
  resources?: { limits?: { memory?: unknown } };
  v8?: { maxOldSpaceSizePercent?: number; maxOldSpaceSize?: number | null };
}

const values = (): ChartValues => parse(readFileSync(VALUES, 'utf8')) as ChartValues;

export function chartMemoryLimitBytes(): number {
  return quantityBytes(values().resources?.limits?.memory);
}

/** The `--max-old-space-size` (MiB) the chart adds to NODE_OPTIONS with its default values (_helpers.tpl). */
export function chartMaxOldSpaceMiB(): number {
  const v = values();
  if (v.v8?.maxOldSpaceSize) return v.v8.maxOldSpaceSize;
  return Math.floor((chartMemoryLimitBytes() / 1024 ** 2) * ((v.v8?.maxOldSpaceSizePercent ?? 75) / 100));
}

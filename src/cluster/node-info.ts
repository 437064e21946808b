// Reads what pullguard needs from a Node object: the platform the kubelet pulls for, the images already on the
// node, whether it takes new pods (cordon, taints), and the kubelet and runtime versions. Pure.
import type { V1Node } from '@kubernetes/client-node';
import type { NodeInfo, NodeTaint } from './types.ts';
import type { Platform } from '../reference/platform.ts';

/**
 * No standard label or status field carries the CPU variant (arm v6/v7, arm64 v8), so the variant is unknown
 * unless the operator sets this label on the node (e.g. `pullguard.io/variant=v7`).
 */
export const VARIANT_LABEL = 'pullguard.io/variant';

/** Set by the kubelet on Windows nodes (`10.0.17763`); Windows images must match the host build. */
export const WINDOWS_BUILD_LABEL = 'node.kubernetes.io/windows-build';

export function nodeInfoFromNode(node: V1Node): NodeInfo {
  const labels = { ...(node.metadata?.labels ?? {}) };
  const images = new Set<string>();
  for (const image of node.status?.images ?? []) for (const name of image.names ?? []) images.add(name);
  const info: NodeInfo = {
    name: node.metadata?.name ?? '',
    labels,
    platform: nodePlatform(labels, node.status?.nodeInfo),
    images: [...images],
    unschedulable: node.spec?.unschedulable === true,
  };
  const taints = schedulingTaints(node.spec?.taints);
  if (taints.length > 0) info.taints = taints;
  const runtime = node.status?.nodeInfo?.containerRuntimeVersion;
  if (typeof runtime === 'string' && runtime !== '') info.containerRuntimeVersion = runtime;
  const kubelet = node.status?.nodeInfo?.kubeletVersion;
  if (typeof kubelet === 'string' && kubelet !== '') info.kubeletVersion = kubelet;
  return info;
}

/** The taints the scheduler's TaintToleration filter reads (NoSchedule, NoExecute); PreferNoSchedule only scores. */
export function schedulingTaints(taints: unknown): NodeTaint[] {
  if (!Array.isArray(taints)) return [];
  const out: NodeTaint[] = [];
  for (const t of taints as unknown[]) {
    if (typeof t !== 'object' || t === null) continue;
    const { key, value, effect } = t as Record<string, unknown>;
    if (typeof key !== 'string' || (effect !== 'NoSchedule' && effect !== 'NoExecute')) continue;
    out.push(typeof value === 'string' && value !== '' ? { key, value, effect } : { key, effect });
  }
  return out;
}

/**
 * os/arch from the GA labels, then the deprecated beta labels, then status.nodeInfo; an empty string when the node
 * reports none (a kubelet always does). variant and osVersion only from the labels documented above.
 */
export function nodePlatform(
  labels: Record<string, string>,
  nodeInfo?: { operatingSystem?: string; architecture?: string },
): Platform {
  const os = labels['kubernetes.io/os'] || labels['beta.kubernetes.io/os'] || nodeInfo?.operatingSystem || '';
  const architecture = labels['kubernetes.io/arch'] || labels['beta.kubernetes.io/arch'] || nodeInfo?.architecture || '';
  const platform: Platform = { os, architecture };
  const variant = labels[VARIANT_LABEL];
  if (variant) platform.variant = variant;
  const build = labels[WINDOWS_BUILD_LABEL];
  if (os === 'windows' && build) platform.osVersion = build;
  return platform;
}

// Which addresses a registry may send us to. A redirect or token realm that points at loopback, link-local
// (169.254.0.0/16, fe80::/10: cloud metadata lives there) or the metadata names is refused unless the registry
// itself is on such an address or its config allows the host: a public registry must not make pullguard read
// internal services (SSRF). Names are judged as written; DNS answers are not resolved here.
import { BlockList, isIP } from 'node:net';

const internal = new BlockList();
internal.addSubnet('127.0.0.0', 8, 'ipv4');
internal.addSubnet('169.254.0.0', 16, 'ipv4');
internal.addSubnet('0.0.0.0', 8, 'ipv4');
internal.addAddress('::1', 'ipv6');
internal.addAddress('::', 'ipv6');
internal.addSubnet('fe80::', 10, 'ipv6');
internal.addSubnet('fd00:ec2::', 32, 'ipv6');

const METADATA_NAMES = new Set(['localhost', 'metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal']);

function bare(hostname: string): string {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/** Loopback, link-local, unspecified or a cloud metadata name. */
export function isInternalHost(hostname: string): boolean {
  const h = bare(hostname);
  if (METADATA_NAMES.has(h) || h.endsWith('.localhost')) return true;
  const family = isIP(h);
  if (family === 0) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (mapped) return internal.check(mapped[1] as string, 'ipv4');
  return internal.check(h, family === 6 ? 'ipv6' : 'ipv4');
}

/** Loopback only (localhost, 127.0.0.0/8, ::1), as containerd's docker.IsLocalhost. */
export function isLoopbackHost(host: string): boolean {
  let h = host.toLowerCase();
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(h);
  if (bracket) h = bracket[1] as string;
  else if (isIP(h) !== 6) h = h.replace(/:\d+$/, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1';
}

export interface AddressPolicy {
  /** The registry endpoint's own host: a loopback registry may send us to loopback. */
  origin: string;
  /** Hosts the registry config allows even though they are internal. */
  allowedHosts?: readonly string[];
}

/** Undefined when `target` may be contacted; otherwise why not. */
export function refuseInternal(target: URL, policy: AddressPolicy): string | undefined {
  if (!isInternalHost(target.hostname)) return undefined;
  const originHost = (() => {
    try {
      return new URL(`http://${policy.origin}`).hostname;
    } catch {
      return '';
    }
  })();
  if (isInternalHost(originHost)) return undefined;
  if (policy.allowedHosts?.some((h) => h === target.host || h === target.hostname)) return undefined;
  return `${target.host} is a loopback, link-local or metadata address; the registry config does not allow it (allowedHosts)`;
}

// Which addresses a registry may send us to. A redirect or token realm that points at loopback, link-local
// (169.254.0.0/16, fe80::/10: cloud metadata lives there), the metadata names or a network the config lists as
// internal is refused unless the registry itself is on such an address or its config allows the host: a public
// registry must not make pullguard read internal services (SSRF). Names are judged as written (IP literals against
// the networks); DNS answers are not resolved here.
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

/** CIDRs (`10.0.0.0/8`, `fd00::/8`) as a BlockList; invalid entries are skipped (the config schema checks them). */
export function networks(cidrs: readonly string[] | undefined): BlockList | undefined {
  if (!cidrs || cidrs.length === 0) return undefined;
  const list = new BlockList();
  for (const c of cidrs) {
    const m = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(c.trim());
    const family = m ? isIP(m[1] as string) : 0;
    if (!m || family === 0) continue;
    try {
      list.addSubnet(m[1] as string, Number(m[2]), family === 6 ? 'ipv6' : 'ipv4');
    } catch {
      // a prefix length out of range matches nothing
    }
  }
  return list;
}

/** Loopback, link-local, unspecified, a cloud metadata name, or an address in the configured internal networks. */
export function isInternalHost(hostname: string, configured?: BlockList): boolean {
  const h = bare(hostname);
  if (METADATA_NAMES.has(h) || h.endsWith('.localhost')) return true;
  const family = isIP(h);
  if (family === 0) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  const [address, type] = mapped ? [mapped[1] as string, 'ipv4' as const] : [h, family === 6 ? ('ipv6' as const) : ('ipv4' as const)];
  return internal.check(address, type) || (configured?.check(address, type) ?? false);
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
  /** Networks the config lists as internal (defaults.internalNetworks). */
  internalNetworks?: BlockList;
}

/** Undefined when `target` may be contacted; otherwise why not. */
export function refuseInternal(target: URL, policy: AddressPolicy): string | undefined {
  if (!isInternalHost(target.hostname, policy.internalNetworks)) return undefined;
  const originHost = (() => {
    try {
      return new URL(`http://${policy.origin}`).hostname;
    } catch {
      return '';
    }
  })();
  if (isInternalHost(originHost, policy.internalNetworks)) return undefined;
  if (policy.allowedHosts?.some((h) => h === target.host || h === target.hostname)) return undefined;
  return `${target.host} is a loopback, link-local, metadata or configured internal address; the registry config does not allow it (allowedHosts)`;
}

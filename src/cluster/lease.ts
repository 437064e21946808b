// One holder at a time through a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it (resourcelock
// LeaseLock, k8s.io/client-go/tools/leaderelection/leaderelection.go): take the Lease when it is absent, expired
// (renewTime + leaseDurationSeconds in the past) or already ours; every write carries the resourceVersion read, so
// two replicas racing for it get one success and one 409 Conflict. RBAC: get, create, update on leases.
import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { httpStatus } from './api-error.ts';

export interface LeaseOptions {
  namespace: string;
  name: string;
  /** This replica's identity (holderIdentity), e.g. the pod name. */
  identity: string;
  durationSeconds: number;
  clock?: () => number;
}

export type LeaseAttempt = { held: true } | { held: false; holder?: string; error?: string };

export interface LeaseElector {
  /** Acquire or renew; never throws. */
  tryAcquire(): Promise<LeaseAttempt>;
  /** Give the Lease up (renewTime cleared) if we hold it, so another replica takes over at once. */
  release(): Promise<void>;
}

export function createLeaseElector(kc: KubeConfig, opts: LeaseOptions): LeaseElector {
  const api = kc.makeApiClient(CoordinationV1Api);
  const clock = opts.clock ?? Date.now;
  const { namespace, name, identity } = opts;

  function spec(now: Date, previous?: V1Lease): V1Lease['spec'] {
    const ours = previous?.spec?.holderIdentity === identity;
    return {
      holderIdentity: identity,
      leaseDurationSeconds: opts.durationSeconds,
      acquireTime: ours && previous?.spec?.acquireTime ? previous.spec.acquireTime : now,
      renewTime: now,
      leaseTransitions: (previous?.spec?.leaseTransitions ?? 0) + (ours ? 0 : 1),
    };
  }

  async function read(): Promise<V1Lease | undefined> {
    try {
      return await api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      throw err;
    }
  }

  function expired(lease: V1Lease, now: number): boolean {
    const renewed = lease.spec?.renewTime ? new Date(lease.spec.renewTime).getTime() : 0;
    const duration = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
    return !lease.spec?.holderIdentity || renewed + duration < now;
  }

  const failed = (err: unknown, what: string): LeaseAttempt => {
    const status = httpStatus(err);
    if (status === 409) return { held: false, error: 'another replica took the lease first' };
    const reason = status === 403
      ? `forbidden; grant RBAC verbs get, create, update on resource "leases" in API group "coordination.k8s.io" in namespace "${namespace}"`
      : status !== undefined ? `the API server answered ${status}` : (err instanceof Error ? err.message.split('\n')[0] : String(err));
    return { held: false, error: `cannot ${what} lease ${namespace}/${name}: ${reason}` };
  };

  return {
    async tryAcquire() {
      let current: V1Lease | undefined;
      try {
        current = await read();
      } catch (err) {
        return failed(err, 'read');
      }
      const now = clock();
      try {
        if (!current) {
          await api.createNamespacedLease({ namespace, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: spec(new Date(now)) } });
          return { held: true };
        }
        const holder = current.spec?.holderIdentity;
        if (holder !== identity && !expired(current, now)) return { held: false, ...(holder ? { holder } : {}) };
        await api.replaceNamespacedLease({ name, namespace, body: { ...current, spec: spec(new Date(now), current) } });
        return { held: true };
      } catch (err) {
        return failed(err, current ? 'renew' : 'create');
      }
    },
    async release() {
      try {
        const current = await read();
        if (current?.spec?.holderIdentity !== identity) return;
        await api.replaceNamespacedLease({ name, namespace, body: { ...current, spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1 } } });
      } catch {
        // Best effort: the Lease expires on its own.
      }
    },
  };
}

// The audit Lease against the fake API server's coordination.k8s.io endpoints: first come takes it, a live holder
// keeps it, an expired one loses it, racing writers get one winner (409 Conflict for the other), release hands it on.
import t from 'tap';
import { createLeaseElector } from '../../src/cluster/lease.ts';
import { startFakeApiServer, type FakeApiServer } from '../harness/fake-apiserver.ts';

let api: FakeApiServer;
t.before(async () => {
  api = await startFakeApiServer();
});
t.teardown(() => api.stop());

const elector = (identity: string, name: string, clock?: () => number) =>
  createLeaseElector(api.kubeConfig(), { namespace: 'pullguard', name, identity, durationSeconds: 30, ...(clock ? { clock } : {}) });

t.test('the first replica takes the Lease and renews it; another sees who holds it', async (t) => {
  const a = elector('a', 'first');
  const b = elector('b', 'first');
  t.same(await a.tryAcquire(), { held: true });
  t.same(await b.tryAcquire(), { held: false, holder: 'a' });
  t.same(await a.tryAcquire(), { held: true }, 'renewed');
  const lease = api.leases.get('pullguard/first') as { spec: { holderIdentity: string; leaseTransitions: number; renewTime: string } };
  t.equal(lease.spec.holderIdentity, 'a');
  t.equal(lease.spec.leaseTransitions, 1);
  t.match(lease.spec.renewTime, /^\d{4}-\d\d-\d\dT/);
});

t.test('a holder that stopped renewing loses the Lease once it has expired', async (t) => {
  const a = elector('a', 'expiry');
  t.same(await a.tryAcquire(), { held: true });
  const later = elector('b', 'expiry', () => Date.now() + 31_000);
  t.same(await later.tryAcquire(), { held: true }, 'renewTime + 30 s is past for b');
  t.same(await a.tryAcquire(), { held: false, holder: 'b' });
  const lease = api.leases.get('pullguard/expiry') as { spec: { leaseTransitions: number } };
  t.equal(lease.spec.leaseTransitions, 2);
});

t.test('two replicas racing for a free Lease: exactly one wins', async (t) => {
  const results = await Promise.all(['x', 'y', 'z'].map((id) => elector(id, 'race').tryAcquire()));
  t.equal(results.filter((r) => r.held).length, 1, JSON.stringify(results));
});

t.test('release hands the Lease on at once; a forbidden Lease names the RBAC it needs', async (t) => {
  const a = elector('a', 'handover');
  const b = elector('b', 'handover');
  await a.tryAcquire();
  await a.release();
  t.same(await b.tryAcquire(), { held: true });
  api.forbid('/apis/coordination.k8s.io/v1/namespaces/pullguard/leases/locked');
  const denied = await elector('a', 'locked').tryAcquire();
  t.equal(denied.held, false);
  t.match(denied, { error: /cannot read lease pullguard\/locked: forbidden; grant RBAC verbs get, create, update on resource "leases" in API group "coordination.k8s.io"/ });
});

import t from 'tap';
import { ApiException } from '@kubernetes/client-node';
import { describeTarget, lookupFailure, missingPermission } from '../../src/cluster/api-error.ts';
import type { ApiTarget } from '../../src/cluster/api-error.ts';

const secret: ApiTarget = { verb: 'get', resource: 'secrets', namespace: 'demo', name: 'regcred' };
const notAborted = { timedOut: false, closed: false, timeoutMs: 3000 };
const status = (code: number, message: string) =>
  new ApiException(code, 'Unknown API Status Code!', JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code }), {});

t.test('targets are named the way an operator reads them', async (t) => {
  t.equal(describeTarget(secret), 'secret demo/regcred');
  t.equal(describeTarget({ verb: 'get', resource: 'serviceaccounts', namespace: 'demo', name: 'default' }), 'service account demo/default');
  t.equal(describeTarget({ verb: 'get', resource: 'namespaces', name: 'demo' }), 'namespace demo');
  t.equal(describeTarget({ verb: 'list', resource: 'nodes' }), 'nodes');
});

t.test('the missing RBAC permission names verb, resource and scope', async (t) => {
  t.equal(missingPermission(secret), 'RBAC verb "get" on resource "secrets" in namespace "demo"');
  t.equal(missingPermission({ verb: 'list', resource: 'nodes' }), 'RBAC verb "list" on resource "nodes" cluster-wide (ClusterRole)');
});

t.test('each kind of failure maps to one reason and a message that says what to do', async (t) => {
  const timeout = Object.assign(new Error('The user aborted a request.'), { name: 'AbortError' });
  const refused = Object.assign(new Error('request to http://127.0.0.1:1/ failed, reason: connect ECONNREFUSED'), { code: 'ECONNREFUSED', name: 'FetchError' });
  const cases: { name: string; err: unknown; abort?: typeof notAborted; reason: string; message: RegExp }[] = [
    { name: '404', err: status(404, 'secrets "regcred" not found'), reason: 'NotFound', message: /^secret demo\/regcred not found$/ },
    {
      name: '403',
      err: status(403, 'secrets "regcred" is forbidden: User "x" cannot get resource "secrets"'),
      reason: 'Forbidden',
      message: /^pullguard may not get secret demo\/regcred: grant it RBAC verb "get" on resource "secrets" in namespace "demo" \(API server: secrets "regcred" is forbidden/,
    },
    { name: '401', err: new ApiException(401, 'Unauthorized', undefined, {}), reason: 'Unavailable', message: /rejected pullguard's credentials \(401\)/ },
    { name: '500 with a Status', err: status(500, 'etcd timeout'), reason: 'Unavailable', message: /answered 500 reading secret demo\/regcred \(API server: etcd timeout\)/ },
    { name: '502 with an HTML body', err: new ApiException(502, 'x', '<html>bad gateway</html>', {}), reason: 'Unavailable', message: /^the API server answered 502 reading secret demo\/regcred$/ },
    { name: 'a watch error with statusCode', err: Object.assign(new Error('Forbidden'), { statusCode: 403 }), reason: 'Forbidden', message: /grant it/ },
    { name: 'deadline', err: timeout, abort: { ...notAborted, timedOut: true }, reason: 'Unavailable', message: /did not answer within 3000 ms reading secret demo\/regcred/ },
    { name: 'closed', err: timeout, abort: { ...notAborted, closed: true }, reason: 'Unavailable', message: /cluster reader is closed/ },
    { name: 'connection refused', err: refused, reason: 'Unavailable', message: /unreachable \(ECONNREFUSED\) reading secret demo\/regcred/ },
    { name: 'a cause with a code', err: new TypeError('fetch failed', { cause: { code: 'ENOTFOUND' } }), reason: 'Unavailable', message: /unreachable \(ENOTFOUND\)/ },
    { name: 'anything else', err: new Error('boom\nsecond line'), reason: 'Unavailable', message: /^reading secret demo\/regcred failed: boom$/ },
  ];
  for (const c of cases) {
    const failure = lookupFailure(c.err, secret, c.abort ?? notAborted);
    t.equal(failure.reason, c.reason, `${c.name}: reason`);
    t.match(failure.message, c.message, `${c.name}: message`);
  }
});

// Error classification: undici and system error codes → reason and cause, never by message text;
// registry answers → reason by status and distribution codes; redaction of URLs.
import t from 'tap';
import { errors as undiciErrors } from 'undici';
import {
  RegistryError,
  classifyNetworkError,
  errorCodes,
  errorFromAnswer,
  parseDiagnostics,
  parseRateLimitHeader,
  parseRetryAfter,
  redactUrl,
} from '../../src/registry/errors.ts';

const { ConnectTimeoutError, HeadersTimeoutError, BodyTimeoutError, SocketError, ResponseExceededMaxSizeError, RequestAbortedError, SecureProxyConnectionError } = undiciErrors;

function sys(code: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`misleading message ${code === 'ECONNREFUSED' ? 'timeout' : 'refused'}`), { code, ...extra });
}

t.test('network errors are classified by code', async (t) => {
  const table: [string, unknown, string, string | undefined][] = [
    ['undici connect timeout', new ConnectTimeoutError(), 'RegistryTimeout', undefined],
    ['undici headers timeout', new HeadersTimeoutError(), 'RegistryTimeout', undefined],
    ['undici body timeout', new BodyTimeoutError(), 'RegistryTimeout', undefined],
    ['undici socket error', new SocketError('other side closed'), 'RegistryUnreachable', 'reset'],
    ['undici response over max size', new ResponseExceededMaxSizeError(), 'RegistryError', undefined],
    ['undici secure proxy connection error', new SecureProxyConnectionError(new Error('x')), 'RegistryUnreachable', 'proxy'],
    ['ENOTFOUND', sys('ENOTFOUND'), 'RegistryUnreachable', 'dns'],
    ['EAI_AGAIN', sys('EAI_AGAIN'), 'RegistryUnreachable', 'dns'],
    ['ECONNREFUSED', sys('ECONNREFUSED'), 'RegistryUnreachable', 'refused'],
    ['ECONNRESET', sys('ECONNRESET'), 'RegistryUnreachable', 'reset'],
    ['EPIPE', sys('EPIPE'), 'RegistryUnreachable', 'reset'],
    ['ETIMEDOUT', sys('ETIMEDOUT'), 'RegistryTimeout', undefined],
    ['EHOSTUNREACH', sys('EHOSTUNREACH'), 'RegistryUnreachable', 'network'],
    ['ENETUNREACH', sys('ENETUNREACH'), 'RegistryUnreachable', 'network'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', sys('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'RegistryUnreachable', 'tls'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', sys('DEPTH_ZERO_SELF_SIGNED_CERT'), 'RegistryUnreachable', 'tls'],
    ['SELF_SIGNED_CERT_IN_CHAIN', sys('SELF_SIGNED_CERT_IN_CHAIN'), 'RegistryUnreachable', 'tls'],
    ['CERT_HAS_EXPIRED', sys('CERT_HAS_EXPIRED'), 'RegistryUnreachable', 'tls'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', sys('ERR_TLS_CERT_ALTNAME_INVALID'), 'RegistryUnreachable', 'tls'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', sys('ERR_SSL_WRONG_VERSION_NUMBER'), 'RegistryUnreachable', 'tls'],
    ['an AbortSignal.timeout reason', new DOMException('The operation was aborted due to timeout', 'TimeoutError'), 'RegistryTimeout', undefined],
    ['the code on a nested cause', Object.assign(new Error('fetch failed'), { cause: sys('ECONNREFUSED') }), 'RegistryUnreachable', 'refused'],
    ['a code inside an AggregateError (happy eyeballs)', new AggregateError([sys('ECONNREFUSED'), sys('ECONNREFUSED')]), 'RegistryUnreachable', 'refused'],
    ['an error without a code', new Error('ECONNREFUSED in the message only'), 'RegistryError', undefined],
    ['a thrown non-error', 'boom', 'RegistryError', undefined],
  ];
  for (const [why, err, reason, cause] of table) {
    const c = classifyNetworkError(err);
    t.equal(c.reason, reason, `${why}: reason`);
    t.equal(c.cause, cause, `${why}: cause`);
  }
});

t.test('through a proxy, failures to reach the proxy itself are proxy failures', async (t) => {
  const proxy = { host: '127.0.0.1', port: 3128 };
  t.equal(classifyNetworkError(sys('ECONNREFUSED', { port: 3128, address: '127.0.0.1' }), { proxy }).cause, 'proxy');
  t.equal(classifyNetworkError(sys('ECONNREFUSED', { port: 5000 }), { proxy }).cause, 'refused', 'the registry port refusing is not the proxy');
  t.equal(classifyNetworkError(new RequestAbortedError('Proxy response (403) !== 200 when HTTP Tunneling'), { proxy }).cause, 'proxy', 'a refused CONNECT');
  t.equal(classifyNetworkError(new undiciErrors.InvalidArgumentError('Proxy Authentication Required (407)'), { proxy }).cause, 'proxy');
  t.equal(classifyNetworkError(new RequestAbortedError(), {}).reason, 'RegistryError', 'without a proxy an abort is not a proxy failure');
});

t.test('our own deadline wins over whatever error undici surfaced', async (t) => {
  t.equal(classifyNetworkError(new RequestAbortedError(), { deadlineExceeded: true }).reason, 'RegistryTimeout');
  t.equal(classifyNetworkError(sys('ECONNRESET'), { deadlineExceeded: true }).reason, 'RegistryTimeout');
});

t.test('errorCodes walks causes without looping', async (t) => {
  const a: Error & { cause?: unknown; code?: string } = Object.assign(new Error('a'), { code: 'A' });
  const b = Object.assign(new Error('b'), { code: 'B', cause: a });
  a.cause = b;
  t.same(errorCodes(b), ['B', 'A']);
});

const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
  status,
  headers,
  body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  url: 'https://r.example/v2/a/manifests/x?token=SECRET',
});

t.test('registry answers are classified by status and codes', async (t) => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const table: [string, ReturnType<typeof answer>, 'manifest' | 'tags' | 'blob', string][] = [
    ['404 MANIFEST_UNKNOWN on a manifest', answer(404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }), 'manifest', 'TagNotFound'],
    ['404 NAME_UNKNOWN on a manifest', answer(404, { errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }] }), 'manifest', 'RepositoryNotFound'],
    ['404 on tags/list', answer(404, ''), 'tags', 'RepositoryNotFound'],
    ['404 on a blob', answer(404, { errors: [{ code: 'BLOB_UNKNOWN' }] }), 'blob', 'RegistryError'],
    ['401', answer(401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }), 'manifest', 'AuthRequired'],
    ['403', answer(403, ''), 'manifest', 'AccessDenied'],
    ['DENIED code on a 401-less answer', answer(400, { errors: [{ code: 'DENIED' }] }), 'manifest', 'AccessDenied'],
    ['429', answer(429, '', { 'retry-after': '30' }), 'manifest', 'RateLimited'],
    ['TOOMANYREQUESTS in a 403', answer(403, { errors: [{ code: 'TOOMANYREQUESTS', message: 'pull rate limit' }] }), 'manifest', 'RateLimited'],
    ['500', answer(500, 'oops'), 'manifest', 'RegistryError'],
    ['503', answer(503, ''), 'manifest', 'RegistryError'],
    ['400 other', answer(400, { errors: [{ code: 'NAME_INVALID' }] }), 'manifest', 'RegistryError'],
  ];
  for (const [why, a, operation, reason] of table) {
    const e = errorFromAnswer(a, { method: 'GET', operation, now });
    t.equal(e.reason, reason, why);
    t.notMatch(e.message, /SECRET/, `${why}: no secret in the message`);
  }
  const limited = errorFromAnswer(answer(429, '', { 'retry-after': '30' }), { method: 'GET', operation: 'manifest', now });
  t.equal(limited.retryAfterSeconds, 30);
  t.ok(limited.temporary);
  const notFound = errorFromAnswer(answer(404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }), { method: 'GET', operation: 'manifest', now });
  t.equal(notFound.registryMessage(), '404 MANIFEST_UNKNOWN: manifest unknown');
  t.notOk(notFound.temporary);
  t.ok(notFound.hasCode('MANIFEST_UNKNOWN'));
  const hub = errorFromAnswer(answer(401, { details: 'incorrect username or password' }), { method: 'GET', operation: 'manifest', now });
  t.equal(hub.registryMessage(), '401: incorrect username or password', "Docker Hub's token endpoint `details` text is kept");
  // Expected answers are outcomes, not bugs: no stack is captured for them, and the process's limit is left alone.
  const limit = Error.stackTraceLimit;
  t.ok(notFound instanceof RegistryError);
  t.equal(notFound.stack, `RegistryError: ${notFound.message}`, 'the stack is the message line only');
  t.equal(Error.stackTraceLimit, limit);
});

t.test('parseDiagnostics is lenient and bounded', async (t) => {
  t.same(parseDiagnostics(Buffer.from('not json')), []);
  t.same(parseDiagnostics(Buffer.from('{"errors": "nope"}')), []);
  t.same(parseDiagnostics(Buffer.from('null')), []);
  t.same(parseDiagnostics(Buffer.from('{"errors":[{"code":"manifest_unknown","message":"a\\nb\\u0000c"}]}')), [{ code: 'MANIFEST_UNKNOWN', message: 'a b c' }]);
  t.same(parseDiagnostics(Buffer.from('{"errors":[{"code":"<script>"}, {"code": 5}]}')), [], 'codes that are not identifiers are dropped');
  const many = JSON.stringify({ errors: Array.from({ length: 100 }, () => ({ code: 'X', message: 'y'.repeat(10_000) })) });
  const d = parseDiagnostics(Buffer.from(many));
  t.equal(d.length, 8);
  t.ok((d[0]?.message?.length ?? 0) < 400);
});

t.test('redactUrl removes userinfo and token-like query values', async (t) => {
  t.equal(redactUrl('https://user:pass@r.example/v2/x?X-Amz-Signature=abc&n=10&token=t&access_token=a'), 'https://r.example/v2/x?X-Amz-Signature=REDACTED&n=10&token=REDACTED&access_token=REDACTED');
  t.equal(redactUrl('https://s3.example/blob?X-Amz-Credential=c&X-Amz-Security-Token=s&sig=1'), 'https://s3.example/blob?X-Amz-Credential=REDACTED&X-Amz-Security-Token=REDACTED&sig=REDACTED');
  t.equal(redactUrl('not a url'), '<unparseable url>');
  t.equal(redactUrl('https://auth.example/token?service=reg&scope=repository:a:pull&account=ghp_secretish'), 'https://auth.example/token?service=reg&scope=repository%3Aa%3Apull&account=REDACTED', 'the token request names the user');
  const e = new RegistryError('x', { reason: 'RegistryError', url: 'https://a:b@h/?password=p' });
  t.equal(e.url, 'https://h/?password=REDACTED');
});

t.test('Retry-After and Docker Hub rate-limit headers', async (t) => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  t.equal(parseRetryAfter('120', now), 120);
  t.equal(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', now), 60);
  t.equal(parseRetryAfter('Thu, 01 Jan 2025 00:01:00 GMT', now), 0, 'a date in the past is now');
  t.equal(parseRetryAfter('soon', now), undefined);
  t.equal(parseRetryAfter(undefined, now), undefined);
  t.equal(parseRateLimitHeader('100;w=21600'), 100);
  t.equal(parseRateLimitHeader('76;w=21600'), 76);
  t.equal(parseRateLimitHeader('0'), 0);
  t.equal(parseRateLimitHeader('abc'), undefined);
});

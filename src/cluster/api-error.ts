// Turns a failed API call into a Lookup failure: a reason code callers branch on, and a message an operator can
// act on (which RBAC permission is missing, which status the API server gave). Pure; never includes object data.
import type { Lookup } from './types.ts';

export type LookupFailure = Extract<Lookup<unknown>, { found: false }>;

/** What a call asked for, to name it in messages and RBAC hints. */
export interface ApiTarget {
  verb: 'get' | 'list' | 'watch';
  resource: 'secrets' | 'serviceaccounts' | 'namespaces' | 'nodes';
  namespace?: string;
  name?: string;
}

/** How the call ended when it was aborted: by its deadline, or because the reader was closed. */
export interface AbortCause {
  timedOut: boolean;
  closed: boolean;
  timeoutMs: number;
}

const KIND: Record<ApiTarget['resource'], string> = {
  secrets: 'secret',
  serviceaccounts: 'service account',
  namespaces: 'namespace',
  nodes: 'node',
};

export function describeTarget(target: ApiTarget): string {
  if (target.name === undefined) return target.resource;
  const name = target.namespace === undefined ? target.name : `${target.namespace}/${target.name}`;
  return `${KIND[target.resource]} ${name}`;
}

/** The RBAC rule pullguard's ServiceAccount lacks when the API server forbids this call. */
export function missingPermission(target: ApiTarget): string {
  const scope = target.namespace === undefined ? 'cluster-wide (ClusterRole)' : `in namespace "${target.namespace}"`;
  return `RBAC verb "${target.verb}" on resource "${target.resource}" ${scope}`;
}

export function lookupFailure(err: unknown, target: ApiTarget, abort: AbortCause): LookupFailure {
  const what = describeTarget(target);
  const status = httpStatus(err);
  if (status === 404) return { found: false, reason: 'NotFound', message: `${what} not found` };
  if (status === 403) {
    return {
      found: false,
      reason: 'Forbidden',
      message: `pullguard may not ${target.verb} ${what}: grant it ${missingPermission(target)}${serverSays(err)}`,
    };
  }
  if (status === 401) {
    return { found: false, reason: 'Unavailable', message: `the API server rejected pullguard's credentials (401) reading ${what}` };
  }
  if (status !== undefined) {
    return { found: false, reason: 'Unavailable', message: `the API server answered ${status} reading ${what}${serverSays(err)}` };
  }
  if (abort.closed) return { found: false, reason: 'Unavailable', message: `the cluster reader is closed; ${what} not read` };
  if (abort.timedOut || isAbort(err)) {
    return { found: false, reason: 'Unavailable', message: `the API server did not answer within ${abort.timeoutMs} ms reading ${what}` };
  }
  const code = errorCode(err);
  if (code !== undefined) return { found: false, reason: 'Unavailable', message: `the API server is unreachable (${code}) reading ${what}` };
  return { found: false, reason: 'Unavailable', message: `reading ${what} failed: ${errorMessage(err)}` };
}

/** The HTTP status of an ApiException (numeric `code`) or a Watch error (`statusCode`). */
export function httpStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, statusCode } = err as { code?: unknown; statusCode?: unknown };
  if (typeof code === 'number') return code;
  if (typeof statusCode === 'number') return statusCode;
  return undefined;
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

/** A system error code such as ECONNREFUSED, from the error or its cause. */
function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 3; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The message of the Status object the API server sent, if any. */
function serverSays(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  if (typeof body !== 'string') return '';
  try {
    const status = JSON.parse(body) as { kind?: unknown; message?: unknown };
    if (status.kind === 'Status' && typeof status.message === 'string') return ` (API server: ${truncate(status.message)})`;
  } catch {
    // not JSON: say nothing rather than echo an arbitrary body
  }
  return '';
}

function errorMessage(err: unknown): string {
  return truncate(err instanceof Error ? err.message.split('\n')[0] ?? err.name : String(err));
}

function truncate(text: string): string {
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

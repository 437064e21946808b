// One retry when an idempotent request met a connection the server had already closed (a stale keep-alive
// socket): the registry never saw it, so asking again is safe and the answer is not "unreachable".
import type { Clock, HttpRequest, HttpResponse, Result, Sender } from './exchange.ts';

export function withResetRetry(inner: Sender, clock: Clock): Sender {
  return {
    async send(req: HttpRequest): Promise<Result<HttpResponse>> {
      const res = await inner.send(req);
      const expired = req.deadline !== undefined && req.deadline - clock() <= 0;
      if (!res.ok && res.error.unreachable === 'reset' && req.method !== 'POST' && !expired) return inner.send(req);
      return res;
    },
  };
}

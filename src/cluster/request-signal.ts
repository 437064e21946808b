// Cancelling an API-server request: the generated client's only hook for an AbortSignal is request middleware.
import { Observable } from '@kubernetes/client-node';
import type { ObservableMiddleware } from '@kubernetes/client-node';

/** Request middleware that attaches an AbortSignal. */
export function abortOn(signal: AbortSignal): ObservableMiddleware {
  return {
    pre: (context) => {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (context) => new Observable(Promise.resolve(context)),
  };
}

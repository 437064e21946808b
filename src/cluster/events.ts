// Kubernetes Events on workloads, so `kubectl describe deployment web` shows what the audit found. core/v1 Events,
// named `<object>.<hex time>` as client-go's recorder names them (k8s.io/client-go/tools/record/event.go,
// makeEvent). RBAC: create on events.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { httpStatus } from './api-error.ts';

export interface EventTarget {
  kind: string;
  apiVersion: string;
  namespace: string;
  name: string;
  uid: string;
}

export interface EventRecorder {
  /** A Warning event; resolves to an error sentence when it could not be created (never throws). */
  warn(target: EventTarget, reason: string, message: string): Promise<string | undefined>;
}

/** The API server limits an event's message to 1 KiB (validation.go ValidateEventCreate). */
const MAX_MESSAGE = 1024;

export function createEventRecorder(kc: KubeConfig, opts: { component: string; host?: string; clock?: () => number }): EventRecorder {
  const api = kc.makeApiClient(CoreV1Api);
  const clock = opts.clock ?? Date.now;
  let sequence = 0;
  return {
    async warn(target, reason, message) {
      const now = new Date(clock());
      // Unique per call, ordered by time, as client-go's `fmt.Sprintf("%v.%x", ref.Name, t.UnixNano())`.
      const suffix = (BigInt(now.getTime()) * 1_000_000n + BigInt(sequence++ % 1_000_000)).toString(16);
      try {
        await api.createNamespacedEvent({
          namespace: target.namespace,
          body: {
            metadata: { name: `${target.name}.${suffix}`, namespace: target.namespace },
            involvedObject: { kind: target.kind, apiVersion: target.apiVersion, namespace: target.namespace, name: target.name, uid: target.uid },
            reason,
            message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message,
            type: 'Warning',
            source: { component: opts.component, ...(opts.host ? { host: opts.host } : {}) },
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
            reportingComponent: opts.component,
            reportingInstance: opts.host ?? '',
          },
        });
        return undefined;
      } catch (err) {
        const status = httpStatus(err);
        return status === 403
          ? `cannot create events in namespace "${target.namespace}": forbidden; grant RBAC verb "create" on resource "events"`
          : `cannot create an event on ${target.kind} ${target.namespace}/${target.name}: ${status !== undefined ? `the API server answered ${status}` : String(err)}`;
      }
    },
  };
}

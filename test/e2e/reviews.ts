// Pod AdmissionReviews built in the test (no fixture files): enough of the v1 envelope for the webhook's schema
// and the pod spec reader, with the containers and pull secrets given.

let counter = 0;

export function podReview(images: string[], opts: { namespace?: string; pullSecrets?: string[]; uid?: string } = {}): Record<string, unknown> {
  const namespace = opts.namespace ?? 'demo';
  const uid = opts.uid ?? `e2e-${process.pid}-${++counter}`;
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      name: 'web',
      namespace,
      operation: 'CREATE',
      userInfo: { username: 'alice' },
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'web', namespace },
        spec: {
          containers: images.map((image, i) => ({ name: `c${i}`, image, imagePullPolicy: 'IfNotPresent' })),
          ...(opts.pullSecrets ? { imagePullSecrets: opts.pullSecrets.map((name) => ({ name })) } : {}),
        },
      },
      oldObject: null,
      dryRun: false,
    },
  };
}

export interface ReviewAnswer {
  response: { uid: string; allowed: boolean; warnings?: string[]; status?: { message: string }; auditAnnotations?: Record<string, string> };
}

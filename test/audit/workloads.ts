// Workload objects as a real API server stores them (apiVersion, kind, metadata with labels, ownerReferences, the
// defaulted fields a `kubectl get -o json` shows, status), one builder per kind, for the fake API server's lists.
import { randomUUID } from 'node:crypto';

type Obj = Record<string, unknown>;

export interface Owner {
  kind: string;
  name: string;
  apiVersion?: string;
}

export interface WorkloadOptions {
  namespace?: string;
  /** Container images (named c0, c1, ...). */
  images: string[];
  initImages?: string[];
  /** The controller owning the object (`controller: true`). */
  owner?: Owner;
  imagePullSecrets?: string[];
  serviceAccountName?: string;
  labels?: Record<string, string>;
}

function metadata(name: string, o: WorkloadOptions): Obj {
  return {
    name,
    namespace: o.namespace ?? 'default',
    labels: o.labels ?? { app: name },
    ...(o.owner ? {
      ownerReferences: [{
        apiVersion: o.owner.apiVersion ?? (o.owner.kind === 'CronJob' || o.owner.kind === 'Job' ? 'batch/v1' : o.owner.kind === 'Node' ? 'v1' : 'apps/v1'),
        kind: o.owner.kind,
        name: o.owner.name,
        uid: randomUUID(),
        controller: true,
        blockOwnerDeletion: true,
      }],
    } : {}),
  };
}

function podSpec(o: WorkloadOptions, restartPolicy = 'Always'): Obj {
  const container = (prefix: string) => (image: string, i: number) => ({
    name: `${prefix}${i}`,
    image,
    resources: {},
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: image.endsWith(':latest') ? 'Always' : 'IfNotPresent',
  });
  return {
    ...(o.initImages?.length ? { initContainers: o.initImages.map(container('init')) } : {}),
    containers: o.images.map(container('c')),
    restartPolicy,
    terminationGracePeriodSeconds: 30,
    dnsPolicy: 'ClusterFirst',
    serviceAccountName: o.serviceAccountName ?? 'default',
    serviceAccount: o.serviceAccountName ?? 'default',
    securityContext: {},
    schedulerName: 'default-scheduler',
    ...(o.imagePullSecrets ? { imagePullSecrets: o.imagePullSecrets.map((name) => ({ name })) } : {}),
  };
}

const template = (name: string, o: WorkloadOptions, restartPolicy?: string) => ({ metadata: { labels: { app: name } }, spec: podSpec(o, restartPolicy) });

export function deployment(name: string, o: WorkloadOptions): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { ...metadata(name, o), annotations: { 'deployment.kubernetes.io/revision': '1' }, generation: 1 },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: template(name, o),
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    },
    status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 },
  };
}

export function replicaSet(name: string, o: WorkloadOptions): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { ...metadata(name, o), generation: 1 },
    spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: template(name, o) },
    status: { replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 2, observedGeneration: 1 },
  };
}

export function statefulSet(name: string, o: WorkloadOptions): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { ...metadata(name, o), generation: 1 },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: template(name, o),
      serviceName: name,
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: 10,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
    },
    status: { observedGeneration: 1, replicas: 1, readyReplicas: 1, currentReplicas: 1, updatedReplicas: 1, availableReplicas: 1 },
  };
}

export function daemonSet(name: string, o: WorkloadOptions): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { ...metadata(name, o), generation: 1 },
    spec: {
      selector: { matchLabels: { app: name } },
      template: template(name, o),
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      revisionHistoryLimit: 10,
    },
    status: { currentNumberScheduled: 2, numberMisscheduled: 0, desiredNumberScheduled: 2, numberReady: 2, observedGeneration: 1 },
  };
}

export function cronJob(name: string, o: WorkloadOptions): Obj {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { ...metadata(name, o), generation: 1 },
    spec: {
      schedule: '0 3 * * *',
      concurrencyPolicy: 'Allow',
      suspend: false,
      jobTemplate: { metadata: {}, spec: { template: template(name, o, 'OnFailure') } },
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
    },
    status: { lastScheduleTime: '2026-12-01T03:00:00Z' },
  };
}

export function job(name: string, o: WorkloadOptions): Obj {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { ...metadata(name, o), generation: 1 },
    spec: {
      parallelism: 1,
      completions: 1,
      backoffLimit: 6,
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': randomUUID() } },
      manualSelector: false,
      template: template(name, o, 'Never'),
      completionMode: 'NonIndexed',
      suspend: false,
      podReplacementPolicy: 'TerminatingOrFailed',
    },
    status: { startTime: '2026-12-01T03:00:00Z', active: 1, ready: 0, terminating: 0 },
  };
}

export function replicationController(name: string, o: WorkloadOptions): Obj {
  return {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { ...metadata(name, o), generation: 1 },
    spec: { replicas: 1, selector: { app: name }, template: template(name, o) },
    status: { replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 1, availableReplicas: 1, observedGeneration: 1 },
  };
}

export function pod(name: string, o: WorkloadOptions & { phase?: string; nodeName?: string }): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: metadata(name, o),
    spec: { ...podSpec(o), ...(o.nodeName ? { nodeName: o.nodeName } : {}), enableServiceLinks: true, preemptionPolicy: 'PreemptLowerPriority', priority: 0 },
    status: { phase: o.phase ?? 'Running', qosClass: 'BestEffort', startTime: '2026-12-01T03:00:00Z' },
  };
}

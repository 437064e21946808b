// The node inventory: one paginated list, then a watch, of /api/v1/nodes kept in memory, so every review sees the
// nodes' platforms, taints, versions and cached images without an API call. Each Node (~20 KB with managedFields,
// conditions and images) is projected to the facts pullguard uses as soon as it arrives, page by page and event by
// event; the rest is dropped at once, so memory follows the facts, not the objects.
import { ListWatch, Watch } from '@kubernetes/client-node';
import type { KubeConfig, V1Node, V1NodeList, V1ObjectMeta } from '@kubernetes/client-node';
import { lookupFailure } from './api-error.ts';
import { nodeInfoFromNode } from './node-info.ts';
import type { ClusterLogger, NodeInfo } from './types.ts';

export interface NodeInventory {
  /** The nodes; waits (bounded) for the first list, and is empty when nodes could not be listed. */
  list(): Promise<NodeInfo[]>;
  /** What list() answers now, once the first list is in (or the inventory closed); undefined while it would wait. */
  peek(): NodeInfo[] | undefined;
  close(): Promise<void>;
}

export interface NodeInventoryOptions {
  /** Lists one page of nodes (limit/continue), within the request deadline. */
  listNodes: (page: { limit: number; continue?: string }) => Promise<V1NodeList>;
  /** Nodes per LIST page (default 500, as kube-controller-manager's informers page). */
  pageSize?: number;
  /** After the list or watch fails, start again after this long. */
  retryMs: number;
  /** How long list() waits for a list in progress before answering []. */
  syncWaitMs: number;
  timeoutMs: number;
  logger: ClusterLogger;
}

/**
 * ListWatch.stop() cannot abort a watch whose response headers have not arrived yet (it only holds the controller
 * afterwards); this aborts such a watch as soon as they do, so close() leaves no stream open. It also tells when a
 * watch stream is established, which ListWatch does not.
 */
class StoppableWatch extends Watch {
  stopped = false;
  onEstablished: () => void = () => {};
  override async watch(...args: Parameters<Watch['watch']>): Promise<AbortController> {
    const [path, query, callback, done] = args;
    let ended = false;
    // Project each event's Node before ListWatch stores it; errors (a 410 Status) pass as they are.
    const projecting = (phase: string, apiObj: unknown, watchObj?: unknown): void => {
      callback(phase, phase === 'ERROR' ? apiObj : projectNode(apiObj as V1Node), watchObj);
    };
    const controller = await super.watch(path, query, projecting, (err: unknown) => {
      ended = true;
      done(err);
    });
    if (this.stopped) controller.abort();
    else if (!ended) this.onEstablished();
    return controller;
  }
}

/** What the informer keeps of a Node: its identity and version, and the facts. */
interface ProjectedNode {
  metadata: V1ObjectMeta;
  info: NodeInfo;
}

export function projectNode(node: V1Node): ProjectedNode {
  const meta = node?.metadata ?? {};
  return {
    metadata: { name: meta.name ?? '', ...(meta.resourceVersion !== undefined ? { resourceVersion: meta.resourceVersion } : {}) },
    info: sharingStrings(nodeInfoFromNode(node ?? {})),
  };
}

/**
 * Nodes repeat each other's strings: every node of a pool runs the same DaemonSet images (two names each, ~100
 * bytes) and carries the same zone and instance-type labels. Each parsed Node holds its own copies; keeping one
 * copy per distinct string makes 15,000 nodes × 100 image names cost pointers, not 150 MB of duplicates.
 */
const sharedStrings = new Map<string, string>();
/**
 * Past this many bytes of distinct strings (UTF-16, plus the map entry) the table starts again: nodes keep their
 * strings, later ones share a fresh table. Churning image names cannot grow it without bound.
 */
export const SHARED_STRINGS_MAX_BYTES = 16 * 1024 * 1024;
const ENTRY_OVERHEAD_BYTES = 48;
let sharedBytes = 0;

function shared(s: string): string {
  const known = sharedStrings.get(s);
  if (known !== undefined) return known;
  const cost = s.length * 2 + ENTRY_OVERHEAD_BYTES;
  if (sharedBytes + cost > SHARED_STRINGS_MAX_BYTES) {
    sharedStrings.clear();
    sharedBytes = 0;
  }
  sharedStrings.set(s, s);
  sharedBytes += cost;
  return s;
}

/** Bytes the table of shared strings holds now (for tests of its bound). */
export function sharedStringBytes(): number {
  return sharedBytes;
}

function sharingStrings(info: NodeInfo): NodeInfo {
  info.images = info.images.map(shared);
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(info.labels)) labels[k] = typeof v === 'string' ? shared(v) : v;
  info.labels = labels;
  if (info.containerRuntimeVersion !== undefined) info.containerRuntimeVersion = shared(info.containerRuntimeVersion);
  if (info.kubeletVersion !== undefined) info.kubeletVersion = shared(info.kubeletVersion);
  return info;
}

export function startNodeInventory(kc: KubeConfig, opts: NodeInventoryOptions): NodeInventory {
  const log = opts.logger;
  let closed = false;
  let synced = false;
  let failing = false;
  let retryTimer: NodeJS.Timeout | undefined;
  // Settles when the list in progress has been stored (or has failed); replaced by each new list.
  let listing = deferred();
  // The answer to list(), rebuilt only after the nodes changed: reviews share one array.
  let snapshot: NodeInfo[] | undefined;
  const pageSize = opts.pageSize ?? 500;

  const watch = new StoppableWatch(kc);
  const informer = new ListWatch<ProjectedNode>(
    '/api/v1/nodes',
    watch,
    async () => {
      const settle = listing.resolve;
      try {
        // Page by page, each page projected before the next is read: the full objects of one page at most.
        const items: ProjectedNode[] = [];
        let token: string | undefined;
        let resourceVersion: string | undefined;
        let pages = 0;
        do {
          const page = await opts.listNodes({ limit: pageSize, ...(token ? { continue: token } : {}) });
          for (const node of page.items ?? []) items.push(projectNode(node));
          resourceVersion = page.metadata?.resourceVersion;
          token = page.metadata?._continue || undefined;
          pages++;
        } while (token && !closed);
        synced = true;
        log.debug({ nodes: items.length, pages }, 'node inventory: listed nodes');
        return { metadata: resourceVersion !== undefined ? { resourceVersion } : {}, items };
      } finally {
        // ListWatch stores the items right after this function returns, within the same run of microtasks;
        // settling on the next macrotask lets waiters see them.
        setImmediate(settle);
      }
    },
    false,
  );

  watch.onEstablished = () => {
    if (failing) log.info({}, 'node inventory: watching nodes works again');
    failing = false;
  };
  informer.on('connect', () => {
    if (listing.settled) listing = deferred();
  });
  for (const change of ['add', 'update', 'delete'] as const) {
    informer.on(change, () => {
      snapshot = undefined;
    });
  }
  informer.on('error', (err: unknown) => {
    if (closed) return; // stop() aborts the watch, which ends in an AbortError
    const failure = lookupFailure(err, { verb: synced ? 'watch' : 'list', resource: 'nodes' }, {
      timedOut: false,
      closed: false,
      timeoutMs: opts.timeoutMs,
    });
    const fields = { reason: failure.reason, retryInMs: opts.retryMs };
    const message = `node inventory: ${failure.message}; ${synced ? 'serving the last known nodes' : 'no nodes known yet'}`;
    // Warn when it starts failing, not on every retry of the same outage.
    if (failing) log.debug(fields, message);
    else log.warn(fields, message);
    failing = true;
    if (retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      if (!closed) void informer.start();
    }, opts.retryMs);
    retryTimer.unref();
  });
  void informer.start();

  return {
    async list() {
      if (!synced && !closed) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          listing.promise,
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, opts.syncWaitMs);
          }),
        ]);
        clearTimeout(timer);
        if (!synced) {
          // A failed list was logged already; a slow one was not.
          if (!listing.settled) log.warn({ waitedMs: opts.syncWaitMs }, 'node inventory: nodes not listed yet; answering with no nodes');
          return [];
        }
      }
      snapshot ??= informer.list().map((node) => node.info);
      return snapshot;
    },
    peek() {
      if (!synced && !closed) return undefined;
      snapshot ??= informer.list().map((node) => node.info);
      return snapshot;
    },
    async close() {
      closed = true;
      watch.stopped = true;
      clearTimeout(retryTimer);
      await informer.stop();
      listing.resolve();
    },
  };
}

function deferred(): { promise: Promise<void>; resolve: () => void; settled: boolean } {
  let resolve!: () => void;
  const d = {
    promise: new Promise<void>((r) => (resolve = r)),
    resolve: () => {
      d.settled = true;
      resolve();
    },
    settled: false,
  };
  return d;
}

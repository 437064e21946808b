// The node inventory: one list+watch of /api/v1/nodes kept in memory, so every review sees the nodes' platforms
// and cached images without an API call. Node objects are few, and the kubelet updates them rarely enough.
import { ListWatch, Watch } from '@kubernetes/client-node';
import type { KubeConfig, V1Node, V1NodeList } from '@kubernetes/client-node';
import { lookupFailure } from './api-error.ts';
import { nodeInfoFromNode } from './node-info.ts';
import type { ClusterLogger, NodeInfo } from './types.ts';

export interface NodeInventory {
  /** The nodes; waits (bounded) for the first list, and is empty when nodes could not be listed. */
  list(): Promise<NodeInfo[]>;
  close(): Promise<void>;
}

export interface NodeInventoryOptions {
  /** Lists nodes, within the request deadline. */
  listNodes: () => Promise<V1NodeList>;
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
    const controller = await super.watch(path, query, callback, (err: unknown) => {
      ended = true;
      done(err);
    });
    if (this.stopped) controller.abort();
    else if (!ended) this.onEstablished();
    return controller;
  }
}

export function startNodeInventory(kc: KubeConfig, opts: NodeInventoryOptions): NodeInventory {
  const log = opts.logger;
  let closed = false;
  let synced = false;
  let failing = false;
  let retryTimer: NodeJS.Timeout | undefined;
  // Settles when the list in progress has been stored (or has failed); replaced by each new list.
  let listing = deferred();
  // Node objects are replaced on every change, so converting once per object version is enough.
  const converted = new WeakMap<V1Node, NodeInfo>();

  const watch = new StoppableWatch(kc);
  const informer = new ListWatch<V1Node>(
    '/api/v1/nodes',
    watch,
    async () => {
      const settle = listing.resolve;
      try {
        const list = await opts.listNodes();
        synced = true;
        log.debug({ nodes: list.items.length }, 'node inventory: listed nodes');
        return list;
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
      return informer.list().map((node) => {
        let info = converted.get(node);
        if (!info) {
          info = nodeInfoFromNode(node);
          converted.set(node, info);
        }
        return info;
      });
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

# pullguard's container image: compiled in a Node 24 build stage, run on distroless Node 24 (no shell, no package
# manager) as a numeric non-root user, with production dependencies only.
# Build: docker build --build-arg VERSION="$(node -p "require('./package.json').version")" \
#          --build-arg REVISION="$(git rev-parse HEAD)" -t pullguard .

# Every stage is Debian 12 (bookworm), so anything compiled at install time matches the runtime's libc.
# The build stage runs on the builder's own platform: tsc's output is the same JavaScript for every architecture, so
# a multi-arch build (docker buildx --platform linux/amd64,linux/arm64) compiles once, without emulation.
FROM --platform=$BUILDPLATFORM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Locked install. No install scripts: the only one is the `node` dev dependency fetching a second Node binary, and
# `prepare` (tsc) would run before the sources are copied; the build is the explicit step below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY scripts ./scripts
# tsc type-checks and compiles; the image runs the esbuild bundle of the same sources (scripts/bundle.ts): one minified
# file per lazily loaded chunk instead of ~1,000 modules of @kubernetes/client-node alone. Memory bench, 2026-12-01:
# serve's RSS after start and a full GC 101 MiB instead of 130, peak 154 MiB instead of 181, same CPU per review.
RUN npm run build
RUN npm run bundle

# Production dependencies are installed for the target platform (native add-ons, if any ever appear, must match).
FROM node:24-bookworm-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# distroless's :nonroot tag runs as 65532 by default; USER below says so explicitly.
FROM gcr.io/distroless/nodejs24-debian12:nonroot
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="pullguard" \
      org.opencontainers.image.description="Kubernetes validating admission webhook that rejects workloads whose images cannot be pulled" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
WORKDIR /app
# A 4 MiB young generation: on large nodes V8 would size it at up to 64 MiB per semi-space, which the webhook's
# short-lived garbage never needs (the benchmark measured ~100 MiB less peak RSS, with no loss of latency); and one
# glibc malloc arena instead of eight per core (two: ~10 MiB less; one: another 12–20 MiB less RSS after the warm and
# memory scenarios, no CPU cost measured). A fixed 32 KiB mmap threshold: glibc otherwise raises it (and the trim
# threshold) as large blocks come and go, and they then stay in the brk heap, where free() returns only the top
# (bench, 2026-12-02: serve's RSS after start and a full GC 91 MiB instead of 100; memory scenario's peak after
# warm/cold/herd 168-170 MiB in 3 runs instead of 182-188; alone, in a fresh serve, 156 against 153-163: noise).
# strace of serve under warm load: no mmap call per review (they come with new connections and compilations).
# Its cost is at start-up: listing 15,000 realistic nodes took 17.1 s instead of 11.6 s (RSS after a GC 123 MiB
# instead of 159 MiB), each page's large buffers now mapped and unmapped.
# test/bench runs pullguard with exactly these.
# The image cannot know its memory limit: the chart sets NODE_OPTIONS to these flags plus --max-old-space-size
# derived from resources.limits.memory (v8.* values); with plain `docker run`, add that flag yourself.
# Measured and not adopted (warm + memory scenarios, BENCH_NODE_FLAGS, 2026-12-01): --memory-saver-mode cuts peak RSS
# by 8–14 MiB but costs ~50 % more CPU per review; --no-maglev and --max-semi-space-size=2 leave the peak unchanged.
# 2026-12-02: a fixed 16 MiB young generation (min = max) cut warm CPU but raised the memory peak to 167 MiB;
# --min-semi-space-size=4 (no shrinking after idle) saved scavenges but moved the ratios only within noise.
ENV NODE_ENV=production NODE_OPTIONS=--max-semi-space-size=4 MALLOC_ARENA_MAX=1 MALLOC_MMAP_THRESHOLD_=32768
COPY --from=prod-deps /app/node_modules ./node_modules
# node_modules stays: pino is loaded with require() when the first line is logged (src/cli/log.ts), outside the bundle.
COPY --from=build /app/dist/bundle ./dist/bundle
COPY package.json ./
# 65532 is distroless's "nonroot"; numeric, so the kubelet can enforce runAsNonRoot without reading /etc/passwd.
USER 65532:65532
# 8443: the webhook (HTTPS); 9090: /healthz, /readyz and /metrics (HTTP).
EXPOSE 8443 9090
# distroless has no shell: exec form, with the image's own node binary. Source maps lie beside the bundle; not
# --enable-source-maps by default (Node would parse and keep ~5 MB of maps), add it to NODE_OPTIONS to debug.
ENTRYPOINT ["/nodejs/bin/node", "dist/bundle/main.js"]
CMD ["serve", "--config", "/etc/pullguard/config.yaml"]

# Baton's container image. Multi-stage: the build stage compiles better-sqlite3 and runs
# `npm run build`; the runtime stage holds production dependencies only, runs as a
# non-root user and works on a read-only root filesystem. See docs/operations.md, "Container image".
#
#   docker build -t baton .          (or: podman build --format docker -t baton .)
#   docker run --read-only -v baton-data:/var/lib/baton -v ./baton.yaml:/etc/baton/baton.yaml:ro \
#     -e BATON_MASTER_SECRET=... -p 4000:4000 baton
ARG BASE=node:22-bookworm-slim

FROM ${BASE} AS build
# Where node is installed (/usr/local in the official images): node-gyp finds Node's C headers there
# instead of downloading them.
ARG NODEDIR=/usr/local
ENV npm_config_nodedir=${NODEDIR}
# better-sqlite3 compiles from source when no prebuilt binary can be downloaded.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# Development dependencies too: a build script needs the compiler; they are pruned below. Scripts run
# in `npm rebuild` (better-sqlite3's compile), not in `npm ci`: a root `prepare` script would run
# before the sources are copied.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild --no-audit --no-fund
COPY . .
# The sources go once compiled: bin/baton.js then runs dist/ as the installed package does, and tsx
# is registered only if the configuration names a TypeScript hook module (issue 16: ~34 MiB less).
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf src test docs bench .ci scripts

FROM ${BASE} AS runtime
# TSX_DISABLE_CACHE: tsx (registered for TypeScript hook modules only) would write its transform cache
# under /tmp, read-only in the container.
ENV NODE_ENV=production \
    TSX_DISABLE_CACHE=1 \
    BATON_CONFIG=/etc/baton/baton.yaml \
    BATON_HEALTHCHECK_URL=http://127.0.0.1:4000/healthz
WORKDIR /app
# Owned by root and not writable by the user Baton runs as: the code cannot be changed at run time.
COPY --from=build /app /app
# The data directory (SQLite database, development master secret) is the only place Baton writes.
RUN mkdir -p /var/lib/baton /etc/baton \
 && chown 1000:1000 /var/lib/baton \
 && chmod 0700 /var/lib/baton
VOLUME ["/var/lib/baton"]
# uid 1000 is the `node` user of the base image; numeric, so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 4000
# No curl in a slim image: node itself asks /healthz (liveness only; /readyz also checks the store).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.BATON_HEALTHCHECK_URL).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/bin/baton.js"]
CMD ["start", "--config", "/etc/baton/baton.yaml"]

# syntax=docker/dockerfile:1
# Multi-stage: compile TypeScript and native modules (better-sqlite3) with a toolchain, ship compiled JavaScript
# and production dependencies only. The image runs as a fixed non-root uid and writes nothing outside its two
# volumes, so it starts under `readOnlyRootFilesystem: true` (deploy/kubernetes.yaml); test/ci/container.test.ts
# runs the same layout under a read-only mount namespace as that uid.

FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Everything, dev dependencies included: tsc and esbuild compile dist/ (npm run build). better-sqlite3 compiles
# here (this stage has python3, make, g++).
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY training ./training
RUN npm run build && npm prune --omit=dev --no-audit --no-fund
# The native TensorFlow binding downloads libtensorflow at install time. Where that download works it is
# used (about 10x faster training of the neural model); where it does not, the wasm backend is used instead.
RUN npm install --no-save --omit=dev --no-audit --no-fund @tensorflow/tfjs-node@4.22.0 || echo "tfjs-node unavailable; the wasm backend will be used"

FROM node:20-bookworm-slim AS runtime
# SQLITE_TMPDIR / TMPDIR: the only scratch space is the data volume (SQLite's temporary files for large sorts
# would otherwise go to /var/tmp or /tmp, which a read-only root file system does not have).
ENV NODE_ENV=production \
    PORT=8080 \
    RISKGATE_DATA_DIR=/var/lib/riskgate/data \
    RISKGATE_MODELS_DIR=/var/lib/riskgate/models \
    SQLITE_TMPDIR=/var/lib/riskgate/data \
    TMPDIR=/var/lib/riskgate/data
WORKDIR /app
# A numeric uid/gid, so Kubernetes' runAsNonRoot can verify the image without a runAsUser of its own.
RUN groupadd --system --gid 10001 riskgate && useradd --system --uid 10001 --gid riskgate --home-dir /nonexistent --no-create-home riskgate \
 && mkdir -p /var/lib/riskgate/data /var/lib/riskgate/models && chown -R 10001:10001 /var/lib/riskgate
# Root-owned and read-only to the service: code, dependencies, the compiled dashboard. No sources, no tsx.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
USER 10001:10001
VOLUME ["/var/lib/riskgate/data", "/var/lib/riskgate/models"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=90s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/riskgate.mjs"]
CMD ["serve"]

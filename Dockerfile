# syntax=docker/dockerfile:1
# Multi-stage: build native modules (better-sqlite3) with a toolchain, ship only production dependencies.

FROM node:20-bookworm AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; better-sqlite3 compiles here (the build stage has python3, make, g++).
RUN npm ci --omit=dev --no-audit --no-fund
# The native TensorFlow binding downloads libtensorflow at install time. Where that download works it is
# used (about 10x faster training of the neural model); where it does not, the wasm backend is used instead.
RUN npm install --no-save --omit=dev @tensorflow/tfjs-node@4.22.0 || echo "tfjs-node unavailable; the wasm backend will be used"

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    RISKGATE_DATA_DIR=/var/lib/riskgate/data \
    RISKGATE_MODELS_DIR=/var/lib/riskgate/models
WORKDIR /app
RUN groupadd --system riskgate && useradd --system --gid riskgate --home-dir /app riskgate \
 && mkdir -p /var/lib/riskgate/data /var/lib/riskgate/models && chown -R riskgate:riskgate /var/lib/riskgate
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY training ./training
USER riskgate
VOLUME ["/var/lib/riskgate/data", "/var/lib/riskgate/models"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=90s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/riskgate.mjs"]
CMD ["serve"]

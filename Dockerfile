# The processor (and, for the demo profile, the provider simulator) as one image.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY protos ./protos
COPY scripts ./scripts
COPY ext-proc ./ext-proc
COPY envoy ./envoy
COPY simulators ./simulators
COPY bench ./bench
COPY models ./models
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production GRPC_HOST=0.0.0.0 METRICS_HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/models ./models
# The usage ledger's schema migrations (applied by `node dist/scripts/ledger.js`).
COPY --from=build /app/ext-proc/src/ledger/migrations ./ext-proc/src/ledger/migrations
# The ledger's folder (its local file, or its spool): a volume mounted here starts owned by node.
RUN mkdir -p /app/data/ledger && chown -R node:node /app/data
USER node
EXPOSE 50051 9464
CMD ["node", "dist/ext-proc/src/main.js"]

# One image for every Warren service; the command picks the service:
#   docker run warren node dist/workers/run.js inventory
# Node runs as PID 1 in exec form, so SIGTERM reaches it and the runtime drains (intake, consumers, I/O) before exit.

# No `# syntax=` line: it would make every build fetch a frontend image from a registry (BuildKit), which fails
# behind a mirror or offline. A mirror or a local stand-in is passed as NODE_IMAGE.
ARG NODE_IMAGE=node:24.22.3-alpine

# --- build: full dependency tree, compile TypeScript to dist/ ---------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# --- deps: production dependencies only -------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime: no compiler, no npm cache, no source; files owned by root and read-only to the app user --------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY deploy/scripts/container-healthcheck.mjs ./healthcheck.mjs
# The node image's unprivileged user (uid 1000); Kubernetes can enforce it with runAsNonRoot.
USER 1000:1000
# Each service's API and ops port (/healthz, /readyz, /metrics), generated from workers/registry.ts by `npm run deploy:generate`:
EXPOSE 3000 9101 9102 9103
# Liveness only: /healthz answers while the event loop runs. Compose checks /readyz separately.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 CMD ["node", "healthcheck.mjs", "/healthz"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/workers/run.js", "order"]

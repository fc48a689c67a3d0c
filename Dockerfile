# stytch-bff container image.
#
#   docker build -t stytch-bff .
#   docker run -p 3000:3000 -e STYTCH_PROJECT_ID=... -e STYTCH_SECRET=... stytch-bff
#
# BASE_IMAGE lets CI swap the public image for a locally built one
# (scripts/container-test.sh); every stage uses it. Plain Dockerfile syntax
# only (no BuildKit-only features), so podman/buildah 4.x builds it as well.
ARG BASE_IMAGE=node:22-slim

# --- production dependencies only ---------------------------------------------
FROM ${BASE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- build: dev dependencies + tsc ---------------------------------------------
FROM ${BASE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY routes ./routes
COPY plugins ./plugins
# the service only: the Stytch emulator (npm run build:emulator) stays out of the image
RUN npm run build:service

# --- runtime --------------------------------------------------------------------
FROM ${BASE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=3000
WORKDIR /app
# Files stay owned by root: the service only reads them.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
# No curl in the slim image: node's fetch does the probe.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
# Exec form, node as PID 1: SIGTERM goes straight to the server, which closes
# gracefully and exits 0 (SHUTDOWN_TIMEOUT_MS, default 10 s).
# A young generation fixed at 2 x 32 MB (V8 starts at 1 MB and shrinks it again when idle):
# fewer promotions, so far fewer full mark-compacts under load (docs/performance.md, fourth
# round). The same flags as `npm start`; a repository test keeps the two equal.
CMD ["node", "--min-semi-space-size=32", "--max-semi-space-size=32", "dist/src/server.js"]

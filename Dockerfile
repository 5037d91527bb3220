# syntax=docker/dockerfile:1.7
# eventfleet: one image, one CLI. `eventfleet <role>` — api | relay | worker <name> | infra | dlq | ...
# The app is TypeScript run directly by Node 24 (type stripping), so there is no compile stage: the
# build stage only installs production dependencies, the runtime stage adds the sources.
#
#   docker build --secret id=npm-ca,src=/etc/ssl/certs/ca-certificates.crt -t eventfleet .   # anywhere
#   make image                                       # here: buildah + a locally made base (scripts/)
ARG NODE_IMAGE=docker.io/library/node:24-bookworm-slim

# ---- deps: production node_modules only (no dev dependencies reach the image) ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# The npm-ca secret is for TLS-inspecting proxies: used for this step only, never stored in a layer.
# Then drop what Node never loads: type declarations, source maps, the browser/react-native builds.
RUN --mount=type=secret,id=npm-ca \
    --mount=type=cache,target=/root/.npm,sharing=locked \
    if [ -s /run/secrets/npm-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm-ca; fi; \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=warn \
    && rm -rf node_modules/.package-lock.json \
    && find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -delete \
    && find node_modules/@azure -mindepth 3 -maxdepth 3 -type d \( -path '*/dist/browser' -o -path '*/dist/react-native' \) \
       -prune -exec rm -rf {} +

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
LABEL org.opencontainers.image.title="eventfleet" \
      org.opencontainers.image.description="Event-driven worker fleet: order API, outbox relay, SQS and Event Hubs workers" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/eventfleet/eventfleet" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"

# A numeric, non-root user that owns nothing in /app: the code is read-only to the process, and the
# only writable path it needs is /tmp (an emptyDir under a read-only root filesystem in Kubernetes).
RUN groupadd --system --gid 10001 eventfleet \
    && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
       --shell /usr/sbin/nologin eventfleet \
    && rm -rf /usr/local/lib/node_modules/corepack /usr/local/bin/corepack /opt/yarn-* \
       /usr/local/bin/yarn /usr/local/bin/yarnpkg

ENV NODE_ENV=production \
    MANAGEMENT_PORT=9464 \
    SHUTDOWN_TIMEOUT_MS=25000 \
    EVENTFLEET_VERSION=${VERSION}

WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# .dockerignore admits only package*.json and bin/ cli/ api/ workers/ shared/ dev/ (no tests).
COPY . ./
RUN ln -s /app/bin/eventfleet.js /usr/local/bin/eventfleet \
    && if [ -f bin/eventfleet.js ]; then chmod 0755 bin/eventfleet.js; fi

USER 10001:10001
EXPOSE 8080 9464
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/eventfleet"]
CMD ["--help"]

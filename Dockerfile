# syntax=docker/dockerfile:1.7
# eventfleet: one image, one CLI. `eventfleet <role>` — api | relay | worker <name> | infra | dlq | ...
# In a checkout (`make dev`, tests) the TypeScript runs directly by Node 24 (type stripping). The image runs the
# same code bundled into JavaScript (scripts/bundle.ts, esbuild): no type stripping and no node_modules walk at
# start, and node_modules holds only what the bundle leaves out (scripts/bundle-externals.ts).
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

# ---- bundle: the CLI as JavaScript chunks, the data files it reads (Lua scripts, package.json), pruned node_modules ----
# The bundle step also fills dist/compile-cache (V8's compiled chunks; scripts/compile-cache.ts) as uid 10001, the
# user the roles run as (Node keeps one cache per uid), at the paths the runtime has (/app): a fresh role skips
# parsing. Pruning afterwards leaves the cached node_modules files (the externals) as they were.
FROM deps AS bundle
COPY . ./
# esbuild at the version package.json pins, installed beside (not into) the app: /node_modules (a link to it) is
# found by Node's resolution from /app/scripts, and this stage is thrown away.
RUN --mount=type=secret,id=npm-ca \
    --mount=type=cache,target=/root/.npm,sharing=locked \
    if [ -s /run/secrets/npm-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm-ca; fi; \
    npm install --prefix /opt/esbuild --no-save --no-package-lock --no-audit --no-fund --loglevel=warn \
       "esbuild@$(node -p 'require("./package.json").devDependencies.esbuild')" \
    && ln -s /opt/esbuild/node_modules /node_modules \
    && node scripts/bundle.ts dist --cache-uid 10001 \
    && node scripts/prune-node-modules.ts . \
    && chmod 0755 dist/eventfleet.js \
    && mkdir -p /out/app /out/usr/local/bin && cp -r dist node_modules package.json /out/app/ \
    && find api shared workers -name '*.lua' -exec cp --parents {} /out/app/ \; \
    && ln -s /app/dist/eventfleet.js /out/usr/local/bin/eventfleet

# ---- rootfs: all the runtime takes from the Node image: node and its shared libraries, env (the CLI's #!),
# sleep (the API's preStop hook), the user. No shell, no package manager, no npm. ----
FROM ${NODE_IMAGE} AS rootfs
RUN groupadd --system --gid 10001 eventfleet \
    && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
       --shell /usr/sbin/nologin eventfleet \
    && mkdir -p /rootfs/etc /rootfs/tmp /rootfs/usr/local/bin /rootfs/usr/bin \
    && chmod 1777 /rootfs/tmp \
    && cp /usr/local/bin/node /rootfs/usr/local/bin/node \
    && cp "$(command -v env)" "$(command -v sleep)" /rootfs/usr/bin/ \
    && for lib in $(ldd /usr/local/bin/node "$(command -v env)" "$(command -v sleep)" | grep -oE '/[^ :]+[.]so[^ :]*' | sort -u); do \
         cp -L --parents "$lib" /rootfs/; \
       done \
    && grep -E '^(root|eventfleet):' /etc/passwd >/rootfs/etc/passwd \
    && grep -E '^(root|eventfleet):' /etc/group >/rootfs/etc/group \
    && cp /etc/ld.so.cache /rootfs/etc/ \
    && if [ -f /etc/nsswitch.conf ]; then cp /etc/nsswitch.conf /rootfs/etc/; fi

# ---- runtime ----
FROM scratch AS runtime
ARG NODE_IMAGE
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
COPY --from=rootfs /rootfs/ /
COPY --from=bundle /out/ /

# NODE_OPTIONS: scripts/image-node-options.ts says why (a young generation of 2 MiB semi-spaces: ~13 MiB less idle
# RSS per role); k8s-tests/image.test.ts checks the two agree.
ENV PATH=/usr/local/bin:/usr/bin \
    HOME=/tmp \
    NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=2 \
    MANAGEMENT_PORT=9464 \
    SHUTDOWN_TIMEOUT_MS=25000 \
    EVENTFLEET_VERSION=${VERSION}

WORKDIR /app

USER 10001:10001
EXPOSE 8080 9464
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/eventfleet"]
CMD ["--help"]

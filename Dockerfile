# The service's image: one image for every role (docs/container-image.md, docs/adr/0019).
#   docker run -p 3000:3000 -v vcs-data:/var/www/video-compression/storage vcs   → vcs serve (CMD)
#   docker run … vcs gateway   (or controller, or transcode --source … --output …) → that command
# Build: docker build -t vcs .   (podman/buildah: add --format docker, or HEALTHCHECK is dropped)
# Behind a TLS-inspecting proxy, npm needs the proxy's CA (podman/buildah):
#   -v /etc/ssl/certs:/mnt:ro --build-arg NODE_EXTRA_CA_CERTS=/mnt/ca-certificates.crt
# Mount a folder on /mnt, which exists: a file mounted at a new path stays as an empty file in the image.
ARG BASE_IMAGE=debian:trixie-slim

# --- build: npm ci (compiles better-sqlite3), tsc into dist/, then the production dependencies only
FROM ${BASE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm libnode-dev python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# node-gyp takes Node's headers from libnode-dev (/usr/include/node) instead of downloading them.
ENV npm_config_nodedir=/usr npm_config_update_notifier=false
# Unset for everyone else; a CA bundle's path when a proxy re-signs the registry's TLS.
ARG NODE_EXTRA_CA_CERTS
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs scripts/
COPY bin bin
COPY src src
COPY transcoder transcoder
COPY ui ui
# better-sqlite3 needs only its compiled addon at run time; its SQLite sources and the compiler's
# object files are 26 MB.
RUN npm run build \
 && chmod 0755 dist/bin/vcs.js \
 && npm prune --omit=dev --no-audit --no-fund \
 && cd node_modules/better-sqlite3 \
 && mv build/Release/better_sqlite3.node . \
 && rm -rf build deps src \
 && mkdir -p build/Release \
 && mv better_sqlite3.node build/Release/

# --- runtime: Node 20 and FFmpeg 7 (libx264) from Debian, tini as PID 1, the compiled service
FROM ${BASE_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs ffmpeg tini ca-certificates \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log
# uid/gid 10001 is TRANSCODER_RUN_AS_USER's default. It owns nothing but the volume folder
# (STORAGE_PATH's default); the service writes only there and to /tmp.
RUN groupadd --gid 10001 vcs \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --no-log-init vcs \
 && install -d -o 10001 -g 10001 -m 0750 /var/www/video-compression/storage
COPY --from=build /app/package.json /app/
COPY --from=build /app/node_modules /app/node_modules
COPY --from=build /app/dist /app/dist
# `vcs` on PATH: the command the Kubernetes runner's Jobs run (vcs transcode) and the entrypoint's.
RUN ln -s /app/dist/bin/vcs.js /usr/local/bin/vcs
ARG VERSION=dev
ARG SOURCE_URL=
LABEL org.opencontainers.image.title="vcs" \
      org.opencontainers.image.description="Video compression service: vcs serve, gateway, controller and transcode (Node 20, FFmpeg 7)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="MIT"
WORKDIR /app
USER 10001:10001
VOLUME ["/var/www/video-compression/storage"]
EXPOSE 3000
# The liveness route on PORT (BIND_ADDRESS must include 127.0.0.1: 0.0.0.0, the default, does).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# tini forwards SIGTERM to vcs and reaps orphaned children (FFmpeg) as PID 1.
ENTRYPOINT ["/usr/bin/tini", "--", "vcs"]
CMD ["serve"]

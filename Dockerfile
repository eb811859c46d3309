# metalboot: multi-stage build. Runtime needs host networking (DHCP broadcasts) and the iPXE
# binaries from Debian's ipxe package. Both stages use the same image, so the native modules built
# here (better-sqlite3, sockopt) match the runtime's Node ABI and glibc.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Compilers for the native modules (when no prebuilt binary fits).
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json tsconfig.client.json ./
COPY scripts/build-ui.mjs ./scripts/build-ui.mjs
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM ${NODE_IMAGE}
# ipxe: /usr/lib/ipxe, copied into the assets volume by the entrypoint. tini: PID 1, forwards
# SIGTERM to node and reaps. libcap2-bin: setcap. setpriv (util-linux) is already in the image.
RUN apt-get update && apt-get install -y --no-install-recommends ipxe tini libcap2-bin && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /app/data /app/assets && chown node:node /app/data /app/assets && chmod 0700 /app/data \
 # The entrypoint drops from root to `node`, which loses every capability; these file capabilities
 # give them back to node itself (when the container's bounding set has them: compose cap_add) so
 # it can bind ports 67/69/4011 (and 80 if asked) and send DHCP replies to clients without an address.
 && setcap cap_net_bind_service,cap_net_raw+ep "$(readlink -f /usr/local/bin/node)" \
 # `docker compose exec metalboot metalboot …` runs as root: through the entrypoint, it drops to the
 # same user as the server, so files it writes (assets pulls) stay the server's.
 && printf '#!/bin/sh\nexec /bin/sh /app/scripts/docker-entrypoint.sh "$@"\n' > /usr/local/bin/metalboot && chmod 0755 /usr/local/bin/metalboot
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# What the package ships (package.json `files`: dist, schemas, templates), plus the entrypoint.
COPY package.json ./
COPY templates ./templates
COPY schemas ./schemas
COPY scripts/docker-entrypoint.sh ./scripts/docker-entrypoint.sh
ENV NODE_ENV=production \
    METALBOOT_DATA_DIR=/app/data \
    METALBOOT_ASSETS_DIR=/app/assets \
    METALBOOT_TEMPLATES_DIR=/app/templates
# No USER: the entrypoint starts as root only to create and chown the (bind-mounted) data and assets
# directories, then runs metalboot as `node` (uid 1000, or PUID/PGID) with setpriv. With compose
# `user:` set it skips that and runs as that user directly.
VOLUME ["/app/data", "/app/assets"]
# Informational (host networking publishes nothing): HTTP, Talos kernel logs and events, TFTP, DHCP, PXE.
EXPOSE 8080 4001 4002 69/udp 67/udp 4011/udp
# Through sh: works whatever mode the checkout gave the script.
ENTRYPOINT ["/usr/bin/tini", "--", "/bin/sh", "/app/scripts/docker-entrypoint.sh"]
CMD ["serve"]

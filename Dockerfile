# metalboot: multi-stage build. Runtime needs host networking (DHCP broadcasts) and the iPXE
# binaries from Debian's ipxe package.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ipxe tini libcap2-bin && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /app/data /app/assets && chown node:node /app/data /app/assets \
 # A non-root process does not keep capabilities granted with cap_add unless the binary carries
 # them: let node bind ports 67/69/4011 and send DHCP replies to clients without an address.
 && setcap cap_net_bind_service,cap_net_raw+ep "$(readlink -f /usr/local/bin/node)"
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY templates ./templates
COPY schemas ./schemas
ENV NODE_ENV=production \
    METALBOOT_DATA_DIR=/app/data \
    METALBOOT_ASSETS_DIR=/app/assets \
    METALBOOT_TEMPLATES_DIR=/app/templates
# Non-root; the compose file grants only the capabilities DHCP/TFTP ports need.
USER node
VOLUME ["/app/data", "/app/assets"]
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/cli/main.js"]
CMD ["serve"]

# ircd in a container: docker build -t ircd . && docker run -p 6667:6667 ircd
# Config: mount a folder with ircd.toml (and motd.txt) on /etc/ircd; data lives in /var/lib/ircd.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 builds its native addon from source when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY panel ./panel
COPY deploy/docker/ircd.toml /etc/ircd/ircd.toml
COPY motd.txt /etc/ircd/motd.txt
# The image's "node" user (uid 1000) runs the server; it owns only the data folder.
RUN mkdir -p /var/lib/ircd && chown node:node /var/lib/ircd
USER node
VOLUME ["/etc/ircd", "/var/lib/ircd"]
EXPOSE 6667 9667
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9667/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Logs are JSON lines on stdout (docker logs). SIGTERM stops gracefully; SIGHUP reloads the config.
# /RESTART exits with status 75 in a container (it sees /.dockerenv): run the container with a
# restart policy (docker run --restart unless-stopped, or on-failure) so that Docker starts it again.
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["--config", "/etc/ircd/ircd.toml"]

# Davenport on Node.js 20. Data (blobs, and the embedded store when DATABASE_URL is unset) in /data.
FROM node:20-bookworm-slim
# pg_dump and psql for `npm run backup` / `restore` (Debian bookworm ships PostgreSQL 15's).
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev && mkdir -p /data && chown node:node /data
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 DATA_DIR=/data
USER node
EXPOSE 8080
VOLUME ["/data"]
# The V8 flags of src/node-flags.ts, as `npm start` gives them.
CMD ["node", "--initial-old-space-size=64", "--no-liftoff", "dist/main.js"]

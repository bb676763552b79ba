# syntax=docker/dockerfile:1
# ConcertMaster as one static binary in a distroless image, running as a non-root user
# (docs/deploy.md).
#
#   docker build -t concertmaster --build-arg VERSION="$(git describe --tags --always --dirty)" .
#   docker run -p 8080:8080 -v cm-data:/data concertmaster            # embedded: SQLite in /data
#
# The same image runs `serve --role=api` and `worker` on PostgreSQL (deploy/docker-compose.yml).

# 1. The web editor (embedded in the binary).
FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# 2. The binary: static (CGO_ENABLED=0, no libc), with the Makefile's build flags.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=web /src/web/dist ./web/dist
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/concertmaster ./cmd/concertmaster \
	&& mkdir -p /out/data/files

# 3. The image: distroless "static" holds CA certificates, tzdata and a passwd with the nonroot user
#    (uid 65532), and no shell.
FROM gcr.io/distroless/static-debian12:nonroot AS final
COPY --from=build /out/concertmaster /usr/local/bin/concertmaster
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /data
ENV CM_ADDR=0.0.0.0:8080 \
	CM_DATABASE_URL=sqlite:///data/concertmaster.db \
	CM_FILES_DIR=/data/files \
	CM_LOG_FORMAT=json
EXPOSE 8080
VOLUME ["/data"]
# No HEALTHCHECK: the image has no shell or HTTP client to run one. Orchestrators probe the server
# themselves: GET /healthz (liveness: the process serves) and GET /readyz (readiness: the store
# answers) on port 8080. A worker serves no HTTP: watch its process (it exits non-zero on failure).
ENTRYPOINT ["/usr/local/bin/concertmaster"]
CMD ["serve"]

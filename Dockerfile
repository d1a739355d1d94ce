# syntax=docker/dockerfile:1

# Build a static binary: no cgo, so it runs on distroless/static. The zone
# database is embedded (time/tzdata), so DEBRIEF_TZ works without one in
# the image.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/debrief ./cmd/debrief
# The data directory is created here because the final image has no shell.
# It goes through a staging root so that COPY --chown applies to /data
# itself, not only to its (empty) contents.
RUN mkdir -p /out/rootfs/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/debrief /debrief
# 65532 is distroless's nonroot user, which the image runs as.
COPY --from=build --chown=65532:65532 /out/rootfs/ /
ENV DEBRIEF_DB=/data/debrief.db \
    DEBRIEF_ADDR=0.0.0.0:8080
VOLUME /data
EXPOSE 8080
USER 65532:65532
# The image has no shell or curl: the binary probes itself (GET /healthz on
# DEBRIEF_ADDR; exit 0 when ready, 1 when not).
HEALTHCHECK --interval=30s --timeout=10s --start-period=15s --retries=3 CMD ["/debrief", "healthcheck"]
# debrief is PID 1 here: it handles SIGTERM (docker stop) and SIGINT itself,
# finishes within 8 s, inside docker stop's default 10 s grace; a second
# signal ends a stuck shutdown at once.
STOPSIGNAL SIGTERM
# Without a terminal the console reads end of input at once and debrief
# keeps serving HTTP; run with -it to use the console.
ENTRYPOINT ["/debrief"]
CMD ["serve"]

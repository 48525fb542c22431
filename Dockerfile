# dmq in a container: Debian 12 packages only (docs/operations.md, "Docker").
#
#   docker build -t dmq .
#   docker run -d --name dmq -p 8989:8989 -v dmq-data:/var/lib/dmq --stop-timeout 30 dmq
#   docker run ... -v /srv/dmq/config:/etc/dmq:ro dmq      # your own configuration
#
# Stage 1 builds build/dmq with the build packages of scripts/setup.sh's DEPS (its test,
# lint, fuzz and proxy packages left out); stage 2 is a slim runtime with only the shared
# libraries dmq links, redis-server for the embedded Redis, tini as PID 1, and curl for the
# health check. dmq runs as the unprivileged user dmq; its data is the volume /var/lib/dmq.

FROM debian:12 AS build
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev \
      libhiredis-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDMQ_TESTS=OFF \
 && cmake --build /build --target dmq \
 && strip /build/dmq \
 && /build/dmq --version

FROM debian:12-slim
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libboost-json1.81.0 libboost-url1.81.0 libhiredis0.14 libyaml-cpp0.7 libspdlog1.10 \
      libfmt9 libssl3 ca-certificates redis-server tini curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/dmq --shell /usr/sbin/nologin dmq \
 && install -d -o dmq -g dmq -m 0750 /var/lib/dmq
COPY --from=build /build/dmq /usr/local/bin/dmq
# Backup and restore of the embedded Redis (bash, redis-cli, flock: all in the image).
COPY scripts/redis-backup.sh /usr/local/bin/dmq-redis-backup
COPY scripts/redis-restore.sh /usr/local/bin/dmq-redis-restore
# The example configuration, made fit for a container: listen on every address (the
# port is published by docker run -p), the embedded Redis's data in the volume, logs to
# stderr (docker logs). allow_ip still names loopback only: mount your own /etc/dmq with
# the producers' addresses (as dmq sees them through Docker's network) or tokens.
COPY config/ /etc/dmq/
RUN sed -i -e 's|^  listen: 127\.0\.0\.1 |  listen: 0.0.0.0 |' \
           -e 's|^  data_dir: data/redis |  data_dir: /var/lib/dmq/redis |' \
           -e 's|^  dir: logs |  dir: "" |' /etc/dmq/config.yaml \
 && grep -q '^  listen: 0.0.0.0 ' /etc/dmq/config.yaml \
 && grep -q '^  data_dir: /var/lib/dmq/redis ' /etc/dmq/config.yaml \
 && grep -q '^  dir: "" ' /etc/dmq/config.yaml \
 && rm -rf /etc/dmq/data /etc/dmq/logs \
 && dmq check /etc/dmq

USER dmq
WORKDIR /var/lib/dmq
VOLUME /var/lib/dmq
EXPOSE 8989
# /healthz is open (no token); 503 while Redis is down or refused, or no id node is leased.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS -o /dev/null http://127.0.0.1:8989/healthz || exit 1
# tini reaps what dmq does not (it reaps its redis-server itself) and passes SIGTERM on:
# dmq then stops in order (requests and deliveries in flight get up to 10 s each), hence
# docker run --stop-timeout 30 (docker stop's default is 10 s, then SIGKILL).
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/dmq"]
CMD ["run", "/etc/dmq"]

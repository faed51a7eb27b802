# syntax=docker/dockerfile:1
# compensatord's container image: built on Debian bookworm by the same scripts CI runs
# (scripts/install-deps.sh, scripts/build.sh), run as a non-root user with only the shared
# libraries the binary links.
#   docker build -t compensatord:0.1.0 .

FROM debian:bookworm-slim AS build
WORKDIR /src
# The package list alone first, so that source changes do not reinstall the toolchain.
COPY scripts/install-deps.sh scripts/
RUN DEPS=build bash scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
# TESTS=OFF: the image needs the daemon only (scripts/demo.sh builds the same way); CI builds and
# runs the tests from the same sources.
RUN DEPS=build BUILD_DIR=/build BUILD_TYPE=RelWithDebInfo TESTS=OFF bash scripts/build.sh \
 && strip --strip-debug -o /compensatord /build/daemon/compensatord
# The runtime packages are those owning the libraries the binary links: derived, not listed,
# so a new dependency cannot be forgotten here.
RUN for lib in $(ldd /compensatord | awk '/=> \//{print $3}'); do \
      dpkg -S "$lib" 2>/dev/null || dpkg -S "$(realpath "$lib")"; \
    done | cut -d: -f1 | sort -u >/runtime-packages \
 && test -s /runtime-packages

FROM debian:bookworm-slim AS runtime
COPY --from=build /runtime-packages /tmp/runtime-packages
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      ca-certificates $(cat /tmp/runtime-packages) \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages \
 && groupadd --system --gid 10001 compensatord \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin compensatord
COPY --from=build /compensatord /usr/local/bin/compensatord
# Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
EXPOSE 8080 9464
ENTRYPOINT ["/usr/local/bin/compensatord"]
CMD ["run", "--config", "/etc/compensatord/compensatord.yaml"]

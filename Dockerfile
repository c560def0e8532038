# syntax=docker/dockerfile:1
# mtastsd container image: build with the same scripts and CMake build as the tests,
# run from debian:12-slim with scripts/rootfs's tree (the binary, its shared libraries,
# the public suffix list, the configs, passwd/group for uid 10001) copied over it.
#   docker build -t mtastsd .
#   docker run -p 443:8443 -v $PWD/certs:/etc/mtastsd/certs:ro -v $PWD/mtastsd.yaml:/etc/mtastsd/mtastsd.yaml:ro \
#              -v mtastsd-state:/var/lib/mtastsd --read-only mtastsd

FROM debian:12-slim AS build
WORKDIR /src
COPY scripts/install-deps scripts/install-deps
RUN ./scripts/install-deps build
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTS=OFF -DENABLE_WERROR=ON \
 && cmake --build /build -j"$(nproc)" \
 && strip /build/mtastsd \
 && ./scripts/rootfs /build/mtastsd /rootfs \
 && ./scripts/runtime-packages /build/mtastsd >/build/runtime-packages

# The DNS publisher of config/kubernetes: mtastsd beside nsupdate and a shell, its libraries
# from apt (the packages scripts/runtime-packages found). Only built when asked for:
#   docker build --target tools -t mtastsd-tools .
FROM debian:12-slim AS tools
COPY --from=build /build/runtime-packages /tmp/runtime-packages
RUN apt-get update -qq \
 && xargs -a /tmp/runtime-packages apt-get install -y -qq --no-install-recommends bind9-dnsutils ca-certificates publicsuffix \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages
COPY --from=build /build/mtastsd /usr/sbin/mtastsd
USER 10001:10001
ENV MTASTSD_CONFIG=/etc/mtastsd/mtastsd.yaml

# The server image (the last stage: what `docker build .` gives)
FROM debian:12-slim
COPY --from=build /rootfs/ /
USER 10001:10001
EXPOSE 8443 8080 9100
VOLUME ["/etc/mtastsd", "/var/lib/mtastsd"]
ENV MTASTSD_CONFIG=/etc/mtastsd/mtastsd.yaml
# bash's /dev/tcp keeps the image free of an HTTP client
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9100 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/sbin/mtastsd"]
CMD ["serve"]

# syntax=docker/dockerfile:1
# Multi-stage: build with the pinned Rust toolchain, run on a small distroless image as non-root.
# Base images are pinned by tag. Pin them by digest too (`FROM image:tag@sha256:…`) in your
# registry mirror: digests cannot be looked up from the machines this repository is built on.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
# With the default `simulators` feature: the image's default file is the demo config, which needs
# them. An image that only ever runs its own config may build with `--no-default-features`.
RUN cargo build --release --locked --bin checkout-gateway

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/checkout-gateway /usr/local/bin/checkout-gateway
COPY --from=build /src/config /etc/checkout-gateway
# Listen on all interfaces inside the container; mount your own config over the default.
# The default file is the demo (built-in simulators, the README's published tenant key): the
# gateway refuses to serve that key on 0.0.0.0, so the bare image does not start until you
# mount your own config, or ask for the demo explicitly with `-e CHECKOUT_GATEWAY_DEMO=1`.
ENV CHECKOUT_GATEWAY_CONFIG=/etc/checkout-gateway/gateway.toml \
    CHECKOUT_GATEWAY__SERVER__LISTEN=0.0.0.0:8080 \
    CHECKOUT_GATEWAY__SERVER__LOG_FORMAT=json
# The distroless `nonroot` user, numeric so Kubernetes can verify runAsNonRoot.
USER 65532:65532
EXPOSE 8080
# Distroless has no shell or curl: the binary checks itself (GET http://127.0.0.1:8080/healthz,
# exit 0 on 2xx). Kubernetes ignores HEALTHCHECK and uses the probes in deploy/kubernetes/.
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/checkout-gateway", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/checkout-gateway"]
CMD ["serve"]

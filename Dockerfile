# syntax=docker/dockerfile:1
# Multi-stage: build with the pinned Rust toolchain, run on a small distroless image as non-root.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin checkout-gateway

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/checkout-gateway /usr/local/bin/checkout-gateway
COPY --from=build /src/config /etc/checkout-gateway
# Listen on all interfaces inside the container; mount your own config over the default.
ENV CHECKOUT_GATEWAY_CONFIG=/etc/checkout-gateway/gateway.toml \
    CHECKOUT_GATEWAY__SERVER__LISTEN=0.0.0.0:8080 \
    CHECKOUT_GATEWAY__SERVER__LOG_FORMAT=json
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/checkout-gateway"]
CMD ["serve"]

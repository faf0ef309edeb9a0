# Cano's container image. Not built in CI (no container engine there): build it with
#   docker build -t cano:0.1.0 .
# Offline at run time: npm dependencies, the type-check cache and esbuild (used by
# `deno bundle` to build the sandbox's SDK bundle at start-up) are cached at build time, and
# the engine runs with --cached-only. The root filesystem can be read-only: the chart mounts
# an emptyDir at /tmp (sandbox work dir) and the state volume.
FROM denoland/deno:debian-2.9.6

# prlimit (util-linux) caps sandbox children's memory beyond the V8 heap.
RUN apt-get update \
  && apt-get install -y --no-install-recommends util-linux \
  && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV DENO_DIR=/deno-dir DENO_NO_UPDATE_CHECK=1 LOG_FORMAT=json
COPY deno.json deno.lock ./
COPY main.ts ./
COPY engine/ engine/
COPY sdk/ sdk/
COPY builtin-workflows/ builtin-workflows/
# Dependencies (frozen to deno.lock), then a type check that fills the check cache, then one
# bundle of the SDK so that esbuild's npm package is in DENO_DIR for the sandbox at run time.
RUN deno install --frozen --entrypoint main.ts \
  && deno check main.ts sdk/mod.ts \
  && deno bundle --quiet --config=deno.json --platform=deno --output=/tmp/sdk.js sdk/mod.ts \
  && rm /tmp/sdk.js \
  && chmod -R a+rX /deno-dir /app

USER deno
EXPOSE 8080
ENTRYPOINT ["deno", "run", "--allow-all", "--cached-only", "--frozen", "main.ts", "serve"]

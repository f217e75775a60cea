# syntax=docker/dockerfile:1
# The netform image: the controller (`netform controller ...`) and the host agent
# (`netform agent --cluster ...`) from one image, ghcr.io/netform/netform:<package.json version>.
#
#   docker build -t ghcr.io/netform/netform:0.1.0 .
#
# NOT BUILT IN THIS REPOSITORY'S CI: the development machines have a docker client but no container
# engine (no docker daemon, podman or buildah), so this file has never been built here. What the
# test suite does check (test/manifests/dockerfile.test.ts): every COPY source exists, every program
# the host agent runs comes from a package installed below, and every module the runtime imports is
# a production dependency (so `npm ci --omit=dev` is enough).
#
# netform is TypeScript run by Node's own type stripping: there is no build step, the image carries
# the sources. Node 24 comes from the base image (the `node` devDependency is not needed in it).
FROM node:24-slim

# What the host agent executes (src/drivers/host/*.ts): `ip` (iproute2) for every read and write of
# links, addresses, bonds, bridges and VLANs; `ping` (iputils-ping) for the Host's probes; `grep`
# (already in the base image) for link speeds in sysfs. Open vSwitch is driven over its OVSDB socket
# (JSON-RPC), never through ovs-vsctl, so no openvswitch package is needed.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iproute2 iputils-ping \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV NODE_ENV=production

COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# The runtime: the CLI shim, the sources, and the CRDs (the validators are compiled from them); the
# console's browser app (served as it is; its libraries, elkjs and @tanstack/virtual-core, are
# production dependencies, served from node_modules).
COPY bin ./bin
COPY src ./src
COPY crds ./crds
COPY console ./console

# Node's compile cache, filled once here (ADR 29): no start of the image loads the type stripper
# (about 20 MB of RSS) or compiles the sources again.
RUN node bin/warm-compile-cache.mjs

# Non-root by default (the controller); the agent's DaemonSet runs it as root with NET_ADMIN/NET_RAW.
USER node

ENTRYPOINT ["node", "bin/netform.mjs"]

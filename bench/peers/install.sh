#!/usr/bin/env bash
# Installs the peer systems of the peer benchmark (OrbitDB, Automerge Repo, GUN and their
# libp2p/Helia stack) into bench/peers/node_modules, apart from rumordb's own dependencies:
# the root `npm ci` never runs this. Idempotent: a stamp of the lock file's hash skips the
# install when node_modules already matches it.
#
# --ignore-scripts: no peer needs an install script here (level ships prebuilt binaries),
# and some in their trees (a WebRTC module that Helia's default install pulls) fail to
# build on this machine.
# package.json overrides cbor-extract (an optional native speed-up of cbor-x, which
# Automerge Repo uses) to 2.2.2: the registry reachable here lacks the platform packages
# of 2.2.3, which leaves a lock file that `npm ci` rejects.
set -euo pipefail
cd "$(dirname "$0")"

stamp=node_modules/.rumordb-peers-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -f $stamp && "$(cat "$stamp")" == "$want" ]]; then
  echo "bench/peers: dependencies already installed"
  exit 0
fi
npm ci --ignore-scripts --no-audit --no-fund
echo "$want" >"$stamp"
echo "bench/peers: dependencies installed"

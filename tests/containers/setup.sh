#!/usr/bin/env bash
# Everything `make test-containers` needs on a fresh Debian bookworm machine, as root; each step is skipped when done:
#   1. docker.io (dockerd), docker-registry, debootstrap and docker-compose (for sagemaker-local) from Debian;
#   2. dockerd, started in the background when `docker info` fails (no systemd here);
#   3. a registry on 127.0.0.1:5000 standing in for ECR (no auth, local storage);
#   4. a base image built with debootstrap + `docker import`, because no base image can be pulled here. It carries
#      this machine's CA bundle so that pip inside `docker build` trusts the same TLS roots as the host.
set -euo pipefail

BASE_IMAGE="${BASE_IMAGE:-deepfake/test-base:bookworm}"
REGISTRY_ADDR="${REGISTRY_ADDR:-127.0.0.1:5000}"
STATE_DIR="${STATE_DIR:-/var/lib/deepfake-test-containers}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
HOST_CA_BUNDLE="${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
BASE_PACKAGES="python3.11,python3.11-venv,python3-venv,python3-pip,ca-certificates"

say() { echo "setup: $*"; }

wait_for() {  # wait_for <seconds> <command...>
    local deadline=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then return 1; fi
        sleep 1
    done
}

if [[ $(id -u) -ne 0 ]]; then
    echo "setup: run as root (it installs packages and starts dockerd)" >&2
    exit 1
fi
mkdir -p "$STATE_DIR"

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v docker-compose >/dev/null || missing+=(docker-compose)  # the SageMaker SDK's local mode calls it
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
    say "starting dockerd (log: $STATE_DIR/dockerd.log)"
    nohup dockerd >"$STATE_DIR/dockerd.log" 2>&1 &
    wait_for 60 docker info || { echo "setup: dockerd did not start; see $STATE_DIR/dockerd.log" >&2; exit 1; }
fi

if ! wait_for 1 python3 -c "import urllib.request; urllib.request.urlopen('http://$REGISTRY_ADDR/v2/', timeout=2)"; then
    say "starting docker-registry on $REGISTRY_ADDR (log: $STATE_DIR/registry.log)"
    cat >"$STATE_DIR/registry.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $STATE_DIR/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
YAML
    nohup docker-registry serve "$STATE_DIR/registry.yml" >"$STATE_DIR/registry.log" 2>&1 &
    wait_for 30 python3 -c "import urllib.request; urllib.request.urlopen('http://$REGISTRY_ADDR/v2/', timeout=2)" \
        || { echo "setup: the registry did not start; see $STATE_DIR/registry.log" >&2; exit 1; }
fi

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    say "building $BASE_IMAGE with debootstrap (a few minutes)"
    rootfs=$(mktemp -d "$STATE_DIR/rootfs.XXXXXX")
    trap 'rm -rf --one-file-system "$rootfs"' EXIT  # never into a /proc or /sys left mounted inside it
    debootstrap --variant=minbase --include="$BASE_PACKAGES" bookworm "$rootfs" "$DEBIAN_MIRROR" \
        >"$STATE_DIR/debootstrap.log" 2>&1 \
        || { echo "setup: debootstrap failed; see $STATE_DIR/debootstrap.log" >&2; exit 1; }
    cp "$HOST_CA_BUNDLE" "$rootfs/etc/ssl/host-ca-bundle.crt"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'ENV PIP_CERT=/etc/ssl/host-ca-bundle.crt' \
        --change 'ENV SSL_CERT_FILE=/etc/ssl/host-ca-bundle.crt' \
        --change 'ENV REQUESTS_CA_BUNDLE=/etc/ssl/host-ca-bundle.crt' \
        --change 'CMD ["python3"]' \
        - "$BASE_IMAGE" >/dev/null
fi
say "ready: dockerd, registry $REGISTRY_ADDR, base image $BASE_IMAGE"

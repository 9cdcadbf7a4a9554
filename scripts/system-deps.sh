#!/usr/bin/env bash
# Install the Debian packages the test suite uses (real servers, not mocks):
# prometheus (trigger sources), chromium (widget browser test), wrk (bench), PostgreSQL 15
# server binaries (backup verification), docker.io and busybox-static (the Docker deployment
# backend against a dockerd the tests start, images built from scratch), debootstrap and
# docker-compose (the staging stack: a Debian base image from Debian's packages, compose up).
# Skips what is already there; needs root for apt.
set -euo pipefail
need=()
command -v prometheus >/dev/null || need+=(prometheus)
command -v chromium >/dev/null || need+=(chromium)
command -v wrk >/dev/null || need+=(wrk)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v psql >/dev/null || need+=(postgresql-client)
command -v dockerd >/dev/null || need+=(docker.io)
file -L /bin/busybox 2>/dev/null | grep -q "statically linked" || need+=(busybox-static)
command -v debootstrap >/dev/null || need+=(debootstrap)        # the staging stack's base image
command -v docker-compose >/dev/null || need+=(docker-compose)  # brings the staging stack up
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "system-deps: missing ${need[*]}; run as root or install them (tests needing them will skip)" >&2
  exit 0
fi
echo "system-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts a prometheus service on install on systems with an init; we start our own.

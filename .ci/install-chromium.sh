#!/usr/bin/env bash
# Headless Chromium for the web UI's browser tests (package ui, chromedp).
# Idempotent and quiet; Debian's package (bookworm: 156.x). As root the tests
# start it with --no-sandbox.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
chromium --version

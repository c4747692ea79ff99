#!/usr/bin/env bash
# Install Debian's Chromium for the dashboard's browser tests (Playwright drives /usr/bin/chromium;
# no browser is downloaded from elsewhere). Idempotent; a no-op when Chromium is there already.
set -uo pipefail
if command -v chromium >/dev/null 2>&1; then
  echo "chromium: $(chromium --version 2>/dev/null | head -1)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
if command -v apt-get >/dev/null 2>&1; then
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    chromium chromium-driver >/dev/null || echo "chromium: could not install (browser tests skip)"
else
  echo "chromium: no apt-get here (browser tests skip)"
fi
exit 0

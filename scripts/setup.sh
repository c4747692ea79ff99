#!/usr/bin/env bash
# Create .venv with factoryos and its development tools (idempotent; reuses an existing venv).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
# pysparkplug (an independent Sparkplug B implementation, for the interoperability test) pins
# paho-mqtt < 2 for its client; only its payload classes are used, so install it without deps.
.venv/bin/python -m pip install --quiet --no-deps 'pysparkplug==0.6.1'
# A CJK font for zh-CN PDF reports (factoryos assess --pdf --lang zh-CN); Debian's package, when
# none is installed and apt is at hand (root, as on CI and the developers' machines).
if ! fc-list :lang=zh 2>/dev/null | grep -q . && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk) \
    >/dev/null 2>&1 || echo "setup: could not install fonts-noto-cjk; zh-CN PDFs will be refused"
fi
# wrk (a compiled HTTP load generator) is the 20 concurrent clients of bench/api.py: a Python
# client starved of CPU on a busy box measured itself, not the server (docs/api.md).
if ! command -v wrk >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) \
    >/dev/null 2>&1 || echo "setup: could not install wrk; bench/api.py will say so"
fi

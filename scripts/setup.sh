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

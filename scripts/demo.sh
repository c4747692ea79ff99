#!/usr/bin/env bash
# Set up, then run the main job: validate the robot plant, import an example event log, print KPIs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
rm -f out/demo.duckdb
.venv/bin/factoryos validate examples/robot_factory.yaml --year 2026 --demand 10000
.venv/bin/factoryos import examples/events_3days.csv --db out/demo.duckdb --plant examples/robot_factory.yaml --rejects out/demo.rejects.csv
.venv/bin/factoryos kpi --db out/demo.duckdb --plant examples/robot_factory.yaml --by day

#!/usr/bin/env bash
# Set up, then run the main job: validate the robot plant, import an example event log and print
# its KPIs, plan an order book on the plant (CP-SAT), then let the digital twin run a month of the
# plant and print KPIs and the bottleneck.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
rm -f out/example.duckdb out/twin.duckdb
.venv/bin/factoryos validate examples/robot_factory.yaml --year 2026 --demand 10000
.venv/bin/factoryos import examples/events_3days.csv --db out/example.duckdb \
    --plant examples/robot_factory.yaml --rejects out/example.rejects.csv
.venv/bin/factoryos kpi --db out/example.duckdb --plant examples/robot_factory.yaml --by day \
    --chart out/example_kpi.png
.venv/bin/factoryos schedule examples/robot_factory.yaml examples/orders_small.csv \
    --time-limit 10 --out out/plan
.venv/bin/factoryos demo --db out/twin.duckdb

#!/usr/bin/env bash
# Set up, then run the main job: validate the robot plant, import an example event log and print
# its KPIs, plan an order book on the plant (CP-SAT), then let the digital twin run a month of the
# plant and print KPIs and the bottleneck. Then it goes live: the plant's twin runs in real time
# (60x, from a Tuesday 10:00 of the example week) with the live loop re-planning on breakdowns,
# behind the dashboard and API at http://127.0.0.1:8000/ until Ctrl-C, or for N seconds
# with `--for N` or FACTORYOS_SERVE_FOR=N (60 s by default when not run from a terminal).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
rm -f out/example.duckdb out/twin.duckdb out/live.duckdb out/live.duckdb.wal
SERVE_FOR="${FACTORYOS_SERVE_FOR:-}"
if [ "${1:-}" = "--for" ]; then SERVE_FOR="${2:?--for needs seconds}"; fi
if [ -z "$SERVE_FOR" ] && [ ! -t 0 ]; then SERVE_FOR=60; fi
PORT="${FACTORYOS_PORT:-8000}"
.venv/bin/factoryos validate examples/robot_factory.yaml --year 2026 --demand 10000
.venv/bin/factoryos import examples/events_3days.csv --db out/example.duckdb \
    --plant examples/robot_factory.yaml --rejects out/example.rejects.csv
.venv/bin/factoryos kpi --db out/example.duckdb --plant examples/robot_factory.yaml --by day \
    --chart out/example_kpi.png
.venv/bin/factoryos schedule examples/robot_factory.yaml examples/orders_small.csv \
    --time-limit 10 --out out/plan
.venv/bin/factoryos demo --db out/twin.duckdb
.venv/bin/factoryos users add demo --password factoryos-demo --db out/live.duckdb
.venv/bin/factoryos users grant demo admin jiading --db out/live.duckdb \
    --plant examples/robot_factory.yaml
echo "Live: open http://127.0.0.1:${PORT}/ and sign in as demo / factoryos-demo"
# The live loop repairs the plan when a planned unit breaks down (page "Live loop"); with a
# broker on loopback the cells' dispatch lists go to factoryos/jiading/dispatch/<unit path>.
LOOP=(--loop auto)
if (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then LOOP+=(--loop-broker mqtt://127.0.0.1:1883); fi
# the twin starts on a working morning of the example data's week (so the plant is busy at once)
.venv/bin/factoryos serve --plant examples/robot_factory.yaml --db out/live.duckdb --twin \
    --twin-at 2026-03-03T10:00+08:00 --speed 60 --orders examples/orders_small.csv --port "$PORT" "${LOOP[@]}" ${SERVE_FOR:+--for "$SERVE_FOR"}

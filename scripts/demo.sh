#!/usr/bin/env bash
# Set up, then run the main job: validate the robot plant, import an example event log and print
# its KPIs, plan an order book on the plant (CP-SAT), then let the digital twin run a month of the
# plant and print KPIs and the bottleneck. Then it goes live behind the dashboard and API at
# http://127.0.0.1:8000/ until Ctrl-C, or for N seconds with `--for N` or FACTORYOS_SERVE_FOR=N
# (60 s by default when not run from a terminal): the twin publishes the plant as a Sparkplug B
# virtual plant to the MQTT broker (FACTORYOS_BROKER, default mqtt://127.0.0.1:1883; 3600x, from
# the Monday of the example week) and the server ingests it into its store, as it would a real
# plant's edge nodes. Without a broker the twin runs inside the server instead (60x), with a note.
# Either way the live loop re-plans when a planned unit breaks down (page "Live loop").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
rm -f out/example.duckdb out/twin.duckdb out/live.duckdb out/live.duckdb.wal \
    out/live.ingest.duckdb out/live.ingest.duckdb.wal
SERVE_FOR="${FACTORYOS_SERVE_FOR:-}"
if [ "${1:-}" = "--for" ]; then SERVE_FOR="${2:?--for needs seconds}"; fi
if [ -z "$SERVE_FOR" ] && [ ! -t 0 ]; then SERVE_FOR=60; fi
PORT="${FACTORYOS_PORT:-8000}"
BROKER="${FACTORYOS_BROKER:-mqtt://127.0.0.1:1883}"
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
# the live loop repairs the plan when a planned unit breaks down (page "Live loop")
SERVE=(.venv/bin/factoryos serve --plant examples/robot_factory.yaml --db out/live.duckdb
    --orders examples/orders_small.csv --port "$PORT" --loop auto ${SERVE_FOR:+--for "$SERVE_FOR"})
ADDRESS="${BROKER#mqtt://}"
if (exec 3<>"/dev/tcp/${ADDRESS%:*}/${ADDRESS##*:}") 2>/dev/null; then
    # the cells' dispatch lists go to factoryos/jiading/dispatch/<unit path> on the broker
    SERVE+=(--loop-broker "$BROKER")
    echo "Live data through MQTT: the twin publishes a Sparkplug B virtual plant to $BROKER" \
        "(log: out/publish.log); the server ingests it"
    # The publisher starts beside the server, not after it: a busy machine takes many seconds to
    # start either. Its births go out before the server's ingester subscribes; the ingester then
    # sees data without a birth and asks for a rebirth (NCMD), which the twin's edge nodes answer,
    # and the data is stored from there on.
    (
        cd out
        exec ../.venv/bin/factoryos simulate ../examples/robot_factory.yaml --days 7 \
            --start 2026-03-02 --publish "$BROKER" --speed 3600 >publish.log 2>&1
    ) &
    PUBLISHER=$!
    trap 'kill "$PUBLISHER" 2>/dev/null || true' EXIT
    "${SERVE[@]}" --ingest examples/ingest/robot_twin.yaml --broker "$BROKER"
else
    echo "note: no MQTT broker answers at $BROKER (bash scripts/services.sh starts Mosquitto):" \
        "the twin runs inside the server instead"
    # the twin starts on a working morning of the example data's week (so the plant is busy)
    "${SERVE[@]}" --twin --twin-at 2026-03-03T10:00+08:00 --speed 60
fi

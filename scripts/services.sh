#!/usr/bin/env bash
# Make sure the loopback services the integration tests use are running (start any that stopped).
# Tests that need a service skip with a reason when it is truly absent from the machine.
set -uo pipefail
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if ! up 5432 && command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
if ! up 1883 && command -v mosquitto >/dev/null; then
  mosquitto -d -c /etc/mosquitto/mosquitto.conf || true
fi
for port in 5432 1883; do
  if up "$port"; then echo "service on 127.0.0.1:$port: up"; else echo "service on 127.0.0.1:$port: absent"; fi
done
exit 0

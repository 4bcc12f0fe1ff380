# Sourced by .ci/kafka-e2e and benches/kafka_live.sh: a real Kafka broker (tansu, from crates.io,
# installed once per machine into $TOOLS) on 127.0.0.1:$PORT, in-memory storage.
#   start_tansu PORT LOGFILE   sets TANSU_PID; the caller kills it.
TOOLS="${ODDSFLOW_TOOLS:-$HOME/.cache/oddsflow-tools}"
TANSU_VERSION=0.6.0

start_tansu() {
  local port="$1" log="$2"
  if ! "$TOOLS/bin/tansu" --version 2>/dev/null | grep -q "$TANSU_VERSION"; then
    echo "installing tansu $TANSU_VERSION into $TOOLS (once per machine, about 15 minutes)" >&2
    cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore --root "$TOOLS" >&2
  fi
  "$TOOLS/bin/tansu" broker --listener-url "tcp://127.0.0.1:$port" \
    --advertised-listener-url "tcp://127.0.0.1:$port" --storage-engine memory://tansu/ \
    >"$log" 2>&1 &
  TANSU_PID=$!
  for _ in $(seq 1 100); do
    (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "tansu did not start on port $port:" >&2
  cat "$log" >&2
  return 1
}

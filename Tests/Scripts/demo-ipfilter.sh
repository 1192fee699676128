#!/usr/bin/env bash
# make demo, the ipfilter part: a firewall in a network namespace made for
# the demo (a veth pair to a second one, a real TCP listener), driven by
# fshost: start, each monitoring level, a fault caught (a rule deleted by
# hand), restart, stop. Removes its namespaces and listener, even on failure.
#   Tests/Scripts/demo-ipfilter.sh BIN_DIR   (FSHOST_* from demo.sh, or a fresh temp set)
set -uo pipefail
bin=$(cd "$1" && pwd)
fshost="$bin/fshost"
work=$(mktemp -d /tmp/fshost-demo-ipf.XXXXXX); chmod 755 "$work"
: "${FSHOST_CDB:=$work/cdb.sqlite}" "${FSHOST_RUN_DIR:=$work/run}" "${FSHOST_STATE_DIR:=$work/state}"
export FSHOST_PLUGIN_PATH=$bin FSHOST_CDB FSHOST_RUN_DIR FSHOST_STATE_DIR
server=fsdemo-fw-$$ client=fsdemo-cl-$$
listener=
cleanup() {
  "$fshost" ipfilter stop fw1 >/dev/null 2>&1
  "$fshost" cdb delete ipfilter fw1 --force >/dev/null 2>&1
  [ -n "$listener" ] && kill "$listener" 2>/dev/null && wait "$listener" 2>/dev/null
  ip netns del "$server" 2>/dev/null; ip netns del "$client" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

. "$(dirname "$0")/demo-step.sh"  # step DESCRIPTION fshost-args…
port() {  # port N: does a TCP connection from the client to the server's port N complete?
  if ip netns exec "$client" python3 -c 'import socket,sys; socket.create_connection(("10.231.9.2", int(sys.argv[1])), timeout=1).close()' "$1" 2>/dev/null
  then echo open; else echo refused; fi
}
ports() { printf '  %-44s   port 8080 %s, port 9090 %s\n' "$1" "$(port 8080)" "$(port 9090)"; }

ip netns add "$server" && ip netns add "$client" \
  && ip link add "fsdv$$a" netns "$client" type veth peer name "fsdv$$b" netns "$server" \
  && ip -n "$client" addr add 10.231.9.1/24 dev "fsdv$$a" && ip -n "$server" addr add 10.231.9.2/24 dev "fsdv$$b" \
  && ip -n "$client" link set "fsdv$$a" up && ip -n "$server" link set "fsdv$$b" up \
  && ip -n "$server" link set lo up || { echo "  !! could not make the demo's network namespaces"; exit 1; }
ip netns exec "$server" python3 -c '
import select, socket
ss = []
for p in (8080, 9090):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("10.231.9.2", p)); s.listen(16); ss.append(s)
while True:
    for s in select.select(ss, [], [])[0]:
        c, _ = s.accept(); c.close()' &
listener=$!
for _ in $(seq 50); do [ "$(port 8080)" = open ] && break; sleep 0.1; done

cat > "$work/firewall.nft" <<'NFT'
table inet demo {
    set blocked { type inet_service; elements = { 9090 } }
    chain input {
        type filter hook input priority filter; policy accept;
        tcp dport @blocked counter reject with tcp reset
        tcp dport 8080 counter accept
    }
}
NFT
chmod 644 "$work/firewall.nft"
"$fshost" cdb define ipfilter fw1 ruleset="$work/firewall.nft" table=demo netns="$server" >/dev/null \
  || { echo "  !! cdb define ipfilter fw1 failed"; exit 1; }

echo "ipfilter/fw1 (table inet demo in network namespace $server; a listener on 10.231.9.2:8080 and :9090):"
"$fshost" describe ipfilter | sed -n '/MONITORING LEVELS/,/^$/p' | sed 's/^/  /'
ports "before start:"
step "exclusive (stopped)" ipfilter exclusive fw1
step "start" ipfilter start fw1
step "start again (idempotent)" ipfilter start fw1
ports "started (9090 is blocked):"
for level in 0 1; do step "monitor level $level" ipfilter monitor fw1 --level "$level"; done
step "exclusive" ipfilter exclusive fw1
handle=$(ip netns exec "$server" nft -a list chain inet demo input | sed -n 's/.*dport 8080 .*# handle \([0-9]*\)$/\1/p')
ip netns exec "$server" nft delete rule inet demo input handle "$handle"
printf '  %-44s\n' "fault: the 8080 rule is deleted by hand (nft delete rule … handle $handle)"
step "monitor level 0 (nothing to monitor)" ipfilter monitor fw1 --level 0
step "monitor level 1 (the fault caught)" ipfilter monitor fw1 --level 1
step "restart (one atomic replace)" ipfilter restart fw1
step "monitor level 1" ipfilter monitor fw1 --level 1
printf 'table inet demo {\n    chain input {\n        tcp dport 22 acept\n    }\n}\n' > "$work/bad.nft"; chmod 644 "$work/bad.nft"
"$fshost" cdb modify ipfilter fw1 ruleset="$work/bad.nft" --force >/dev/null 2>&1
step "start with a syntax error (refused)" ipfilter start fw1
printf '  %-44s   %s\n' "  its reason:" "$(grep -o 'bad.nft:[0-9]*:[0-9-]*: Error: [^|]*' "$work/log" | tail -1)"
"$fshost" cdb modify ipfilter fw1 ruleset="$work/firewall.nft" --force >/dev/null 2>&1
step "monitor level 1 (the old rules still run)" ipfilter monitor fw1 --level 1
step "stop" ipfilter stop fw1
step "stop again (idempotent)" ipfilter stop fw1
ports "stopped:"
step "monitor level 1 (stopped)" ipfilter monitor fw1 --level 1
echo
echo "  ipfilter's log lines:"
sed 's/^/    /' "$work/log"

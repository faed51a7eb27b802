# free_port: prints a loopback port that nothing listens on, below the kernel's ephemeral range.
# Sourced by scripts that start servers (bench/throughput.sh, tests/image/image_test.sh).
#
# Below the ephemeral range because a port that an outgoing connection holds as its source port
# refuses a listener although nothing listens on it ("bind: Address already in use"); after a test
# suite or a benchmark thousands of such connections exist, so a port picked from the whole range
# collides now and then.

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local port low
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range
  ((low > 11000)) || low=60000
  for _ in $(seq 1 50); do
    port=$((10000 + RANDOM % (low - 10000)))
    port_in_use "$port" || {
      echo "$port"
      return 0
    }
  done
  echo "free_port: no free port on 127.0.0.1" >&2
  return 1
}

#!/bin/bash
# mpi-netns.sh - data-parallel training across two "hosts" on one machine: two network
# namespaces joined by a virtual Ethernet pair (10.231.7.1 and 10.231.7.2 on a private /24), one
# rank in each, Open MPI's TCP transport on those addresses only (both its out-of-band channel and
# the data path). There is no ssh: mpirun runs in the first namespace and starts the second
# host's daemon through a launcher agent that runs it with `ip netns exec`. The namespaces and
# the pair are made here and removed on exit. Then one process trains the same network with the
# global batch (2 x BATCH) for the same epochs, and the two test accuracies are printed.
#   scripts/mpi-netns.sh FOVEA [EPOCHS [BATCH [OUT]]]   (FOVEA: the built fovea binary)
# Needs root, ip(8) and mpirun; exits 77 ("skipped") without them. Data: Fashion-MNIST (the
# CLI's default, or $FOVEA_DATA). FOVEA_THREADS (default 1) threads per rank.
set -u
fovea=$(realpath "$1") epochs=${2:-5} batch=${3:-32} out=${4:-runs/netns}
command -v ip >/dev/null && command -v mpirun >/dev/null && [ "$(id -u)" = 0 ] || {
    echo "skipped: needs root, ip and mpirun"; exit 77; }
ns_a=fvmpi_a$$ ns_b=fvmpi_b$$ net=10.231.7
work=$(mktemp -d) || exit 1
cleanup() {
    ip netns del "$ns_a" 2>/dev/null
    ip netns del "$ns_b" 2>/dev/null # deleting a namespace removes its end of the pair
    rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns_a" && ip netns add "$ns_b" &&
ip link add veth_a$$ netns "$ns_a" type veth peer name veth_b$$ netns "$ns_b" &&
ip -n "$ns_a" addr add $net.1/24 dev veth_a$$ && ip -n "$ns_b" addr add $net.2/24 dev veth_b$$ &&
ip -n "$ns_a" link set veth_a$$ up && ip -n "$ns_b" link set veth_b$$ up &&
ip -n "$ns_a" link set lo up && ip -n "$ns_b" link set lo up ||
    { echo "FAIL: could not make the namespaces"; exit 1; }
ip -n "$ns_a" route get $net.2 >/dev/null || { echo "FAIL: no route between the namespaces"; exit 1; }

# The launcher agent: called as `agent HOST COMMAND...` (as ssh would be), runs COMMAND in
# HOST's namespace.
cat >"$work/agent" <<AGENT
#!/bin/sh
host=\$1
shift
case \$host in $net.1) ns=$ns_a ;; $net.2) ns=$ns_b ;; *) echo "agent: unknown host \$host" >&2; exit 1 ;; esac
exec ip netns exec \$ns /bin/sh -c "\$*"
AGENT
chmod +x "$work/agent"
printf '%s slots=1\n%s slots=1\n' $net.1 $net.2 >"$work/hosts"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export FOVEA_THREADS=${FOVEA_THREADS:-1}
mkdir -p "$out"
t0=$(date +%s)
ip netns exec "$ns_a" mpirun -np 2 --hostfile "$work/hosts" --mca plm_rsh_agent "$work/agent" \
    --mca plm_rsh_no_tree_spawn 1 --mca btl tcp,self --mca btl_tcp_if_include $net.0/24 \
    --mca oob_tcp_if_include $net.0/24 -x FOVEA_THREADS ${FOVEA_DATA:+-x FOVEA_DATA} \
    "$fovea" train --epochs "$epochs" --batch "$batch" --seed 1 --out "$out/two_hosts" \
    >"$out/two_hosts.log" 2>&1 || { cat "$out/two_hosts.log"; echo "FAIL: the two-host run"; exit 1; }
t1=$(date +%s)
"$fovea" train --epochs "$epochs" --batch $((2 * batch)) --seed 1 --out "$out/one_process" \
    >"$out/one_process.log" 2>&1 || { cat "$out/one_process.log"; echo "FAIL: one process"; exit 1; }
t2=$(date +%s)
two=$(grep -o 'Test accuracy: [0-9.]*' "$out/two_hosts.log" | grep -o '[0-9.]*$')
one=$(grep -o 'Test accuracy: [0-9.]*' "$out/one_process.log" | grep -o '[0-9.]*$')
echo "two namespaces, 2 ranks x batch $batch: test accuracy $two ($((t1 - t0)) s)"
echo "one process, batch $((2 * batch)):          test accuracy $one ($((t2 - t1)) s)"
awk -v a="$two" -v b="$one" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= 0.01) }' ||
    { echo "FAIL: the accuracies differ by more than 0.01"; exit 1; }
echo "ok"

# No-op job of the benchmark for Python RQ (benchmarks/adapters/rq.ts). RQ runs each job in a forked
# work horse, so the job appends its timestamps (CLOCK_MONOTONIC ms, the clock Node's
# process.hrtime uses) to $BW_RQ_STATS: "start end latency" (latency -1 when not measured).
import os
import time


def noop(t=None, w=None):
    start = time.monotonic_ns() / 1e6
    latency = start - t if (t is not None and not w) else -1
    end = time.monotonic_ns() / 1e6
    path = os.environ.get("BW_RQ_STATS")
    if path:
        with open(path, "a") as f:
            f.write(f"{start} {end} {latency}\n")

# Python side of the RQ adapter (benchmarks/adapters/rq.ts): enqueue paths, fill and the worker,
# on queue "bench" (RQ's fixed "rq:" key prefix). Usage: rq_helper.py PORT COMMAND JSON-ARGS.
# Prints JSON lines on stdout; the worker prints {"ready": true} before it starts working.
import json
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from redis import Redis  # noqa: E402
from rq import Queue, Worker  # noqa: E402

from rq_jobs import noop  # noqa: E402

QUEUE = "bench"
BULK_CHUNK = 1000


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def mono_ms():
    return time.monotonic_ns() / 1e6


def bulk(q, n):
    left = n
    while left > 0:
        size = min(BULK_CHUNK, left)
        with q.connection.pipeline() as pipe:
            q.enqueue_many([Queue.prepare_data(noop) for _ in range(size)], pipeline=pipe)
            pipe.execute()
        left -= size


def enqueue_timed(q, mode, n, in_flight):
    start = mono_ms()
    if mode == "sequential":
        for _ in range(n):
            q.enqueue(noop)
    elif mode == "concurrent":
        with ThreadPoolExecutor(max_workers=in_flight) as pool:
            list(pool.map(lambda _: q.enqueue(noop), range(n)))
    else:
        bulk(q, n)
    return (mono_ms() - start) / 1000


def enqueue(q, args):
    # Warm up this path untimed (as the Node producers are), then start from an empty database.
    if args.get("warmup"):
        enqueue_timed(q, args["mode"], args["warmup"], args["inFlight"])
        q.connection.flushdb()
    out({"seconds": enqueue_timed(q, args["mode"], args["n"], args["inFlight"])})


def produce(q, args):
    for i in range(args["warmup"] + args["n"]):
        if i < args["warmup"]:
            q.enqueue(noop, t=mono_ms(), w=1)
        else:
            q.enqueue(noop, t=mono_ms())
        time.sleep(args["intervalMs"] / 1000)
    out({})


def work(q, args):
    fd, path = tempfile.mkstemp(prefix="bw-benchmark-rq-")
    os.close(fd)
    os.environ["BW_RQ_STATS"] = path
    try:
        worker = Worker([q], connection=q.connection)
        out({"ready": True})
        if args["mode"] == "drain":
            worker.work(burst=True, logging_level="WARNING")
        else:
            worker.work(burst=False, logging_level="WARNING", max_jobs=args["expect"])
        starts, ends, lats = [], [], []
        with open(path) as f:
            for line in f:
                s, e, lat = (float(x) for x in line.split())
                starts.append(s)
                ends.append(e)
                if lat >= 0:
                    lats.append(lat)
        # Worker process + its largest work horse (one horse at a time), KiB.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        out({
            "firstStart": min(starts) if starts else 0,
            "lastEnd": max(ends) if ends else 0,
            "count": len(starts),
            "latencies": lats,
            "peakRssKb": peak,
        })
    finally:
        os.unlink(path)


def main():
    port, command, args = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
    q = Queue(QUEUE, connection=Redis(host="127.0.0.1", port=port))
    if command == "enqueue":
        enqueue(q, args)
    elif command == "fill":
        bulk(q, args["n"])
        out({})
    elif command == "produce":
        produce(q, args)
    elif command == "work":
        work(q, args)
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()

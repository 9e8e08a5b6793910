#!/usr/bin/env python3
"""What a durable commit costs this machine's disk, before any database code runs.

Borealis's embedded default keeps six segment replicas on one disk and a commit waits
for four of them to fsync their logs. This probe times the disk-level part of that:
N files (N = 1, 2, 4, 6), each with a small append into a preallocated region, all
fdatasync'd at once from N threads, repeated; it prints the per-round latency. If the
device served flushes in parallel, rounds would cost about the same for every N; on the
2-vCPU KVM machines of bench/RESULTS.md they grow about linearly with N.

Usage: python3 bench/fsync_probe.py [--dir DIR] [--rounds 500] [--files 1,2,4,6]
(DIR defaults to a temporary directory; use one on the disk the data directory is on).
"""

import argparse
import os
import statistics
import tempfile
import threading
import time

PREALLOC = 1 << 20
APPEND = 300  # about one sysbench read-write commit's redo per replica


def one_round(fds, offset):
    """Append to every file and fdatasync them all concurrently; seconds taken."""
    payload = b"x" * APPEND

    def work(fd):
        os.pwrite(fd, payload, offset)
        os.fdatasync(fd)

    threads = [threading.Thread(target=work, args=(fd,)) for fd in fds]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def probe(directory, n, rounds):
    fds = []
    try:
        for i in range(n):
            path = os.path.join(directory, f"probe-{n}-{i}.log")
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
            fds.append(fd)
            # Written zeros, then synced: appends overwrite allocated blocks, as the
            # segment log's preallocation arranges, so no flush grows the file.
            os.pwrite(fd, b"\0" * PREALLOC, 0)
            os.fsync(fd)
        times = []
        for r in range(rounds):
            times.append(one_round(fds, (r * APPEND) % (PREALLOC - APPEND)))
        times.sort()
        return times
    finally:
        for fd in fds:
            os.close(fd)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", help="directory on the disk to probe (default: a temp dir)")
    ap.add_argument("--rounds", type=int, default=500)
    ap.add_argument("--files", default="1,2,4,6")
    args = ap.parse_args()
    counts = [int(x) for x in args.files.split(",") if x.strip()]
    if not counts or min(counts) < 1 or args.rounds < 1:
        ap.error("--files takes positive counts and --rounds a positive number")
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        print("| files flushed at once | p50 ms | p90 ms | mean ms |")
        print("|---|---|---|---|")
        for n in counts:
            t = probe(d, n, args.rounds)
            p50 = t[len(t) // 2] * 1e3
            p90 = t[min(len(t) - 1, len(t) * 9 // 10)] * 1e3
            print(f"| {n} | {p50:.3f} | {p90:.3f} | {statistics.mean(t) * 1e3:.3f} |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""pushlat.py — push-to-served time of a config server's git backend (bench/config-server/run.sh).

For each sample: a commit in PUSH_DIR (a clone of the served remote, branch main) that edits
bench-push.yml, then `git push origin main`, then (with --monitor) POST /monitor as a
webhook would (form path=bench-push.yml), then GET BASE+PATH on one keep-alive connection
every --poll-ms until the JSON Environment's `version` is the new commit id. The time is
from just before `git push` starts to the first answer carrying the new version.

Usage: pushlat.py BASE PATH PUSH_DIR [--samples N] [--monitor] [--timeout S] [--poll-ms MS]
Prints one line: `samples=N ok=K push_ms=<median of git push> median_ms=… max_ms=… all=a,b,…
after_push_median_ms=… after_push_max_ms=…` (after_push: from `git push` returning; a sample
that times out counts as the timeout and is not ok).
"""
import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.parse


def git(push_dir, *args):
    r = subprocess.run(["git", "-C", push_dir, "-c", "user.name=bench", "-c", "user.email=bench@localhost",
                        "-c", "commit.gpgsign=false"] + list(args), capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"pushlat.py: git {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout.strip()


class Conn:
    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.c = None

    def req(self, method, path, body=None, headers=None):
        for _ in range(2):
            try:
                if self.c is None:
                    self.c = http.client.HTTPConnection(self.host, self.port, timeout=30)
                self.c.request(method, path, body=body, headers=headers or {})
                r = self.c.getresponse()
                return r.status, r.read()
            except (OSError, http.client.HTTPException):
                self.c = None
        return 0, b""


def version(conn, path):
    st, body = conn.req("GET", path)
    if st != 200:
        return None
    try:
        return json.loads(body).get("version")
    except ValueError:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("path")
    ap.add_argument("push_dir")
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--monitor", action="store_true")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--poll-ms", type=float, default=2.0)
    a = ap.parse_args()
    conn = Conn(a.base)
    git(a.push_dir, "fetch", "-q", "origin")
    git(a.push_dir, "checkout", "-q", "-B", "main", "origin/main")
    times, pushes, after, ok = [], [], [], 0
    f = os.path.join(a.push_dir, "bench-push.yml")
    for i in range(a.samples):
        with open(f, "w") as fh:
            fh.write(f"bench-push:\n  n: {time.time_ns()}\n")
        git(a.push_dir, "add", "bench-push.yml")
        git(a.push_dir, "commit", "-q", "-m", f"bench: push {i}")
        sha = git(a.push_dir, "rev-parse", "HEAD")
        t0 = time.monotonic()
        git(a.push_dir, "push", "-q", "origin", "main")
        pushes.append((time.monotonic() - t0) * 1000)
        if a.monitor:
            conn.req("POST", "/monitor", "path=bench-push.yml", {"Content-Type": "application/x-www-form-urlencoded"})
        served = None
        while time.monotonic() - t0 < a.timeout:
            if version(conn, a.path) == sha:
                served = (time.monotonic() - t0) * 1000
                break
            time.sleep(a.poll_ms / 1000)
        if served is None:
            served = a.timeout * 1000
        else:
            ok += 1
        times.append(served)
        after.append(max(0.0, served - pushes[-1]))
        time.sleep(0.2)  # the next push is not coalesced with this one's refresh
    print(f"samples={a.samples} ok={ok} push_ms={statistics.median(pushes):.0f} "
          f"median_ms={statistics.median(times):.0f} max_ms={max(times):.0f} "
          f"all={','.join(f'{t:.0f}' for t in times)} after_push_median_ms={statistics.median(after):.0f} "
          f"after_push_max_ms={max(after):.0f}")
    return 0 if ok == a.samples else 1


if __name__ == "__main__":
    sys.exit(main())

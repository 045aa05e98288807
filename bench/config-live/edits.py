#!/usr/bin/env python3
"""edits.py — change → applied, for bench/config-live/run.sh.

Makes N edits of one key in REPO/application.yml (a key both services read), alternating
between two values, and for each measures the time from the edit to the moment EVERY
service's /health shows the new configuration version (for a restart-class key: also one
more restart in place). Folder mode: the edit is an atomic rename in the served folder
(the clock starts just before it). Git mode: REPO is a clone of the served remote; the edit
is committed and pushed, then POST /monitor is sent as a webhook would (the clock starts
when `git push` has returned).

Usage: edits.py --config URL --service URL [--service URL …] --repo DIR --key KEY
                --values A,B [--git] [--restart] [--count N] [--pause-ms MS] [--timeout-s S]
KEY is the YAML line's text before the value (e.g. "    root: "), matched once.
Prints one JSON line: {"samples": N, "ok": K, "ms": [per edit, the slowest service]}.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)


def served_version(config, app):
    return get_json(f"{config}/{app}/{os.environ.get('TRIO_PROFILES', 'local')}").get("version")


def health(service):
    try:
        c = get_json(f"{service}/health").get("config", {})
    except Exception:  # a restart in place: the request waits in the socket's backlog
        return None, None
    return c.get("version"), c.get("restarts")


def app_of(service):
    # customer-service's /health names no app: ask the readiness components
    c = get_json(f"{service}/health").get("components", {})
    return "order-service" if "projection" in c else "customer-service"


def edit(repo, key, value, git, config):
    path = os.path.join(repo, "application.yml")
    with open(path) as f:
        text = f.read()
    i = text.index(key)
    j = text.index("\n", i)
    text = text[:i] + key + value + text[j:]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    t0 = time.monotonic()
    os.rename(tmp, path)
    if git:
        g = ["git", "-C", repo, "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
        subprocess.run(g + ["commit", "-qam", f"{key.strip()} {value}"], check=True)
        subprocess.run(g + ["push", "-q", "origin", "main"], check=True)
        t0 = time.monotonic()
        req = urllib.request.Request(f"{config}/monitor", data=b"path=application.yml", method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        urllib.request.urlopen(req, timeout=10).read()
    return t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--service", action="append", required=True)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--values", required=True)
    ap.add_argument("--git", action="store_true")
    ap.add_argument("--restart", action="store_true")
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--pause-ms", type=int, default=500)
    ap.add_argument("--timeout-s", type=float, default=30)
    a = ap.parse_args()
    values = a.values.split(",")
    apps = [app_of(s) for s in a.service]
    out = []
    ok = 0
    for n in range(a.count):
        before = [health(s) for s in a.service]
        old = [served_version(a.config, app) for app in apps]
        t0 = edit(a.repo, a.key, values[n % len(values)], a.git, a.config)
        done = [False] * len(a.service)
        slowest = None
        while not all(done) and time.monotonic() - t0 < a.timeout_s:
            for k, s in enumerate(a.service):
                if done[k]:
                    continue
                v = served_version(a.config, apps[k])
                if v == old[k]:
                    continue  # the server has not reloaded yet
                hv, hr = health(s)
                if hv == v and (not a.restart or (hr is not None and hr > (before[k][1] or 0))):
                    done[k] = True
                    slowest = (time.monotonic() - t0) * 1000
            time.sleep(0.005)
        if all(done):
            ok += 1
            out.append(round(slowest, 1))
        else:
            out.append(round(a.timeout_s * 1000, 1))
            print(f"edits.py: edit {n + 1} not applied by every service within {a.timeout_s} s",
                  file=sys.stderr)
        time.sleep(a.pause_ms / 1000)
    print(json.dumps({"samples": a.count, "ok": ok, "ms": out}, separators=(",", ":")))


if __name__ == "__main__":
    main()

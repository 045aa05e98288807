#!/usr/bin/env python3
"""kit_live_check.py — the chart's objects as the API server stored them (tests/k8s/test_k8s.sh,
step 1c: the observability kit installed on the test cluster).

Usage: tests/k8s/kit_live_check.py MANIFEST.yaml LIVE.json KIND...

MANIFEST.yaml is `helm get manifest` of the release, LIVE.json `kubectl get ... -o json` (a List)
of the release's namespace. Every object of the given KINDs in the manifest must exist live (same
kind and name) and hold every field the manifest sets, with the same value: the API server may add
defaults, but dropped or changed fields fail (a CRD's structural schema silently prunes fields it
does not know). A KIND the manifest does not render fails too. Prints one line per object and a
summary; exit 0 when everything matches, 1 otherwise.
"""
import json
import sys

import yaml


def differences(want, have, path):
    """Where HAVE lacks or changes what WANT sets (WANT's fields only)."""
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return [f"{path}: want an object, have {have!r}"]
        out = []
        for k, v in want.items():
            if v is None:
                continue
            if k not in have:
                out.append(f"{path}.{k}: missing")
            else:
                out += differences(v, have[k], f"{path}.{k}")
        return out
    if isinstance(want, list):
        if not isinstance(have, list) or len(have) != len(want):
            return [f"{path}: want {len(want)} items, have {have!r}"]
        out = []
        for i, (w, h) in enumerate(zip(want, have)):
            out += differences(w, h, f"{path}[{i}]")
        return out
    if want != have and str(want) != str(have):
        return [f"{path}: want {want!r}, have {have!r}"]
    return []


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__.split("\n\n")[1])
    manifest, live_file, kinds = sys.argv[1], sys.argv[2], set(sys.argv[3:])
    with open(manifest, encoding="utf-8") as fh:
        rendered = [d for d in yaml.safe_load_all(fh) if isinstance(d, dict) and d.get("kind") in kinds]
    with open(live_file, encoding="utf-8") as fh:
        live = {(o["kind"], o["metadata"]["name"]): o for o in json.load(fh).get("items", [])}
    bad = 0
    for kind in sorted(kinds - {d["kind"] for d in rendered}):
        print(f"FAIL {kind}: the release's manifest renders none")
        bad += 1
    for d in rendered:
        key = (d["kind"], d["metadata"]["name"])
        have = live.get(key)
        if have is None:
            print(f"FAIL {key[0]}/{key[1]}: not in the cluster")
            bad += 1
            continue
        diff = differences({k: v for k, v in d.items() if k not in ("apiVersion", "kind")},
                           have, "")
        if diff:
            print(f"FAIL {key[0]}/{key[1]}: " + "; ".join(diff[:5]))
            bad += 1
        else:
            print(f"ok   {key[0]}/{key[1]}")
    print(f"kit_live_check: {len(rendered)} objects of {len(kinds)} kinds, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""check_metric_names.py — every metric name the chart's alerts and dashboard query is one the
programs export (scripts/helm-check.sh runs it on the rendered chart).

Usage: tests/helm/check_metric_names.py REPO_ROOT RENDERED.yaml [--write-rules FILE]

--write-rules FILE also writes a Prometheus rule file holding every expression (the alerts as
they are, each dashboard query as a recording rule with Grafana's variables replaced by sample
values), for `promtool check rules` to parse.

Exported names come from the C sources of common/, config-server/, customer-service/ and
order-service/ (tests excluded):
  - the string literal of each metrics_declare(m, "name", METRICS_<TYPE>, ...) call; a
    histogram is exposed as name_bucket, name_sum and name_count only (never as name);
  - metrics_proc.c's "%s_build_info" for each program (config-server, customer-service,
    order-service: dashes become underscores);
  - svc_live.c's "%s_config_%s" for each `.metric_prefix = "..."` and each
    metric_name(l, "suffix", ...) there.
Used names are read from the rendered PrometheusRule (every `expr:` line) and the Grafana
dashboard ConfigMap (every target's "expr"): PromQL identifiers that are not functions,
keywords, label names, durations or Grafana variables. `up` is Prometheus's own series.
Exit 0 and a summary line when all are exported; 1 and the unknown names otherwise.
"""
import json
import os
import re
import sys

import yaml

PROGRAMS = ["config-server", "customer-service", "order-service"]
PROMETHEUS_OWN = {"up"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
            "unless", "bool", "offset", "inf", "nan"}


def exported(root):
    """The metric names the C sources declare."""
    names = set()
    decl = re.compile(r'metrics_declare\(\s*[^,()]+,\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)",\s*METRICS_(\w+)', re.S)
    prefixes, suffixes = set(), set()
    build_info = False
    for top in ["common"] + PROGRAMS:
        for d, dirs, files in os.walk(os.path.join(root, top)):
            dirs[:] = [x for x in dirs if x != "tests"]
            for f in files:
                if not f.endswith(".c"):
                    continue
                with open(os.path.join(d, f), encoding="utf-8") as fh:
                    text = fh.read()
                for name, kind in decl.findall(text):
                    if kind == "HISTOGRAM":  # exposed only as these three series
                        names.update(name + s for s in ("_bucket", "_sum", "_count"))
                    else:
                        names.add(name)
                prefixes.update(re.findall(r'\.metric_prefix\s*=\s*"(\w+)"', text))
                if f == "svc_live.c" and '"%s_config_%s"' in text:
                    suffixes.update(re.findall(r'metric_name\(l,\s*"(\w+)"', text))
                if f == "metrics_proc.c" and '"%s_build_info"' in text:
                    build_info = True
    names.update(f"{p}_config_{s}" for p in prefixes for s in suffixes)
    if build_info:
        names.update(p.replace("-", "_") + "_build_info" for p in PROGRAMS)
    return names


def used_names(expr):
    """The metric names a PromQL expression reads."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)        # string literals
    e = re.sub(r"\$\{\w+\}|\$\w+", "", e)                # Grafana variables
    e = re.sub(r"\{[^{}]*\}", "", e)                      # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                      # ranges, subqueries
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    found = set()
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?", e):
        name, call = m.group(1), m.group(2)
        if call or name.lower() in KEYWORDS:
            continue
        found.add(name)
    return found


def grafana_sample(expr):
    """A dashboard query with Grafana's variables replaced by values PromQL parses."""
    for var, value in (("$__rate_interval", "5m"), ("${fullname}", "release-cqrs-ordering"),
                       ("$namespace", "default")):
        expr = expr.replace(var, value)
    return expr


def main():
    args = sys.argv[1:]
    out_rules = None
    if len(args) == 4 and args[2] == "--write-rules":
        out_rules = args[3]
        args = args[:2]
    if len(args) != 2:
        sys.exit(__doc__.split("\n\n")[1])
    root, rendered = args
    rules = {"groups": []}
    have = exported(root) | PROMETHEUS_OWN
    exprs = []  # (where, expr)
    dash = []   # the dashboard's queries as recording rules
    with open(rendered, encoding="utf-8") as fh:
        for doc in yaml.safe_load_all(fh):
            if not isinstance(doc, dict):
                continue
            if doc.get("kind") == "PrometheusRule":
                rules["groups"] += doc["spec"]["groups"]
                for g in doc["spec"]["groups"]:
                    for r in g["rules"]:
                        exprs.append((f"alert {r.get('alert') or r.get('record')}", str(r["expr"])))
            elif doc.get("kind") == "ConfigMap" and doc.get("metadata", {}).get("labels", {}).get("grafana_dashboard"):
                for key, text in (doc.get("data") or {}).items():
                    stack = json.loads(text).get("panels", [])
                    while stack:
                        p = stack.pop()
                        stack.extend(p.get("panels", []))
                        for t in p.get("targets", []):
                            exprs.append((f"{key} panel '{p.get('title')}'", t["expr"]))
                            dash.append({"record": f"dashboard:query{len(dash) + 1}",
                                         "expr": grafana_sample(t["expr"])})
    if out_rules:
        if dash:
            rules["groups"].append({"name": "dashboard-queries", "rules": dash})
        with open(out_rules, "w", encoding="utf-8") as fh:
            yaml.safe_dump(rules, fh, sort_keys=False)
    if not exprs:
        print("check_metric_names: no PrometheusRule or dashboard ConfigMap in " + rendered)
        return 1
    unknown, used = [], set()
    for where, expr in exprs:
        names = used_names(expr)
        if not names:
            unknown.append(f"{where}: no metric name found in {expr!r}")
        used |= names
        unknown += [f"{where}: {n} is not exported" for n in sorted(names - have)]
    if unknown:
        print("\n".join(unknown))
        return 1
    print(f"{len(exprs)} queries use {len(used)} metric names, all exported "
          f"({len(have) - len(PROMETHEUS_OWN)} declared in the C sources)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""compat_git.py — the git-mode cases of bench/config-server/compat.sh (imported by compat.py).

Both servers serve the same git repository (gitfixture.sh builds it from pair A's fixture):
  pair G  file://<work repo> (a non-bare repository, as Spring needs for file://), both with
          encrypt.key=s3cr3t-k3y, ours with --accept-empty and Basic credentials; the JSON
          bodies are compared with `version` (the commit id on both);
  pair H  git://127.0.0.1:<port>/cfg.git (a bare repository served by git daemon): the
          remote case; property-source names hold each server's own clone directory, which
          is replaced by <basedir> on both sides before comparing.
Labels: branches main, v2, release/1.0, multidoc; tags v1.0 (annotated), light; commit ids
C1 (main~1, the tags) and C2 (main), full and short; HEAD; unknown labels.
"""
import json
import os
import subprocess
import time

# The documented differences of git mode (config-server/README.md, "Differences from Spring").
KNOWN_GIT = {
    "git HEAD after another label": "Spring's HEAD is its clone's current checkout (the label of the previous "
                                    "request); ours is the default label",
    "git label refs(_)heads(_)main": "Spring resolves full ref names (refs/heads/…, refs/tags/…); ours takes "
                                     "branch, tag or commit names only (404)",
    "git label refs(_)tags(_)v1.0": "Spring resolves full ref names; ours 404",
    "git label main~1": "Spring 404; ours refuses revision syntax in a label with 400",
    "git label HEAD@{1}": "Spring 404; ours refuses revision syntax in a label with 400",
    "git label v1.0^{}": "Spring 404; ours refuses revision syntax in a label with 400",
    "git label -x": "Spring 404; ours refuses an option-like label with 400",
    "git label a(_)(_)b": "Spring 404 (no such branch); ours 400 (an empty label component)",
    "git label 40 zeros": "Spring answers 500 for an all-zero commit id; ours 404",
    "git label main^": "Spring 404; ours refuses revision syntax in a label with 400",
}

# … and those seen only after pushes to the remote (pair H)
KNOWN_GIT_PUSH = {
    "git:// a deleted branch /multi/default/multidoc": "Spring keeps serving a branch deleted on the remote "
                                                       "(its delete-untracked-branches is false by default); "
                                                       "ours 404 (the remote wins)",
}


def _labels(c1, c2):
    return [("branch main", "main"), ("branch v2", "v2"), ("branch multidoc", "multidoc"),
            ("tag v1.0 (annotated)", "v1.0"), ("tag light (lightweight)", "light"),
            ("full id C1", c1), ("full id C2", c2), ("short id C1[:7]", c1[:7]), ("short id C2[:10]", c2[:10]),
            ("short id C1[:4]", c1[:4]), ("id C1[:39]", c1[:39])]


def pair_g_cases(run, G, c1, c2, old_env, old_flat, v2, value_cases):
    run.known.update(KNOWN_GIT)
    # the native cases that mean the same on a git repository (v2 and master are labels:
    # v2 is a branch, master is unknown on both)
    for u in old_env + old_flat:
        run.compare(f"git {u}", G, "GET", u)
    value_cases(run, G, "git ")
    for u in ["/props/dev,prod", "/props2/dev", "/crypt/dev", "/nosuchapp/dev", "/nosuchapp-default.properties",
              "/alpha,beta/dev,prod", "/beta,alpha-dev,prod.properties", "/alpha,nosuch,beta/prod",
              "/cyc/default", "/cyc-default.yml?resolvePlaceholders=false"]:
        run.compare(f"git {u}", G, "GET", u)
    for u in ["/cyc-default.yml", "/selfref-default.json", "/billing/default/", "/billing/", "//default",
              "/billing/default//", "/"]:
        run.compare(f"git status {u}", G, "GET", u, mode="status")
    for acc in ["text/html", "application/xml", "*/*", v2, f"application/json, {v2}"]:
        run.compare(f"git accept {acc}", G, "GET", "/billing/dev", {"Accept": acc}, mode="status+type")

    # labels: branch, tag, commit ids, each in the JSON and flat forms
    for name, lab in _labels(c1, c2):
        run.compare(f"git label {name} env", G, "GET", f"/billing/dev/{lab}")
        run.compare(f"git label {name} env v2", G, "GET", f"/billing/dev,prod/{lab}", {"Accept": v2})
        run.compare(f"git label {name} /{{label}}/billing-dev.yml", G, "GET", f"/{lab}/billing-dev.yml")
        run.compare(f"git label {name} /{{label}}/billing-dev.properties", G, "GET", f"/{lab}/billing-dev.properties")
        run.compare(f"git label {name} /{{label}}/billing-prod.json", G, "GET", f"/{lab}/billing-prod.json")
    # a branch with a slash, (_) escaped
    for u in ["/alpha/dev/release(_)1.0", "/alpha/default/release%28_%291.0", "/alpha,beta/dev/release(_)1.0",
              "/release(_)1.0/alpha-dev.yml", "/release(_)1.0/alpha-default.properties"]:
        run.compare(f"git label release/1.0 {u}", G, "GET", u)
    # the version field is the commit id, on both
    for lab, want in [("", c2), ("/main", c2), ("/v1.0", c1), ("/light", c1), (f"/{c1[:7]}", c1)]:
        a = run_json(run, G[0], f"/billing/default{lab}")
        b = run_json(run, G[1], f"/billing/default{lab}")
        ok = a.get("version") == want and b.get("version") == want
        run.report(f"git version of /billing/default{lab} is {want[:10]}…", ok,
                   f"ours {a.get('version')}, spring {b.get('version')}")
    # HEAD: after a request for the default label, both serve main
    run.compare("git HEAD warm-up /billing/default", G, "GET", "/billing/default")
    run.compare("git HEAD after the default label", G, "GET", "/billing/default/HEAD")
    run.compare("git HEAD flat after the default label", G, "GET", "/HEAD/billing-default.yml")
    run.compare("git HEAD warm-up /billing/default/v1.0", G, "GET", "/billing/default/v1.0")
    run.compare("git HEAD after another label", G, "GET", "/billing/default/HEAD")
    run.compare("git HEAD warm-up /billing/default again", G, "GET", "/billing/default")
    # unknown labels and labels that are not names
    for name, lab in [("nolabel", "nolabel"), ("deadbeef", "deadbeef"), ("MAIN", "MAIN"), ("origin(_)main", "origin(_)main"),
                      ("master", "master"), ("40 zeros", "0" * 40), ("main~1", "main~1"), ("HEAD@{1}", "HEAD@%7B1%7D"),
                      ("v1.0^{}", "v1.0%5E%7B%7D"), ("-x", "-x"), ("..", ".."), ("refs(_)heads(_)main", "refs(_)heads(_)main"),
                      ("refs(_)tags(_)v1.0", "refs(_)tags(_)v1.0"), ("a(_)(_)b", "a(_)(_)b"), ("(_)etc", "(_)etc"),
                      ("release%2F1.0", "release%2F1.0"), ("main^", "main%5E")]:
        run.compare(f"git label {name}", G, "GET", f"/billing/default/{lab}", mode="status")
    for u in ["/nolabel/billing-default.yml", "/nolabel/billing-default.properties", "/deadbeef/billing-dev.json"]:
        run.compare(f"git unknown label {u}", G, "GET", u, mode="status")
    # multi-document .yml and .properties on a branch
    for u in ["/multi/default/multidoc", "/multi/dev/multidoc", "/multi/prod/multidoc", "/multi/dev,prod/multidoc",
              "/multi/prod,dev/multidoc", "/multidoc/multi-dev.yml", "/multidoc/multi-dev,prod.properties",
              "/multidoc/multi-prod.json", "/multidoc/multi-default.properties", "/multi/dev"]:
        run.compare(f"git multidoc {u}", G, "GET", u)
    run.compare("git multidoc v2 /multi/dev,prod/multidoc", G, "GET", "/multi/dev,prod/multidoc", {"Accept": v2})
    # a branch and a tag of the same name
    for u in ["/multi/dev/both", "/both/multi-dev.yml", "/billing/default/both"]:
        run.compare(f"git branch and tag both {u}", G, "GET", u)
    # the flat forms on a label, placeholders resolved or not
    for u in ["/billing-dev.yml", "/billing-dev.properties", f"/{c1}/billing-dev.yml",
              f"/{c1[:7]}/billing-dev,prod.properties", "/v1.0/billing-dev.properties?resolvePlaceholders=false",
              "/v2/billing-default.yml", "/multidoc/multi-dev.yml?resolvePlaceholders=false"]:
        run.compare(f"git flat {u}", G, "GET", u)


def pair_h_cases(run, H, c1, c2, v2):
    """The remote case (git://, bare): a subset, the clone directories replaced by <basedir>."""
    for u in ["/billing/dev", "/billing/dev,prod/v1.0", f"/billing/default/{c1}", f"/billing/default/{c1[:7]}",
              "/alpha/dev/release(_)1.0", "/multi/dev,prod/multidoc", "/nosuchapp/default", "/alpha,beta/dev",
              "/crypt/default", "/billing-dev.properties", "/v1.0/billing-dev.yml", "/multidoc/multi-dev.json",
              "/release(_)1.0/alpha-default.properties"]:
        run.compare(f"git:// {u}", H, "GET", u)
    run.compare("git:// v2 /billing/dev/v2", H, "GET", "/billing/dev/v2", {"Accept": v2})
    run.compare("git:// HEAD after the default label", H, "GET", "/billing/default")
    run.compare("git:// HEAD", H, "GET", "/billing/default/HEAD")
    for u in ["/billing/default/nolabel", "/nolabel/billing-dev.yml", "/billing/default/deadbeef"]:
        run.compare(f"git:// unknown label {u}", H, "GET", u, mode="status")


def boot_git(run, jar, G, c1):
    """A real Spring Boot 4 client (boot-client/) started from each server's git backend with a
    label (spring.cloud.config.label; the client writes a "/" as "(_)" itself); everything
    the servers contributed is compared, config.client.version (the commit id) included."""
    specs = [("billing", "dev", ""), ("billing", "dev,prod", "v1.0"), ("billing", "default", c1[:7]),
             ("alpha", "dev", "release/1.0"), ("multi", "dev,prod", "multidoc"), ("crypt", "default", "main"),
             ("application", "default", "light")]
    cases = []
    for srv, url in [("ours", G[0]), ("spring", G[1])]:
        for app, prof, lab in specs:
            cases.append(f"{srv}:{app}:{prof}:{lab}|{url}|{app}|{prof}|{lab}")
    user, _, pw = os.environ.get("CS_AUTH", "cfg:s3cret").partition(":")
    env = dict(os.environ, CONFIG_USER=user, CONFIG_PASSWORD=pw)
    out = subprocess.run(["java", "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-jar", jar] + cases, env=env,
                         capture_output=True, text=True, timeout=600)
    if os.environ.get("CS_LOG"):
        with open(os.environ["CS_LOG"] + ".git", "w") as f:
            f.write(out.stdout + out.stderr)
    res = {}
    for line in out.stdout.splitlines():
        name, _, rest = line.partition(" ")
        if name.split(":")[0] in ("ours", "spring"):
            res.setdefault(name, []).append(rest)
    for app, prof, lab in specs:
        o = res.get(f"ours:{app}:{prof}:{lab}", [])
        sp = res.get(f"spring:{app}:{prof}:{lab}", [])
        ver = [x for x in o if x.startswith("config.client.version=")]
        ok = o == sp and any(x.startswith("OK ") for x in o) and len(ver) == 1 and len(ver[0]) == 22 + 40
        detail = [f"ours:   {x}" for x in o if x not in sp][:10] + [f"spring: {x}" for x in sp if x not in o][:10]
        run.report(f"git boot client {app} {prof} @{lab or 'default'}", ok, "\n".join(detail) or "\n".join(o[-3:]))


def _git(push_dir, *args):
    r = subprocess.run(["git", "-C", push_dir, "-c", "user.name=bench", "-c", "user.email=bench@localhost",
                        "-c", "commit.gpgsign=false"] + list(args), capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {r.stderr.strip()}")


def _rev(push_dir, rev):
    return subprocess.run(["git", "-C", push_dir, "rev-parse", rev], check=True, capture_output=True,
                          text=True).stdout.strip()


def _monitor_wait(run, base, path, want, secs=10.0):
    """POST /monitor (a form, as a webhook would) to ours, then poll GET path until want(st, json)."""
    run.fetch(base, "POST", "/monitor", {"Content-Type": "application/x-www-form-urlencoded"}, "path=billing.yml")
    t0 = time.monotonic()
    while time.monotonic() - t0 < secs:
        st, _, body = run.fetch(base, "GET", path)
        try:
            j = json.loads(body)
        except ValueError:
            j = None
        if want(st, j):
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


def pair_h_pushes(run, H, push_dir, c1):
    """Pushes to the remote while both serve it: a new commit, a force-push, a moved tag, a new and
    a deleted branch. Spring fetches on every request (refresh-rate 0); ours after POST /monitor."""
    run.known.update(KNOWN_GIT_PUSH)
    _git(push_dir, "fetch", "-q", "origin")
    _git(push_dir, "checkout", "-q", "-B", "main", "origin/main")
    # a new commit on main
    with open(os.path.join(push_dir, "billing.yml"), "a") as f:
        f.write("\npushed:\n  by: compat\n")
    _git(push_dir, "commit", "-q", "-am", "compat: a pushed commit")
    _git(push_dir, "push", "-q", "origin", "main")
    c3 = _rev(push_dir, "HEAD")
    t = _monitor_wait(run, H[0], "/billing/default", lambda st, j: st == 200 and j and j.get("version") == c3)
    run.report("git:// push: ours serves the new commit after POST /monitor", t is not None, "not within 10 s")
    for u in ["/billing/default", "/billing-default.yml", "/billing/default/main", f"/billing/default/{c3[:8]}"]:
        run.compare(f"git:// after a push {u}", H, "GET", u)
    # a force-push: main back to C1
    _git(push_dir, "push", "-q", "-f", "origin", f"{c1}:refs/heads/main")
    t = _monitor_wait(run, H[0], "/billing/default", lambda st, j: st == 200 and j and j.get("version") == c1)
    run.report("git:// force-push: ours serves the rewound main after POST /monitor", t is not None, "not within 10 s")
    for u in ["/billing/default", "/billing-default.properties", f"/billing/default/{c3}"]:
        run.compare(f"git:// after a force-push {u}", H, "GET", u)
    # a new branch, a moved tag
    _git(push_dir, "push", "-q", "origin", f"{c3}:refs/heads/pushed")
    _git(push_dir, "push", "-q", "-f", "origin", f"{c3}:refs/tags/light")
    _monitor_wait(run, H[0], "/billing/default/pushed", lambda st, j: st == 200)
    run.compare("git:// a pushed branch /billing/default/pushed", H, "GET", "/billing/default/pushed")
    run.compare("git:// a moved tag /billing/default/light", H, "GET", "/billing/default/light")
    # a deleted branch
    _git(push_dir, "push", "-q", "origin", ":refs/heads/multidoc")
    _monitor_wait(run, H[0], "/multi/default/multidoc", lambda st, j: st == 404)
    run.compare("git:// a deleted branch /multi/default/multidoc", H, "GET", "/multi/default/multidoc", mode="status")


def run_json(run, base, path):
    """The JSON object of a 200 answer, else {}."""
    st, _, body = run.fetch(base, "GET", path)
    try:
        j = json.loads(body)
    except ValueError:
        j = None
    return j if st == 200 and isinstance(j, dict) else {}

"""compat_multi.py — pair M of bench/config-server/compat.sh (imported by compat.py):
several git repositories, side by side with Spring's MultipleJGitEnvironmentRepository.

Both servers: the default repository file://<m>/def with search-paths svc/{application},shared*;
repos.team (pattern team-*,shared/prod; file://<m>/team; search-paths {application},common);
repos.apps (pattern *-app; file://<m>/apps/{application}: a repository per application);
overrides cq.mode=strict and who=override (Spring's spring.cloud.config.server.overrides);
default label main. Spring gets them as --spring.cloud.config.server.* arguments, ours as
--repo-uri, --git-repos-file (a Spring application.yml with the same keys), --search-paths
and --override. Every repository is a non-bare work repository (Spring needs one for file:).
The JSON bodies are compared with `version` (the commit id on both).
"""

# The documented differences of pair M (config-server/README.md, "Several repositories").
KNOWN_MULTI = {}


def pair_m_cases(run, M, v2):
    run.known.update(KNOWN_MULTI)
    envs = ["/team-x/default", "/team-x/dev", "/team-y/dev", "/team-x,team-y/dev",
            "/shared/prod", "/shared/dev", "/shared/prod,dev", "/shared/dev,prod", "/shared/default",
            "/other/default", "/other/dev,prod", "/svc-a/default", "/svc-a/dev", "/svc-b/default",
            "/alpha-app/default", "/alpha-app/dev", "/beta-app/dev", "/nope-app/default",
            "/alpha-app,beta-app/default", "/team-x/default/main", "/other/default/main", "/alpha-app/dev/main"]
    for u in envs:
        run.compare(f"multi {u}", M, "GET", u)
    for u in ["/team-x/dev", "/alpha-app/dev", "/svc-a/dev"]:
        run.compare(f"multi v2 {u}", M, "GET", u, {"Accept": v2})
    for u in ["/team-x-dev.yml", "/team-x-dev.properties", "/team-x-default.json", "/main/team-x-dev.yml",
              "/alpha-app-dev.yml", "/beta-app-default.properties", "/nope-app-default.yml", "/svc-a-dev.yml",
              "/svc-a-dev.properties", "/shared-prod.properties", "/shared-dev.properties",
              "/other-default.yml", "/main/other-default.json"]:
        run.compare(f"multi {u}", M, "GET", u)
    for u in ["/team-x/dev/nolabel", "/other/default/nolabel", "/alpha-app/default/nolabel",
              "/shared-prod.yml?resolvePlaceholders=false"]:
        run.compare(f"multi status {u}", M, "GET", u, mode="status")
    for u in ["/team-x/default/main/nginx.conf", "/other/default/main/nginx.conf", "/team-x/dev/main/nginx.conf",
              "/alpha-app/default/main/nginx.conf", "/team-x/default/main/missing.conf"]:
        run.compare(f"multi text {u}", M, "GET", u)

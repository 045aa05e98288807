"""compat_search.py — pair N of compat.sh: search paths on the folder backend, ours against
Spring 5.0.6's native backend on the same folder. Spring is configured the way a Spring user
writes it (search-locations: the root, {application}, teams/a, teams/b), ours with
--search-paths '{application},teams/a,teams/b': the same property sources in the same order
(the later location wins), placeholders resolved across folders, several applications and
profiles, a label folder (v2/) and the flat forms. Imported by compat.py."""


def pair_n_cases(run, N):
    for u in ["/billing/default", "/billing/dev", "/billing/dev,prod", "/billing,orders/dev", "/orders/default",
              "/nosuch/default", "/billing/default/v2", "/billing/dev/master", "/billing-dev.yml",
              "/billing-dev.properties", "/orders-default.yml", "/orders-default.properties",
              "/v2/billing-default.yml", "/billing,orders-dev.json"]:
        run.compare(f"search-paths folder {u}", N, "GET", u)

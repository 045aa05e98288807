"""hooks.py — schemathesis hooks of the OpenAPI contract test (tests/integration/test_openapi.sh).

The services parse JSON with jansson, which keeps integers as 64-bit values: a body holding a
larger integer anywhere (also in an extra member the schemas allow and the services ignore) is
answered 400 "too big integer", as both specs say. Such bodies are not generated.
"""
import schemathesis

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _fits(value):
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return INT64_MIN <= value <= INT64_MAX
    if isinstance(value, dict):
        return all(_fits(v) for v in value.values())
    if isinstance(value, list):
        return all(_fits(v) for v in value)
    return True


@schemathesis.hook
def filter_body(ctx, body):
    return _fits(body)

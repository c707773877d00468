"""Schemathesis hooks for the API fuzz step (loaded with SCHEMATHESIS_HOOKS=api_fuzz_hooks).

Adds one check: every error response (4xx, 5xx) is the spec's envelope,
{"error": {"type", "code", "message", "param"?}}, with a known type and nothing else.
"""

import json

import schemathesis

ERROR_TYPES = {"authentication_error", "validation_error", "invalid_request_error", "api_error"}


@schemathesis.check
def error_envelope(ctx, response, case):
    if response.status_code < 400:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{response.status_code} error without a JSON body: {response.content[:200]!r}")
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        raise AssertionError(f"error not in the envelope: {body!r}")
    error = body["error"]
    extra = set(error) - {"type", "code", "message", "param"}
    if extra:
        raise AssertionError(f"unexpected members in the error object: {sorted(extra)}")
    if error.get("type") not in ERROR_TYPES:
        raise AssertionError(f"unknown error type: {error.get('type')!r}")
    for member in ("code", "message"):
        if not isinstance(error.get(member), str) or not error[member]:
            raise AssertionError(f"error.{member} must be a non-empty string: {error!r}")
    return None

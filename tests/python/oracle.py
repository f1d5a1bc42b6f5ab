"""Signing oracle: the official Python SDK (PyPI `pusher`, pinned in requirements.txt) answers
the cases the Rust differential tests generate.

Input on stdin: a JSON array of cases. Output on stdout: a JSON array, one entry per case,
{"ok": <SDK result>} or {"err": "<SDK error message>"}.

Each case names an encoder: "default" is the SDK's own json.dumps (", " and ": " separators,
ASCII escapes); "compact" passes a JSONEncoder with "," and ":" and raw UTF-8, the compact form
JSON.stringify and serde_json write.
"""
import json
import sys
import time

import pusher


class CompactEncoder(json.JSONEncoder):
    item_separator = ","
    key_separator = ":"

    def __init__(self, *args, **kwargs):
        kwargs["ensure_ascii"] = False
        kwargs["separators"] = (",", ":")
        super().__init__(*args, **kwargs)


def client(c):
    kwargs = {}
    if c.get("master_key_base64"):
        kwargs["encryption_master_key_base64"] = c["master_key_base64"]
    if c.get("encoder") == "compact":
        kwargs["json_encoder"] = CompactEncoder
    return pusher.Pusher(app_id="1", key=c["key"], secret=c["secret"], **kwargs)


def run(c):
    p = client(c)
    op = c["op"]
    if op == "channel":
        result = p.authenticate(c["channel"], c["socket_id"], c.get("data"))
        if isinstance(result.get("shared_secret"), bytes):
            # The SDK returns the base64 secret as bytes (a known quirk); compare its text.
            result["shared_secret"] = result["shared_secret"].decode("ascii")
        return result
    if op == "user":
        return p.authenticate_user(c["socket_id"], c["user_data"])
    if op == "webhook":
        data = p.validate_webhook(c["key_header"], c["signature"], c["body"])
        return {"valid": data is not None, "events": data["events"] if data else None}
    if op == "rest_sign":
        return rest_sign(p, c)
    raise ValueError("unknown op %s" % op)


def rest_sign(p, c):
    """The SDK's request signing (pusher.http.Request._generate_auth) on the case's method,
    path, query parameters and body bytes, at the case's timestamp."""
    import pusher.http

    request = pusher.http.Request.__new__(pusher.http.Request)
    request.client = p._pusher_client
    request.method = c["method"]
    request.path = c["path"]
    request.params = dict(c["params"])
    request.query_params = dict(c["params"])
    request.body = c["body"].encode("utf8")
    clock = pusher.http.time.time
    pusher.http.time.time = lambda: c["timestamp"]
    try:
        request._generate_auth()
    finally:
        pusher.http.time.time = clock
    return {
        "query_string": request.query_string,
        "signature": request.query_params["auth_signature"],
        "params": sorted(request.query_params.items()),
    }


def main():
    cases = json.load(sys.stdin)
    out = []
    for c in cases:
        try:
            out.append({"ok": run(c)})
        except Exception as e:  # the SDK's own refusal is a result to compare
            out.append({"err": "%s: %s" % (type(e).__name__, e)})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

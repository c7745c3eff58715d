"""API tokens (issue 10, foundation): dispatchctl tokens init-key / create /
list / revoke, the same through /v1/admin/tokens, and the daemon's token
cache seen through /v1/admin/tokens/whoami: a revocation reaches every
daemon within 5 s, expiry is honoured, and the token text is never stored,
listed or logged."""
import os
import signal
import stat
import subprocess
import time

import harness

DISPATCHD = os.path.join(harness.BUILD_DIR, "dispatchd")
DISPATCHCTL = os.path.join(harness.BUILD_DIR, "dispatchctl")
TOKENS_SEEN = []  # every token text the tests were given: none may leak


def key_file(w):
    path = os.path.join(w.root, "token.key")
    if not os.path.exists(path):
        r = ctl(w, "init-key", path, dsn=False)
        assert r.returncode == 0, r.stderr
    return path


def ctl(w, *args, dsn=True, key=False):
    argv = [DISPATCHCTL, "tokens"] + list(args)
    if dsn:
        argv += ["--dsn", w.pg.dsn]
    if key:
        argv += ["--key-file", key_file(w)]
    return subprocess.run(argv, capture_output=True, text=True)


def create(w, *args):
    r = ctl(w, "create", *args, key=True)
    assert r.returncode == 0, r.stderr
    fields = dict(line.split(None, 1) for line in r.stdout.splitlines())
    TOKENS_SEEN.append(fields["token"])
    return fields["token"], fields["id"]


def daemon(w, key=True):
    extra = f"[auth]\ntoken_key_file = {key_file(w)}\n" if key else ""
    return w.daemon(extra_conf=extra, auth=key)


def whoami(d, token):
    return d.get("/v1/admin/tokens/whoami", headers={"Authorization": f"Bearer {token}"})


def list_rows(w):
    r = ctl(w, "list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    head = lines[0].split("\t")
    return r.stdout, {row[0]: dict(zip(head, row)) for row in (l.split("\t") for l in lines[1:])}


def assert_not_stored(w, token):
    """No column of any api_tokens row holds the token or its random part."""
    secret = token.split("_", 2)[2]
    for needle in (token, secret):
        n = w.pg.psql("dispatchd", "SELECT count(*) FROM api_tokens t WHERE "
                                   f"position('{needle}' IN t::text) > 0 OR "
                                   f"position(convert_to('{needle}', 'UTF8') IN t.hash) > 0")
        assert n == "0", needle


def test_init_key_writes_a_private_file_once(w):
    path = key_file(w)
    st = os.stat(path)
    assert st.st_size == 32 and stat.S_IMODE(st.st_mode) == 0o600, st
    r = ctl(w, "init-key", path, dsn=False)
    assert r.returncode == 1 and "cannot create" in r.stderr, r
    # A short key file is refused at startup, naming the key.
    short = os.path.join(w.root, "short.key")
    with open(short, "wb") as f:
        f.write(b"x" * 31)
    conf = os.path.join(w.root, "short.conf")
    with open(conf, "w") as f:
        f.write(f"[auth]\ntoken_key_file = {short}\n")
    r = subprocess.run([DISPATCHD, "--check-config", "-c", conf], capture_output=True, text=True)
    assert r.returncode == 1 and "token_key_file" in r.stderr and "32" in r.stderr, r.stderr


def test_dispatchctl_create_list_revoke(w):
    token, tid = create(w, "--role", "courier", "--courier", "c-042", "--label", "handheld 42",
                        "--expires", "30d")
    assert token.startswith("dsp_cour_") and len(token) == len("dsp_cour_") + 43, token
    assert tid.startswith("tok_") and len(tid) == 20, tid
    out, rows = list_rows(w)
    assert token not in out and token.split("_", 2)[2] not in out
    row = rows[tid]
    assert row["role"] == "courier" and row["scope"] == "c-042" and row["label"] == "handheld 42"
    assert row["revoked"] == "-" and row["expires"] != "-" and row["created_by"] == "dispatchctl"
    assert_not_stored(w, token)
    # The table has no column that could hold a token: only the 32-byte hash.
    cols = w.pg.psql("dispatchd", "SELECT string_agg(column_name, ',' ORDER BY column_name) "
                                  "FROM information_schema.columns WHERE table_name = 'api_tokens'")
    assert cols == ("created_at,created_by,expires_at,hash,id,label,last_used_at,revoked_at,"
                    "role,scope"), cols
    # Nor does any list show the stored hash.
    digest = w.pg.psql("dispatchd", f"SELECT encode(hash, 'hex') FROM api_tokens WHERE id = '{tid}'")
    assert len(digest) == 64 and digest not in out
    r = ctl(w, "revoke", tid)
    assert r.returncode == 0 and "revoked" in r.stdout, r
    r = ctl(w, "revoke", tid)
    assert r.returncode == 0 and "already" in r.stdout, r
    assert list_rows(w)[1][tid]["revoked"] != "-"
    r = ctl(w, "revoke", "tok_0000000000000000")
    assert r.returncode == 1 and "no token" in r.stderr, r


def test_dispatchctl_reads_dsn_and_key_from_the_config(w):
    conf = os.path.join(w.root, "ctl.conf")
    with open(conf, "w") as f:
        f.write(f"[postgres]\ndsn = {w.pg.dsn}\n[auth]\ntoken_key_file = {key_file(w)}\n")
    r = subprocess.run([DISPATCHCTL, "tokens", "create", "--role", "warehouse", "--warehouse",
                        "WH-1", "--warehouse", "WH-2", "-c", conf], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    fields = dict(line.split(None, 1) for line in r.stdout.splitlines())
    TOKENS_SEEN.append(fields["token"])
    assert fields["scope"] == "WH-1,WH-2" and fields["expires"] == "-", fields
    assert "shown only this once" in r.stderr
    d = daemon(w)
    harness.wait_until(lambda: whoami(d, fields["token"]).status == 200, timeout=5,
                       what="the daemon to accept a token made with the same key file")
    r = whoami(d, fields["token"]).json()
    assert r["scope"] == ["WH-1", "WH-2"] and r["role"] == "warehouse", r
    r = subprocess.run([DISPATCHCTL, "tokens", "list", "-c", conf], capture_output=True, text=True)
    assert r.returncode == 0 and fields["id"] in r.stdout and fields["token"] not in r.stdout, r


def test_dispatchctl_refuses_bad_requests(w):
    cases = [
        (["--role", "courier"], "exactly one --courier"),
        (["--role", "courier", "--courier", "a", "--courier", "b"], "exactly one --courier"),
        (["--role", "admin", "--station", "s1"], "no scope"),
        (["--role", "station", "--warehouse", "w1"], "--station"),
        (["--role", "root"], "--role must be"),
        (["--role", "admin", "--expires", "30y"], "--expires"),
        (["--role", "warehouse", "--warehouse", "bad id"], "not an id"),
    ]
    admins = w.pg.psql("dispatchd", "SELECT count(*) FROM api_tokens WHERE role = 'admin'")
    for args, why in cases:
        r = ctl(w, "create", *args, key=True)
        assert r.returncode == 2 and why in r.stderr, (args, r.stderr)
    r = ctl(w, "create", "--role", "admin")  # no key file given
    assert r.returncode == 1 and "no token key" in r.stderr, r
    assert w.pg.psql("dispatchd", "SELECT count(*) FROM api_tokens WHERE role = 'admin'") == admins


def test_whoami_names_the_principal(w):
    token, tid = create(w, "--role", "station", "--station", "ST-1", "--station", "ST-2",
                        "--label", "north depot")
    d = daemon(w)
    r = harness.wait_until(lambda: (lambda x: x if x.status == 200 else None)(whoami(d, token)),
                           timeout=5, what="the daemon to load the token")
    p = r.json()
    assert p == {"id": tid, "role": "station", "scope": ["ST-1", "ST-2"],
                 "label": "north depot", "expires_at": None}, p
    r = d.get("/v1/admin/tokens/whoami", token=None)
    assert r.status == 401 and r.headers["www-authenticate"] == "Bearer", r
    assert r.json()["type"] == "urn:dispatchd:problem:unauthorized"
    for bad in ("nonsense", token[:-1], token[:-1] + ("A" if token[-1] != "A" else "B"),
                "dsp_admin_" + token.split("_", 2)[2]):
        r = whoami(d, bad)
        assert r.status == 401 and "invalid_token" in r.headers["www-authenticate"], (bad, r)
    r = d.get("/v1/admin/tokens/whoami", headers={"Authorization": f"Basic {token}"})
    assert r.status == 401, r
    # Uses are written to last_used_at in batches, not per request, and do not
    # count as a change of the token table (which would make every daemon re-read it).
    version = w.pg.psql("dispatchd", "SELECT version FROM api_tokens_version")
    harness.wait_until(lambda: w.pg.psql("dispatchd", "SELECT last_used_at IS NOT NULL FROM "
                                                      f"api_tokens WHERE id = '{tid}'") == "t",
                       timeout=8, what="last_used_at to be written")
    assert w.pg.psql("dispatchd", "SELECT version FROM api_tokens_version") == version
    # Any change of the table, even by hand, is seen.
    w.pg.psql("dispatchd", f"UPDATE api_tokens SET revoked_at = now() WHERE id = '{tid}'")
    assert w.pg.psql("dispatchd", "SELECT version FROM api_tokens_version") != version
    harness.wait_until(lambda: whoami(d, token).status == 401, timeout=5, what="revocation")


def test_api_create_list_revoke(w):
    d = daemon(w)
    r = d.request("POST", "/v1/admin/tokens", body={"role": "warehouse", "warehouses": ["WH-1"],
                                                   "label": "dock scanner", "expires_in": "12h"})
    assert r.status == 201, r
    doc = r.json()
    token, tid = doc["token"], doc["id"]
    TOKENS_SEEN.append(token)
    assert token.startswith("dsp_whse_") and doc["role"] == "warehouse", doc
    assert doc["scope"] == ["WH-1"] and doc["label"] == "dock scanner" and doc["revoked_at"] is None
    # Created with the harness's admin token: it is named as the creator.
    assert doc["created_by"].startswith("tok_") and doc["expires_at"] is not None, doc
    assert_not_stored(w, token)
    r = harness.wait_until(lambda: (lambda x: x if x.status == 200 else None)(whoami(d, token)),
                           timeout=5, what="the new token to be usable")
    assert r.json()["id"] == tid
    # A token created with an admin token names its creator.
    admin, admin_id = create(w, "--role", "admin", "--label", "ops")
    harness.wait_until(lambda: whoami(d, admin).status == 200, timeout=5, what="admin token")
    r = d.request("POST", "/v1/admin/tokens", body={"role": "order_service"},
                  headers={"Authorization": f"Bearer {admin}"})
    assert r.status == 201 and r.json()["created_by"] == admin_id, r
    TOKENS_SEEN.append(r.json()["token"])
    r = d.get("/v1/admin/tokens")
    assert r.status == 200, r
    listed = {t["id"]: t for t in r.json()["tokens"]}
    assert set(listed) >= {tid, admin_id} and "token" not in listed[tid] and "hash" not in listed[tid]
    for t in TOKENS_SEEN:
        assert t not in r.body
    r = d.request("DELETE", f"/v1/admin/tokens/{tid}")
    assert r.status == 200 and r.json()["revoked_at"] is not None, r
    # The revoking daemon drops it at once.
    r = whoami(d, token)
    assert r.status == 401, r
    r = d.request("DELETE", f"/v1/admin/tokens/{tid}")
    assert r.status == 200, r
    for missing in ("tok_0000000000000000", "whatever"):
        r = d.request("DELETE", f"/v1/admin/tokens/{missing}")
        assert r.status == 404 and r.json()["type"] == "urn:dispatchd:problem:not-found", r


def test_api_refuses_bad_bodies(w):
    d = daemon(w)
    cases = [
        ({}, "role"),
        ({"role": "root"}, "role"),
        ({"role": "courier"}, "scope"),
        ({"role": "courier", "courier": "c-1", "stations": ["s"]}, "stations"),
        ({"role": "admin", "warehouses": ["w"]}, "warehouses"),
        ({"role": "station", "stations": []}, "scope"),
        ({"role": "station", "stations": ["ok", "not ok"]}, "stations"),
        ({"role": "admin", "expires_in": "soon"}, "expires_in"),
        ({"role": "admin", "expires_in": 0}, "expires_in"),
        ({"role": "admin", "label": "x" * 201}, "label"),
    ]
    for body, field in cases:
        r = d.request("POST", "/v1/admin/tokens", body=body)
        assert r.status == 422, (body, r)
        assert field in [e["field"] for e in r.json()["errors"]], (body, r.json())
    assert w.pg.psql("dispatchd", "SELECT count(*) FROM api_tokens WHERE created_by = "
                                  "'anonymous' AND role = 'admin'") == "0"


def test_revocation_reaches_every_daemon_within_5s(w):
    token, tid = create(w, "--role", "courier", "--courier", "c-7")
    a, b = daemon(w), daemon(w)
    for d in (a, b):
        harness.wait_until(lambda: whoami(d, token).status == 200, timeout=5, what="token loaded")
    # Revoked through one daemon's API: the other one drops it within 5 s.
    r = a.request("DELETE", f"/v1/admin/tokens/{tid}")
    assert r.status == 200, r
    t0 = time.monotonic()
    assert whoami(a, token).status == 401
    harness.wait_until(lambda: whoami(b, token).status == 401, timeout=5,
                       what="the other daemon to drop the revoked token")
    # And through dispatchctl, with no daemon involved.
    token2, tid2 = create(w, "--role", "engineer", "--engineer", "e-1")
    for d in (a, b):
        harness.wait_until(lambda: whoami(d, token2).status == 200, timeout=5, what="loaded")
    assert ctl(w, "revoke", tid2).returncode == 0
    t0 = time.monotonic()
    for d in (a, b):
        harness.wait_until(lambda: whoami(d, token2).status == 401,
                           timeout=max(0.1, 5 - (time.monotonic() - t0)),
                           what="every daemon to drop the revoked token")


def test_expiry_is_honoured(w):
    # 3 s, or longer when the daemon is slowed down (valgrind: TIME_SCALE).
    token, tid = create(w, "--role", "admin", "--expires", f"{round(3 * harness.TIME_SCALE)}s")
    d = daemon(w)
    r = harness.wait_until(lambda: (lambda x: x if x.status == 200 else None)(whoami(d, token)),
                           timeout=3, what="the token before it expires")
    assert r.json()["expires_at"].endswith("Z"), r.json()
    harness.wait_until(lambda: whoami(d, token).status == 401, timeout=6, what="expiry")
    row = list_rows(w)[1][tid]
    assert row["revoked"] == "-", row  # expired, not revoked


def test_metrics_show_the_cache(w):
    d = daemon(w)
    harness.wait_until(lambda: d.metric('dispatchd_api_tokens_refreshes_total{result="ok"}'),
                       timeout=5, what="a token table read")
    live = d.metric("dispatchd_api_tokens_live")
    def live_at(when):
        return int(w.pg.psql("dispatchd", "SELECT count(*) FROM api_tokens WHERE revoked_at IS "
                                          f"NULL AND (expires_at IS NULL OR expires_at > {when})"))
    # Tokens that expired since the last full read (once a minute) are still
    # in the table, refused from memory by their expiry.
    assert live_at("now()") <= live <= live_at("now() - interval '70 seconds'"), live
    age = d.metric("dispatchd_api_tokens_table_age_seconds")
    assert 0 <= age < 5, age


def test_a_bad_key_file_on_reload_keeps_the_old_key(w):
    token, _ = create(w, "--role", "admin")
    d = daemon(w)
    harness.wait_until(lambda: whoami(d, token).status == 200, timeout=5, what="token loaded")
    missing = os.path.join(w.root, "missing.key")
    d.write_conf(d.conf_text(f"[auth]\ntoken_key_file = {missing}\n"))
    d.signal(signal.SIGHUP)
    harness.wait_until(lambda: "token_key_file" in d.log() and "reload failed" in d.log(),
                       timeout=5, what="the failed reload")
    assert whoami(d, token).status == 200
    # Another key, read on reload, makes every token unknown.
    other = os.path.join(w.root, "other.key")
    assert ctl(w, "init-key", other, dsn=False).returncode == 0
    d.write_conf(d.conf_text(f"[auth]\ntoken_key_file = {other}\n"))
    d.signal(signal.SIGHUP)
    harness.wait_until(lambda: whoami(d, token).status == 401, timeout=5,
                       what="the old key's tokens to be refused")


def test_without_a_key_no_token_is_accepted(w):
    token, _ = create(w, "--role", "admin")
    d = daemon(w, key=False)
    assert "token_key_file is not set" in d.log()
    # A refresh has run (the table is loaded), yet no token can be accepted,
    # so the daemon is not ready: a load balancer sends it nothing.
    harness.wait_until(lambda: d.get("/readyz", token=None).json()["checks"]["tokens"]["loaded"],
                       what="the token table read")
    r = d.get("/readyz", token=None)
    assert r.status == 503 and r.json()["status"] == "not ready", r
    r = whoami(d, token)
    assert r.status == 503 and r.json()["type"] == "urn:dispatchd:problem:not-ready", r
    r = d.request("POST", "/v1/admin/tokens", body={"role": "admin"})
    assert r.status == 503, r


def test_no_token_in_any_log(w):
    """Last: every daemon log of this module, and every token the tests saw."""
    assert len(TOKENS_SEEN) >= 5, TOKENS_SEEN
    logs = ""
    for name in os.listdir(w.root):
        if name.startswith("dispatchd-") and name.endswith(".log"):
            with open(os.path.join(w.root, name), errors="replace") as f:
                logs += f.read()
    assert "token" in logs and "tok_" in logs, "the audit lines are missing"
    for t in TOKENS_SEEN:
        assert t not in logs and t.split("_", 2)[2] not in logs, "a token reached a log"


if __name__ == "__main__":
    harness.run(globals())

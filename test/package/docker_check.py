#!/usr/bin/env python3
"""docker_check.py SRCROOT — docker/ stays consistent with the scripts and the README.

No docker engine is needed: compose.yml must parse (PyYAML) and describe postgres (healthcheck
with pg_isready), pgbouncer (transaction mode, mounted config that exists and parses) and tests
(built from a stage of docker/Dockerfile, PGORM_TEST_DSN at the compose postgres). The
Dockerfile's stages are Debian 12, every scripts/* it runs exists and is executable, the tests
stage runs scripts/test. Every `docker ...` command in README.md names files and stages that
exist, and README documents `docker compose -f docker/compose.yml up`.
"""
import configparser
import os
import re
import shlex
import sys

import yaml

errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)
    return cond


def dsn_fields(dsn):
    return dict(kv.split("=", 1) for kv in shlex.split(dsn) if "=" in kv)


def main():
    root = sys.argv[1]
    ddir = os.path.join(root, "docker")
    compose_path = os.path.join(ddir, "compose.yml")
    with open(compose_path, encoding="utf-8") as f:
        compose = yaml.safe_load(f)
    services = compose.get("services") or {}
    for s in ("postgres", "pgbouncer", "tests"):
        check(s in services, f"compose.yml: service '{s}' missing")
    if errors:
        return report()

    # Dockerfile stages
    stages = {}
    dockerfile_lines = []
    for svc in services.values():
        b = svc.get("build")
        if isinstance(b, dict):
            ctx = os.path.normpath(os.path.join(ddir, b.get("context", ".")))
            dfp = os.path.join(ctx, b.get("dockerfile", "Dockerfile"))
            if check(os.path.isfile(dfp), f"compose.yml: dockerfile {dfp} missing"):
                dockerfile_lines = parse_dockerfile(dfp, ctx, stages)
            if "target" in b:
                check(b["target"] in stages, f"compose.yml: build target '{b['target']}' is not a stage")

    pg = services["postgres"]
    check(str(pg.get("image", "")).startswith("postgres:15"), "postgres: image must be postgres:15")
    hc = pg.get("healthcheck", {}).get("test", [])
    check("pg_isready" in " ".join(hc if isinstance(hc, list) else [hc]), "postgres: healthcheck must use pg_isready")
    pw = (pg.get("environment") or {}).get("POSTGRES_PASSWORD")

    pb = services["pgbouncer"]
    mounts = {}
    for v in pb.get("volumes", []):
        src, dst = v.split(":")[:2]
        mounts[dst] = os.path.normpath(os.path.join(ddir, src))
        check(os.path.isfile(mounts[dst]), f"pgbouncer: mounted file {src} missing")
    ini_path = mounts.get("/etc/pgbouncer/pgbouncer.ini")
    bouncer_port = None
    if check(ini_path is not None, "pgbouncer: /etc/pgbouncer/pgbouncer.ini not mounted") and os.path.isfile(ini_path):
        ini = configparser.ConfigParser(inline_comment_prefixes=(";",))
        ini.read(ini_path)
        b = ini["pgbouncer"]
        check(b.get("pool_mode") == "transaction", "pgbouncer.ini: pool_mode must be transaction")
        bouncer_port = b.get("listen_port")
        auth_file = b.get("auth_file")
        check(auth_file in mounts, f"pgbouncer.ini: auth_file {auth_file} is not mounted")
        dbs = dict(ini["databases"])
        check(dbs, "pgbouncer.ini: no [databases]")
        for name, spec in dbs.items():
            check(dsn_fields(spec).get("host") == "postgres", f"pgbouncer.ini: database {name} must point at host=postgres")
        if auth_file in mounts and os.path.isfile(mounts[auth_file]):
            users = dict(shlex.split(line)[:2] for line in open(mounts[auth_file]) if line.strip())
            check("postgres" in users, "userlist.txt: user postgres missing")

    t = services["tests"]
    env = t.get("environment") or {}
    dsn = dsn_fields(str(env.get("PGORM_TEST_DSN", "")))
    check(dsn.get("host") == "postgres", "tests: PGORM_TEST_DSN must use host=postgres")
    check(dsn.get("password", pw) == pw, "tests: PGORM_TEST_DSN password differs from POSTGRES_PASSWORD")
    if (pg.get("environment") or {}).get("POSTGRES_HOST_AUTH_METHOD") != "trust":
        check("password" in dsn, "tests: PGORM_TEST_DSN needs the password unless the server trusts")
    check(dsn.get("dbname") == (pg.get("environment") or {}).get("POSTGRES_DB"), "tests: PGORM_TEST_DSN dbname differs from POSTGRES_DB")
    bdsn = dsn_fields(str(env.get("PGORM_TEST_PGBOUNCER_DSN", "")))
    check(bdsn.get("host") == "pgbouncer" and bdsn.get("port") == bouncer_port,
          "tests: PGORM_TEST_PGBOUNCER_DSN must use host=pgbouncer and pgbouncer.ini's listen_port")
    dep = t.get("depends_on") or {}
    check(isinstance(dep, dict) and (dep.get("postgres") or {}).get("condition") == "service_healthy",
          "tests: must depend on postgres with condition service_healthy")
    tgt = (t.get("build") or {}).get("target")
    if tgt in stages:
        check(stages[tgt]["cmd"] and "scripts/test" in stages[tgt]["cmd"], "Dockerfile: the tests stage must run scripts/test")
        check(any("scripts/deps" in r for r in stages[tgt]["run"]), "Dockerfile: the tests stage must run scripts/deps")

    # README
    readme = open(os.path.join(root, "README.md"), encoding="utf-8").read()
    check("docker compose -f docker/compose.yml up" in readme, "README.md: must document `docker compose -f docker/compose.yml up`")
    ndocker = 0
    for line in readme.splitlines():
        line = line.strip().strip("`").strip()
        if not line.startswith("docker "):
            continue
        ndocker += 1
        words = shlex.split(line.split("&&")[0])
        for i, w in enumerate(words[:-1]):
            if w == "-f":
                check(os.path.isfile(os.path.join(root, words[i + 1])), f"README.md: `{line}` names missing file {words[i + 1]}")
            if w == "--target":
                check(words[i + 1] in stages, f"README.md: `{line}` names unknown stage {words[i + 1]}")
    # commands in the Dockerfile's / compose.yml's header comments appear in README verbatim
    for path in (compose_path, os.path.join(ddir, "Dockerfile")):
        for line in open(path, encoding="utf-8"):
            m = re.match(r"#\s+(docker .*)$", line.strip())
            if m:
                check(m.group(1).strip() in readme, f"README.md: missing `{m.group(1).strip()}` (documented in {os.path.basename(path)})")
    if not errors:
        print(f"docker: compose.yml ({len(services)} services), {len(stages)} Dockerfile stages, "
              f"{ndocker} README docker commands: consistent")
    return report()


def parse_dockerfile(path, ctx, stages):
    lines, cur = [], ""
    for raw in open(path, encoding="utf-8"):
        s = raw.rstrip("\n")
        if not cur and (not s.strip() or s.lstrip().startswith("#")):
            continue
        cur += s.rstrip("\\") + " "
        if not s.endswith("\\"):
            lines.append(cur.strip())
            cur = ""
    stage = None
    for ln in lines:
        instr, _, rest = ln.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            check(m.group(1) == "debian:12", f"Dockerfile: stage base {m.group(1)} is not debian:12")
            stage = {"run": [], "cmd": None}
            stages[m.group(2) or f"#{len(stages)}"] = stage
        elif stage is None:
            errors.append("Dockerfile: instruction before FROM")
        elif instr == "RUN":
            stage["run"].append(rest)
        elif instr == "CMD":
            stage["cmd"] = rest
        elif instr == "COPY":
            srcs = shlex.split(rest)[:-1]
            for s in srcs:
                if not s.startswith("--"):
                    check(os.path.exists(os.path.join(ctx, s)), f"Dockerfile: COPY source {s} missing")
        if instr in ("RUN", "CMD"):
            for sc in re.findall(r"scripts/[\w.-]+", rest):
                p = os.path.join(ctx, sc)
                check(os.path.isfile(p) and os.access(p, os.X_OK), f"Dockerfile: {sc} missing or not executable")
    return lines


def report():
    for e in errors:
        print("docker:", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

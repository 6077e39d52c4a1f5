"""A real PostgreSQL server for the tests that need one, started on a loopback port in a
temporary directory. Under CI=true a missing server is a failure, never a skip."""

import glob
import os
import shutil
import socket
import subprocess
import tempfile

import pytest


def _server_binaries():
    for candidate in [shutil.which("pg_ctl"), *sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)]:
        if candidate and os.path.exists(os.path.join(os.path.dirname(candidate), "initdb")):
            return os.path.dirname(os.path.realpath(candidate))
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    """`postgresql+psycopg://postgres@127.0.0.1:PORT` (no database part)."""
    bindir = _server_binaries()
    if bindir is None:
        message = "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    home = tempfile.mkdtemp(prefix="astschema-pg-")
    data = os.path.join(home, "data")
    # initdb refuses to run as root: run the server as the `postgres` user the package made
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(home, "postgres")
    port = _free_port()
    subprocess.run([*as_user, f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                    "--no-sync"], check=True, capture_output=True)
    options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    subprocess.run([*as_user, f"{bindir}/pg_ctl", "-D", data, "-o", options, "-l", f"{home}/server.log", "-w",
                    "start"], check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*as_user, f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)

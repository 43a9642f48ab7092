"""Helpers shared by the contract checks: free ports, child processes with bounded readiness
polling, a tiny TOML writer for generated gateway configs, and JSON over HTTP."""

import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

READY_TIMEOUT_S = 60


def stop_children_on_sigterm() -> None:
    """Turn SIGTERM (e.g. a CI timeout) into SystemExit, so `finally` blocks stop the children."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Child:
    """A child process whose output goes to a log file; stopped by its own PID."""

    def __init__(self, name: str, argv: list[str], log_path: str, cwd: str | None = None, env: dict | None = None):
        self.name, self.log_path = name, log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    def wait_http(self, url: str, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Poll `url` until it answers anything (bounded); fail if the process dies first."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                urllib.request.urlopen(url, timeout=2).close()
                return
            except urllib.error.HTTPError:
                return  # it answered, with an error status: that is ready enough
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout_s}s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return "\n".join(f.read().decode(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # its own process group, started above
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def gateway_env() -> dict:
    """This environment without `CHECKOUT_GATEWAY*` overrides: the generated config is the config."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CHECKOUT_GATEWAY")}


def toml_value(value) -> str:
    """A JSON value as an inline TOML value (JSON string escapes are valid TOML basic strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {value!r}")


def toml_table(name: str, entries: dict) -> str:
    return f"[{name}]\n" + "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in entries.items()) + "\n"


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def call(method: str, url: str, headers: dict, body: bytes | None = None, timeout: float = 30):
    """(status, headers, parsed JSON body or text) without raising on error statuses."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        try:
            connection.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body, headers)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered before reading the whole body (e.g. 413): read that answer
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        payload = raw.decode(errors="replace")
    return response.status, dict(response.getheaders()), payload

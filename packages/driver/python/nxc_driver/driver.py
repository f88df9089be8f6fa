"""Runs a NixOS-test-style script against a running nxc deployment.

The globals a script sees: ``start_all()``, ``machines``, ``subtest(name)``, ``driver``,
``log``, ``retry``, ``join_all()``, ``set_default_timeout(seconds)``, ``roles`` (role name
-> list of machines), ``os``, one object per node named after its hostname (dashes become
underscores) and ``machine`` when there is exactly one node.
"""

import code
import os
import sys
import time
import traceback
from contextlib import contextmanager

from .machine import Machine
from .rpc import Channel, ChannelClosed, RemoteError, StreamToChannel


class Logger:
    """The ``log`` global (a subset of the NixOS driver's rootlog)."""

    def __init__(self, channel):
        self._channel = channel

    def log(self, message, attributes=None):
        self._channel.notify("log", message=str(message))

    info = log
    warning = log
    error = log

    @contextmanager
    def nested(self, message, attributes=None):
        self.log(message)
        yield


def _targets(items):
    """Machines, hostnames or "@role" strings -> target strings (one item may stand alone)."""
    if isinstance(items, (str, Machine)):
        items = [items]
    return [getattr(i, "host", None) or str(i) for i in items]


def retry(fn, timeout=900):
    """Call ``fn(last_try)`` every second until it returns True; raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fn(False):
            return
        time.sleep(1)
    if not fn(True):
        raise Exception(f"action timed out after {timeout} seconds")


def _script_line(tb, label):
    """Line of the innermost frame that belongs to the test script."""
    line = None
    for frame in traceback.extract_tb(tb):
        if frame.filename == label:
            line = frame.lineno
    return line


def _describe(exc):
    if isinstance(exc, RemoteError):
        return exc.message, exc.code, exc.details
    if isinstance(exc, AssertionError):
        text = str(exc)
        return ("assertion failed" + (f": {text}" if text else "")), "NXC_TEST_FAILED", ""
    return f"{type(exc).__name__}: {exc}", "NXC_TEST_FAILED", ""


class Driver:
    def __init__(self, channel):
        self.channel = channel
        hello = channel.call("hello")
        self.composition = hello.get("composition", "")
        self.flavour = hello.get("flavour", "")
        self.script = hello.get("script")
        self.label = hello.get("scriptLabel") or "testScript"
        self.interactive = bool(hello.get("interactive"))
        self.machines = [
            Machine(
                channel,
                n["host"],
                n.get("role", ""),
                n.get("address", ""),
                n.get("name"),
                index=n.get("index", 1),
                global_index=n.get("globalIndex", 0),
                uuid=n.get("uuid"),
                parameters=n.get("parameters"),
                disks=n.get("disks"),
                interactive=self.interactive,
            )
            for n in hello["nodes"]
        ]
        self.roles = {}
        for m in self.machines:
            self.roles.setdefault(m.role, []).append(m)
        self.log = Logger(channel)
        self._subtests = []

    # globals ------------------------------------------------------------------
    def start_all(self):
        """Nodes were started by `nxc start`: wait until each one answers."""
        self.channel.call("start_all")

    def join_all(self):
        for m in self.machines:
            m.wait_for_shutdown()

    def set_default_timeout(self, seconds):
        """Timeout of every wait and command that is not given one (default 900 s)."""
        self.channel.call("set_timeout", seconds=seconds)

    def partition(self, a, b):
        """Cut every node of `a` off from every node of `b`: machines, hostnames or "@role"."""
        self.channel.call("partition", a=_targets(a), b=_targets(b))

    def delay(self, a, b, delay, jitter=None):
        """Add latency (each way) between `a` and `b`: "50ms", "1s" or a number of ms; jitter alike."""
        self.channel.call("shape", kind="delay", a=_targets(a), b=_targets(b), value=delay, jitter=jitter)

    def loss(self, a, b, percent):
        """Drop a share of the packets (each way) between `a` and `b`: "5%" or 5."""
        self.channel.call("shape", kind="loss", a=_targets(a), b=_targets(b), value=percent)

    def rate(self, a, b, rate):
        """Limit the bandwidth (each way) between `a` and `b`: "10mbit", "512kbit" or a number of kbit/s."""
        self.channel.call("shape", kind="rate", a=_targets(a), b=_targets(b), value=rate)

    def heal(self, *targets):
        """Remove the network conditions nxc put in force (those touching `targets` if given)."""
        self.channel.call("heal", targets=_targets(list(targets)))

    @contextmanager
    def subtest(self, name):
        name = str(name)
        self.channel.notify("subtest_start", name=name)
        started = time.monotonic()
        try:
            yield
        except BaseException as exc:
            message, code, details = _describe(exc)
            if isinstance(exc, KeyboardInterrupt):
                message, code = "interrupted", "NXC_INTERRUPTED"
            self.channel.notify(
                "subtest_end",
                name=name,
                ok=False,
                duration=time.monotonic() - started,
                message=message,
                code=code,
                details=details,
                line=_script_line(exc.__traceback__, self.label),
            )
            raise
        self.channel.notify("subtest_end", name=name, ok=True, duration=time.monotonic() - started)

    def symbols(self):
        symbols = dict(
            start_all=self.start_all,
            join_all=self.join_all,
            machines=self.machines,
            roles=self.roles,
            driver=self,
            log=self.log,
            os=os,
            subtest=self.subtest,
            retry=retry,
            set_default_timeout=self.set_default_timeout,
            partition=self.partition,
            heal=self.heal,
            delay=self.delay,
            loss=self.loss,
            rate=self.rate,
            serial_stdout_on=lambda: None,
            serial_stdout_off=lambda: None,
            Machine=Machine,
        )
        for m in self.machines:
            symbols[m.name] = m
        if len(self.machines) == 1:
            symbols["machine"] = self.machines[0]
        return symbols

    # running ------------------------------------------------------------------
    def _name_hint(self, exc):
        """For a NameError, what the script can use instead (nodes, and a role's nodes)."""
        name = getattr(exc, "name", None)
        if not isinstance(exc, NameError) or not name:
            return ""
        hint = "nodes: " + ", ".join(m.name for m in self.machines)
        if name in self.roles:
            members = ", ".join(m.name for m in self.roles[name])
            hint += f"; role {name} has nodes {members} (use roles[{name!r}])"
        return hint

    def _fail(self, exc, code_override=None, line=None):
        message, code, details = _describe(exc)
        details = "\n".join(x for x in (details, self._name_hint(exc)) if x)
        if line is None:
            line = _script_line(exc.__traceback__, self.label)
        source_line = ""
        if line is not None and self.script:
            lines = self.script.splitlines()
            if 0 < line <= len(lines):
                source_line = lines[line - 1].strip()
        self.channel.notify(
            "failure",
            message=message,
            code=code_override or code,
            details=details,
            line=line,
            sourceLine=source_line,
            traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        )

    def run_script(self, symbols):
        """Returns the process exit code: 0 ok, 1 test failed, 2 script does not compile."""
        try:
            compiled = compile(self.script, self.label, "exec")
        except SyntaxError as exc:
            exc_msg = f"syntax error: {exc.msg}"
            self.channel.notify(
                "failure", message=exc_msg, code="NXC_USAGE", details="", line=exc.lineno,
                sourceLine=(exc.text or "").strip(), traceback="",
            )
            return 2
        try:
            exec(compiled, symbols, None)
        except KeyboardInterrupt:
            return 130
        except ChannelClosed:
            return 130
        except SystemExit as exc:
            if exc.code in (None, 0):
                return 0
            self._fail(Exception(f"the script called exit({exc.code})"), line=_script_line(exc.__traceback__, self.label))
            return 1
        except BaseException as exc:  # noqa: BLE001 - every failure of the script is reported
            self._fail(exc)
            return 1
        return 0

    def main(self):
        symbols = self.symbols()
        status = 0
        real_stdout, real_stderr = sys.stdout, sys.stderr
        if not self.interactive:
            # Keep prints in order with the command log written by nxc.
            sys.stdout = StreamToChannel(self.channel, "stdout", real_stdout)
            sys.stderr = StreamToChannel(self.channel, "stderr", real_stderr)
        try:
            if self.script is not None:
                status = self.run_script(symbols)
        finally:
            sys.stdout, sys.stderr = real_stdout, real_stderr
        if self.interactive:
            names = ", ".join(m.name for m in self.machines)
            banner = (
                f"nxc driver: {self.composition}::{self.flavour}, nodes: {names}\n"
                "globals: start_all(), machines, roles, subtest(name), log, retry(fn), set_default_timeout(s)\n"
                "Ctrl-D to quit."
            )
            try:
                code.interact(banner=banner, local=symbols, exitmsg="")
            except SystemExit:
                pass
        return status


def main():
    channel = Channel.from_env()
    try:
        driver = Driver(channel)
        status = driver.main()
    except KeyboardInterrupt:
        status = 130
    except ChannelClosed:
        status = 130
    try:
        sys.stdout.flush()
    except Exception:  # noqa: BLE001
        pass
    os._exit(status)

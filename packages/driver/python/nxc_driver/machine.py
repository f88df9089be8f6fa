"""One node of the deployment, NixOS-test style.

Every method is a call to the nxc process, which runs the command on the node through
the flavour's transport (docker exec, SSH...) and enforces the timeouts. The semantics
(what succeeds, what a wait checks, what an error says) live in one place, the TypeScript
`Machine` of @nxc/driver, shared with the TypeScript API.
"""

import time

# Methods of the NixOS test driver that need a VM console, a monitor or a display.
_VM_ONLY = {
    "send_keys",
    "send_monitor_command",
    "screenshot",
    "get_screen_text",
    "get_screen_text_variants",
    "wait_for_text",
    "wait_for_window",
    "get_window_names",
    "wait_for_x",
    "shell_interact",
    "switch_root",
    "wait_for_qmp_event",
}

# Methods of the NixOS test driver nxc does not provide, with what to do instead.
_INSTEAD = {
    "reboot": "use shutdown() then start() (the flavours that can: docker, QEMU)",
}


def _pattern(regex):
    """A compiled Python pattern or a string -> the expression's source."""
    return getattr(regex, "pattern", regex)


class Machine:
    """A node: ``server.succeed("...")``. ``name`` is the Python name (dashes become
    underscores), ``host`` the deployment hostname, ``role`` its role, ``index`` its rank
    within the role (from 1: client2 is 2), ``global_index`` its rank in the deployment
    (from 0: ``machines[m.global_index] is m``), ``uuid`` its UUID in this deployment (None
    for a document without one), ``parameters`` the -p values it sees (global < role < node)
    and ``disks`` its block devices (its role's nxc.disks): a list of dicts with ``id``,
    ``size``, ``bytes`` and ``device`` (/dev/disk/by-id/virtio-<id>), empty when none."""

    def __init__(self, channel, host, role, address="", name=None, index=1, global_index=0, uuid=None, parameters=None, disks=None, interactive=False):
        self._channel = channel
        self._interactive = interactive
        self.host = host
        self.name = name or host.replace("-", "_")
        self.role = role
        self.address = address
        self.index = index
        self.global_index = global_index
        self.uuid = uuid
        self.parameters = parameters if parameters is not None else {}
        self.disks = disks if disks is not None else []

    def __repr__(self):
        return f"<Machine '{self.host}' role={self.role}>"

    def _call(self, op, **args):
        return self._channel.call("node", host=self.host, op=op, args=args)

    def __getattr__(self, attr):
        if attr in _VM_ONLY:
            raise AttributeError(
                f"{self.host}.{attr}() is a VM console feature of the NixOS test driver that nxc does not provide; "
                "use succeed()/execute() with a shell command instead"
            )
        if attr in _INSTEAD:
            raise AttributeError(f"{self.host}.{attr}() is not provided by nxc; {_INSTEAD[attr]}")
        raise AttributeError(f"{self.host} has no method {attr}()")

    # commands -------------------------------------------------------------
    def execute(self, command, check_return=True, check_output=True, timeout=None):
        """Run a shell command; return ``(exit_code, stdout)``. Never raises on a non-zero exit."""
        r = self._call("execute", command=command, timeout=timeout)
        return (r["exitCode"], r["stdout"])

    def succeed(self, *commands, timeout=None):
        """Run each command; raise if one exits non-zero; return their joined stdout."""
        return self._call("succeed", commands=list(commands), timeout=timeout)

    def fail(self, *commands, timeout=None):
        """Run each command; raise if one exits zero; return their joined stdout."""
        return self._call("fail", commands=list(commands), timeout=timeout)

    # waits ----------------------------------------------------------------
    def wait_until_succeeds(self, command, timeout=None):
        """Retry the command every second until it exits 0; return its stdout."""
        return self._call("wait_until_succeeds", command=command, timeout=timeout)

    def wait_until_fails(self, command, timeout=None):
        """Retry the command every second until it exits non-zero; return its stdout."""
        return self._call("wait_until_fails", command=command, timeout=timeout)

    def wait_for_unit(self, unit, user=None, timeout=None):
        """Wait until a systemd unit is active (see the package README for nodes without systemd)."""
        self._call("wait_for_unit", unit=unit, user=user, timeout=timeout)

    def wait_for_open_port(self, port, addr="localhost", timeout=None):
        """Wait until something listens on ``addr:port`` (seen from the node)."""
        self._call("wait_for_open_port", port=int(port), addr=addr, timeout=timeout)

    def wait_for_closed_port(self, port, addr="localhost", timeout=None):
        """Wait until nothing listens on ``addr:port`` any more."""
        self._call("wait_for_closed_port", port=int(port), addr=addr, timeout=timeout)

    def wait_for_file(self, filename, timeout=None):
        """Wait until the file exists on the node."""
        self._call("wait_for_file", path=filename, timeout=timeout)

    def wait_for_open_unix_socket(self, addr, is_datagram=False, timeout=None):
        """Wait until a process listens on the UNIX-domain socket ``addr`` (stream, or datagram)."""
        self._call("wait_for_open_unix_socket", path=str(addr), isDatagram=bool(is_datagram), timeout=timeout)

    def wait_for_job(self, jobname, timeout=None):
        self.wait_for_unit(jobname, timeout=timeout)

    # systemd --------------------------------------------------------------
    def systemctl(self, q, user=None):
        """Run ``systemctl q``; return ``(exit_code, stdout)``."""
        r = self._call("systemctl", query=q, user=user)
        return (r["exitCode"], r["stdout"])

    def get_unit_info(self, unit, user=None):
        """``systemctl show UNIT`` as a dict (``ActiveState``...)."""
        return self._call("get_unit_info", unit=unit, user=user)

    def get_unit_property(self, unit, property, user=None):
        """One property of a unit (``systemctl show UNIT --property=NAME``), as a string."""
        return self._call("get_unit_property", unit=unit, property=str(property), user=user)

    def require_unit_state(self, unit, require_state="active"):
        self._call("require_unit_state", unit=unit, state=require_state)

    def start_job(self, jobname, user=None):
        return self.systemctl(f"start {jobname}", user)

    def stop_job(self, jobname, user=None):
        return self.systemctl(f"stop {jobname}", user)

    # files ----------------------------------------------------------------
    def copy_from_host(self, source, target):
        """Copy a file or directory of this machine (where nxc runs) onto the node at ``target``."""
        self._call("copy_from_host", source=str(source), target=str(target))

    def copy_from_host_via_shell(self, source, target):
        self.copy_from_host(source, target)

    def copy_from_vm(self, source, target_dir=""):
        """Copy ``source`` from the node into ``$out/target_dir/`` (``$out`` defaults to the current directory)."""
        return self._call("copy_from_vm", source=str(source), targetDir=str(target_dir))

    def copy_from_machine(self, source, target_dir=""):
        """The NixOS driver's newer name of copy_from_vm()."""
        return self.copy_from_vm(source, target_dir)

    # lifecycle ------------------------------------------------------------
    def start(self):
        """Nodes are started by `nxc start`; this waits until the node answers."""
        self._call("start")

    def is_up(self):
        return bool(self._call("is_up"))

    def shutdown(self):
        """Power the node off and wait until it is down (when the flavour can)."""
        self._call("shutdown")

    def crash(self):
        """Stop the node abruptly (when the flavour can)."""
        self._call("crash")

    def block(self):
        """Cut this node off from every other node (when the flavour can; docker: from the host)."""
        self._call("block")

    def unblock(self):
        """Undo block(): remove the network conditions touching this node."""
        self._call("unblock")

    def wait_for_shutdown(self, timeout=None):
        self._call("wait_for_shutdown", timeout=timeout)

    def release(self):
        pass

    # console (QEMU flavours; see the package README for the others) --------
    def wait_for_console_text(self, regex, timeout=None):
        """Wait until the console output matches ``regex`` (each match consumes what it read)."""
        self._call("wait_for_console_text", regex=_pattern(regex), timeout=timeout)

    def get_console_log(self):
        """Everything the node's console printed since it started, as one string."""
        return self._call("get_console_log")

    def send_console(self, chars):
        """Write ``chars`` to the node's serial console input (QEMU flavours: ttyS0)."""
        self._call("send_console", chars=str(chars))

    def console_interact(self):
        """Type on the node's serial console from this terminal (``nxc driver -I`` only): each
        line typed is sent with its newline, what the console prints next is shown; Ctrl-D
        returns to the driver."""
        if not self._interactive:
            self._call("console_interact")  # refused by nxc, in one line
            return
        self._call("send_console", chars="")  # refused at once on a flavour without console input
        shown = len(self.get_console_log())
        print(f"{self.host}: serial console (each line is sent on Enter; Ctrl-D returns)", flush=True)
        while True:
            try:
                line = input()
            except EOFError:
                break
            except KeyboardInterrupt:
                break
            self.send_console(line + "\n")
            time.sleep(0.5)
            text = self.get_console_log()
            if len(text) < shown:
                shown = 0  # the console started over (the node was started again)
            if text[shown:].strip():
                print(text[shown:].lstrip("\n"), flush=True)
            shown = len(text)
        print(f"{self.host}: left the serial console", flush=True)

    def send_key(self, key, delay=0.01, log=True):
        """Press a key or chord (QEMU names: ``ctrl-alt-delete``, ``shift-a``, ``ret``)."""
        self._call("send_key", key=str(key), delay=delay)

    def send_chars(self, chars, delay=0.01):
        """Type ``chars`` on the node's keyboard (US layout)."""
        self._call("send_chars", chars=str(chars), delay=delay)

    def get_tty_text(self, tty):
        """Text of virtual terminal ``tty`` (read from /dev/vcs<tty> on the node)."""
        return self._call("get_tty_text", tty=str(tty))

    def wait_until_tty_matches(self, tty, regexp, timeout=None):
        """Wait until the text of virtual terminal ``tty`` matches ``regexp``."""
        self._call("wait_until_tty_matches", tty=str(tty), regex=_pattern(regexp), timeout=timeout)

    def dump_tty_contents(self, tty):
        """Log the text of virtual terminal ``tty``."""
        self.log(self.get_tty_text(tty))

    def forward_port(self, host_port=8080, guest_port=80):
        """Make 127.0.0.1:host_port on the machine running nxc reach the node's guest_port."""
        self._call("forward_port", hostPort=int(host_port), guestPort=int(guest_port))

    # misc -----------------------------------------------------------------
    def log(self, msg):
        self._channel.notify("log", host=self.host, message=str(msg))

    def sleep(self, secs):
        """Sleep in the node's time (``sleep N`` on the node)."""
        self._call("sleep", seconds=secs)

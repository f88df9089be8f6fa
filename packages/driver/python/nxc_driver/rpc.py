"""JSON-lines channel to the TypeScript parent (nxc).

The parent opens two extra pipes and names them in NXC_DRIVER_FDS="REQ,RES":
this process writes one JSON object per line on REQ and reads the answers on RES.

  request       {"id": 7, "method": "execute", "params": {...}}
  answer        {"id": 7, "result": ...}   or   {"id": 7, "error": {"message", "code", "details"}}
  notification  {"method": "subtest_start", "params": {...}}       (no id, no answer)

Calls are synchronous: the script is single-threaded and waits for each answer,
so the order of output and commands is the order of the script.
"""

import io
import json
import os
import threading


class RemoteError(Exception):
    """An error raised by the TypeScript side (failed assertion, timeout, bad argument).

    ``message`` is one line; ``details`` holds output (may be empty);
    ``code`` is the NxcError code (NXC_TEST_FAILED, NXC_TIMEOUT, NXC_USAGE...).
    """

    def __init__(self, message, code="NXC_TEST_FAILED", details=""):
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details or ""


class ChannelClosed(Exception):
    """The parent went away (nxc interrupted or crashed)."""


class Channel:
    def __init__(self, req_fd, res_fd):
        self._out = os.fdopen(req_fd, "wb", buffering=0)
        self._in = os.fdopen(res_fd, "rb")
        self._next_id = 0
        # A script may call nodes from several threads: one call on the wire at a time.
        self._lock = threading.RLock()

    @classmethod
    def from_env(cls):
        spec = os.environ.get("NXC_DRIVER_FDS")
        if not spec:
            raise SystemExit(
                "nxc_driver: NXC_DRIVER_FDS is not set; this module is started by `nxc driver`, not directly"
            )
        req, res = (int(x) for x in spec.split(","))
        return cls(req, res)

    def _send(self, obj):
        data = (json.dumps(obj, separators=(",", ":")) + "\n").encode("utf-8")
        try:
            view = memoryview(data)
            while view:  # a raw write may be partial
                view = view[self._out.write(view) :]
        except (BrokenPipeError, OSError) as e:
            raise ChannelClosed("nxc driver: the nxc process went away") from e

    def notify(self, method, **params):
        with self._lock:
            self._send({"method": method, "params": params})

    def call(self, method, **params):
        with self._lock:
            return self._call(method, params)

    def _call(self, method, params):
        self._next_id += 1
        call_id = self._next_id
        self._send({"id": call_id, "method": method, "params": params})
        try:
            return self._wait(call_id)
        except KeyboardInterrupt:
            # Ctrl-C: ask nxc to stop the running command, then let Python unwind.
            try:
                self._send({"method": "cancel", "params": {"id": call_id}})
            except ChannelClosed:
                pass
            raise

    def _wait(self, call_id):
        while True:
            line = self._in.readline()
            if not line:
                raise ChannelClosed("nxc driver: the nxc process went away")
            msg = json.loads(line)
            if isinstance(msg.get("id"), int) and msg["id"] < call_id:
                # The answer to a call interrupted by Ctrl-C (in the REPL): drop it.
                continue
            if msg.get("id") != call_id:
                # Answers come in order; anything else is a protocol bug worth seeing.
                raise RuntimeError(f"nxc driver: unexpected answer {msg!r} to call {call_id}")
            if "error" in msg:
                err = msg["error"] or {}
                raise RemoteError(
                    err.get("message", "unknown error"),
                    err.get("code", "NXC_TEST_FAILED"),
                    err.get("details", ""),
                )
            return msg.get("result")


class StreamToChannel:
    """A text stream whose writes become `output` notifications, keeping the script's
    prints in order with the commands' log lines written by the parent."""

    def __init__(self, channel, stream, fallback):
        self._channel = channel
        self._stream = stream
        self._fallback = fallback

    def write(self, text):
        if not text:
            return 0
        try:
            self._channel.notify("output", stream=self._stream, data=text)
        except ChannelClosed:
            self._fallback.write(text)
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False

    def fileno(self):
        # No file descriptor behind it: callers (subprocess...) fall back or say so.
        raise io.UnsupportedOperation("fileno")

    @property
    def encoding(self):
        return "utf-8"

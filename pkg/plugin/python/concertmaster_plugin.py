"""ConcertMaster's helper for process plugins written in Python.

One file, Python 3.9 or later, standard library only. Copy it next to your plugin's main.py
(`concertmaster plugin new --lang python` and `make plugins` do), register a handler per node type and
call serve():

    import concertmaster_plugin as cm

    @cm.handler("hellopy.greet")
    def greet(call):
        name = str(call.config.get("name", "")).strip()
        if not name:
            raise cm.PermanentError("name is empty")
        call.log("info", "greeting " + name)
        return {"greeting": "Hello, " + name + "!"}

    if __name__ == "__main__":
        cm.serve()

A handler takes a Call and returns the node's output (any JSON value) on the port "out", or
Emit(port, output) for another port. Raising fails the attempt: PermanentError says retrying cannot
help, PluginError carries a machine-readable code, and any other exception becomes an error with its
text. serve() speaks the process protocol of docs/plugins.md with the semantics of the Go SDK's
ServeProcess: one JSON request per line on stdin, one response per line on stdout, requests handled
by a pool of CM_PLUGIN_CONCURRENCY threads (default 4) so that several are in flight, answered by id
in the order they finish; {"id": N, "cancel": true} sets call.canceled; a line that is not a request is
answered with an "invalid_request" error; when stdin ends, serve() waits for the running requests and
returns. Standard output belongs to the protocol: while serve() runs, print() and anything else
written to file descriptor 1 (child processes too) go to standard error, which the server logs.
"""

import concurrent.futures
import json
import os
import sys
import threading
import traceback

__all__ = [
    "MAX_LINE_BYTES",
    "Call",
    "Emit",
    "PermanentError",
    "Plugin",
    "PluginError",
    "handler",
    "register",
    "serve",
]

# MAX_LINE_BYTES bounds one request line, as the Go SDK's MaxLineBytes does.
MAX_LINE_BYTES = 64 << 20
# MAX_LOGS bounds the messages one call records; the server bounds them again.
MAX_LOGS = 100
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 64
_MAX_ID = (1 << 64) - 1


class PluginError(Exception):
    """Fails an attempt with a message, an optional machine-readable code such as "invalid_input",
    and whether retrying cannot help (permanent)."""

    def __init__(self, message, code="", permanent=False):
        super().__init__(message)
        self.message = str(message)
        self.code = str(code or "")
        self.permanent = bool(permanent)


class PermanentError(PluginError):
    """Fails an attempt for good: the node's remaining retries are skipped."""

    def __init__(self, message, code=""):
        super().__init__(message, code=code, permanent=True)


class Emit:
    """A handler's output on a named port: return Emit("yes", value) to leave by port "yes"."""

    __slots__ = ("port", "output")

    def __init__(self, port, output):
        self.port = str(port)
        self.output = output


class Call:
    """One node attempt as a handler sees it.

    id: the request's id. type: the node type being run. config: the node's configuration, its
    expressions evaluated ({} when the server sent none). input: the value on the node's input port
    (None when absent). execution: the run's ids (executionId, workflowId, workflowVersion, nodeId,
    attempt; {} when absent). timeout_ms: how long the server waits for the answer (0 when unknown).
    """

    def __init__(self, request_id, node_type, config, input_value, execution, timeout_ms):
        self.id = request_id
        self.type = node_type
        self.config = config
        self.input = input_value
        self.execution = execution
        self.timeout_ms = timeout_ms
        self._canceled = threading.Event()
        self._lock = threading.Lock()
        self._logs = []

    @property
    def canceled(self):
        """True once the server canceled the request: it no longer waits for the answer."""
        return self._canceled.is_set()

    def wait_canceled(self, timeout=None):
        """Blocks until the request is canceled or timeout seconds pass; returns call.canceled."""
        return self._canceled.wait(timeout)

    def log(self, level, message):
        """Records a message with the node run. level is debug, info, warn or error."""
        with self._lock:
            if len(self._logs) < MAX_LOGS:
                self._logs.append({"level": str(level), "message": str(message)})

    def _take_logs(self):
        with self._lock:
            logs, self._logs = self._logs, []
        return logs


class Plugin:
    """A plugin's handlers by node type. Most plugins use the module's default one through handler,
    register and serve."""

    def __init__(self):
        self._lock = threading.Lock()
        self._handlers = {}

    def handler(self, node_type):
        """Decorator registering the function as the handler of node_type."""

        def decorate(fn):
            self.register(node_type, fn)
            return fn

        return decorate

    def register(self, node_type, fn):
        """Registers fn(call) as the handler of node_type, replacing any earlier one."""
        if not isinstance(node_type, str) or not node_type:
            raise ValueError("node type must be a non-empty string such as hello.greet")
        if not callable(fn):
            raise TypeError("handler for %s is not callable" % node_type)
        with self._lock:
            self._handlers[node_type] = fn

    def lookup(self, node_type):
        """Returns the handler of node_type, or None."""
        with self._lock:
            return self._handlers.get(node_type)

    def serve(self, stdin=None, stdout=None, concurrency=None):
        """Serves requests from stdin (binary, default sys.stdin) on stdout (binary, default the
        process's standard output, which serve() then keeps for the protocol) until stdin ends, with
        concurrency worker threads (default CM_PLUGIN_CONCURRENCY, else 4; at most 64)."""
        restore = None
        if stdout is None:
            stdout, restore = _claim_stdout()
        if stdin is None:
            stdin = sys.stdin.buffer
        if concurrency is None:
            concurrency = _concurrency_from_env()
        try:
            _Server(self, stdout, max(1, min(int(concurrency), MAX_CONCURRENCY))).run(stdin)
        finally:
            if restore is not None:
                restore()


class _Server:
    def __init__(self, plugin, out, concurrency):
        self._plugin = plugin
        self._out = out
        self._write_lock = threading.Lock()
        self._broken = False
        self._calls_lock = threading.Lock()
        self._calls = {}  # id -> Call, queued or running
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="cm-plugin")

    def run(self, stdin):
        try:
            for line in _read_lines(stdin, MAX_LINE_BYTES):
                if line is None:
                    self._write(_invalid(0, "request line is over %d bytes" % MAX_LINE_BYTES))
                elif line.strip():
                    self._accept(line)
        finally:
            self._pool.shutdown(wait=True)

    def _accept(self, line):
        try:
            req = json.loads(line, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            self._write(_invalid(0, "request is not valid: %s" % exc))
            return
        if not isinstance(req, dict):
            self._write(_invalid(0, "request is not valid: not a JSON object"))
            return
        request_id = req.get("id", 0)
        if isinstance(request_id, bool) or not isinstance(request_id, int) or not 0 <= request_id <= _MAX_ID:
            self._write(_invalid(0, "request is not valid: id must be a whole number from 0 to 2^64-1"))
            return
        if req.get("cancel") is True:
            with self._calls_lock:
                call = self._calls.get(request_id)
            if call is not None:
                call._canceled.set()
            return
        problem = _check_fields(req)
        if problem:
            self._write(_invalid(request_id, "request is not valid: " + problem))
            return
        config = req.get("config")
        call = Call(
            request_id,
            req.get("type", ""),
            {} if config is None else config,
            req.get("input"),
            req.get("execution") or {},
            req.get("timeoutMs") or 0,
        )
        with self._calls_lock:
            self._calls[request_id] = call
        self._pool.submit(self._run, call)

    def _run(self, call):
        try:
            if call.canceled:
                resp = _response(call.id, error={"message": "request was canceled before it started", "code": "canceled"})
            else:
                resp = self._serve(call)
        except BaseException as exc:  # the loop must answer, whatever happened
            resp = _response(call.id, error={"message": "plugin helper failed: %s" % _text(exc), "code": "plugin_panic"})
        finally:
            with self._calls_lock:
                # A later request may have reused the id (a server bug); leave its entry alone.
                if self._calls.get(call.id) is call:
                    del self._calls[call.id]
        self._write(resp)

    def _serve(self, call):
        fn = self._plugin.lookup(call.type)
        if fn is None:
            return _response(call.id, error={"message": "no handler for this node type: %s" % call.type, "code": "unknown_type", "permanent": True})
        try:
            result = fn(call)
        except BaseException as exc:  # a handler's failure, whatever it is, fails only its call
            if not isinstance(exc, PluginError):
                traceback.print_exc(file=sys.stderr)
            return _response(call.id, logs=call._take_logs(), error=_error_of(exc))
        port, output = (result.port, result.output) if isinstance(result, Emit) else ("", result)
        return _response(call.id, output=output, port=port, logs=call._take_logs(), has_output=True)

    def _write(self, resp):
        try:
            data = _encode(resp)
        except (TypeError, ValueError, RecursionError) as exc:
            data = _encode(_response(resp.get("id", 0), logs=resp.get("logs"), error={"message": "encode output: %s" % exc, "code": "invalid_output", "permanent": True}))
        with self._write_lock:
            if self._broken:
                return
            try:
                self._out.write(data)
                self._out.flush()
            except (OSError, ValueError):
                # The server is gone; the process ends when stdin does.
                self._broken = True


def _response(request_id, output=None, port="", logs=None, error=None, has_output=False):
    resp = {}
    if request_id:
        resp["id"] = request_id
    if has_output:
        resp["output"] = output
    if port:
        resp["port"] = port
    if logs:
        resp["logs"] = logs
    if error is not None:
        resp["error"] = error
    return resp


def _invalid(request_id, message):
    return _response(request_id, error={"message": message, "code": "invalid_request", "permanent": True})


def _error_of(exc):
    if isinstance(exc, PluginError):
        err = {"message": exc.message}
        if exc.code:
            err["code"] = exc.code
        if exc.permanent:
            err["permanent"] = True
        return err
    return {"message": _text(exc)}


def _text(exc):
    text = str(exc)
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__


def _check_fields(req):
    for name, kind in (("type", str), ("execution", dict)):
        value = req.get(name)
        if value is not None and not isinstance(value, kind):
            return "%s must be a %s" % (name, "string" if kind is str else "JSON object")
    timeout = req.get("timeoutMs")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int)):
        return "timeoutMs must be a whole number"
    return ""


def _encode(resp):
    # ensure_ascii keeps every line valid UTF-8 whatever the strings hold (lone surrogates included);
    # allow_nan=False refuses NaN and Infinity, which JSON has no words for.
    return (json.dumps(resp, ensure_ascii=True, allow_nan=False, separators=(",", ":")) + "\n").encode("ascii")


def _reject_constant(name):
    raise ValueError("%s is not JSON" % name)


def _read_lines(stream, limit):
    """Yields each line without its line ending, or None for a line over limit bytes, which is read
    to its end without holding more than limit bytes."""
    while True:
        line = stream.readline(limit + 2)
        if not line:
            return
        if not line.endswith(b"\n") and len(line) >= limit + 2:
            while True:
                rest = stream.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
            continue
        if line.endswith(b"\n"):
            line = line[:-1]
        if line.endswith(b"\r"):
            line = line[:-1]
        yield None if len(line) > limit else line


def _concurrency_from_env():
    raw = os.environ.get("CM_PLUGIN_CONCURRENCY", "").strip()
    if not raw:
        return DEFAULT_CONCURRENCY
    try:
        return max(1, min(int(raw), MAX_CONCURRENCY))
    except ValueError:
        print("concertmaster_plugin: CM_PLUGIN_CONCURRENCY=%r is not a number; using %d" % (raw, DEFAULT_CONCURRENCY), file=sys.stderr)
        return DEFAULT_CONCURRENCY


def _claim_stdout():
    """Keeps the process's standard output for the protocol: returns a writer on a copy of file
    descriptor 1, points descriptor 1 and sys.stdout at standard error, and a function that undoes it."""
    saved = sys.stdout
    try:
        sys.stdout.flush()
        fd = os.dup(1)
        os.dup2(2, 1)
    except (OSError, ValueError, AttributeError):
        # No real descriptor (an embedding host): keep the buffer and move print() at least.
        sys.stdout = sys.stderr
        return saved.buffer, lambda: setattr(sys, "stdout", saved)
    out = os.fdopen(fd, "wb")
    sys.stdout = sys.stderr

    def restore():
        sys.stdout = saved
        try:
            out.flush()
            os.dup2(fd, 1)
        finally:
            out.close()

    return out, restore


_default = Plugin()


def handler(node_type):
    """Decorator registering the function as the handler of node_type."""
    return _default.handler(node_type)


def register(node_type, fn):
    """Registers fn(call) as the handler of node_type, replacing any earlier one."""
    _default.register(node_type, fn)


def serve(stdin=None, stdout=None, concurrency=None):
    """Serves the registered handlers on stdin and stdout until stdin ends (see Plugin.serve)."""
    _default.serve(stdin=stdin, stdout=stdout, concurrency=concurrency)

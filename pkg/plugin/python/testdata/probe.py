"""A process plugin that probes concertmaster_plugin.py for python_test.go."""

import os
import subprocess
import sys
import threading

import concertmaster_plugin as cm

_lock = threading.Lock()
_running = 0
_peak = 0
_changed = threading.Condition(_lock)


@cm.handler("probe.barrier")
def barrier(call):
    """Waits until config.n calls have run at once, or config.waitMs pass; returns the most calls
    seen running at once (a process serves one test: the count is never reset)."""
    global _running, _peak
    with _changed:
        _running += 1
        _peak = max(_peak, _running)
        _changed.notify_all()
        _changed.wait_for(lambda: _peak >= call.config["n"], call.config["waitMs"] / 1000)
        _running -= 1
        return {"peak": _peak}


@cm.handler("probe.wait_cancel")
def wait_cancel(call):
    call.log("info", "waiting")
    print("waiting for cancel %d" % call.id)  # serve() sends print() to stderr
    return {"canceled": call.wait_canceled(10)}


@cm.handler("probe.print")
def stray_output(call):
    print("print() in a handler")
    os.write(1, b"os.write(1) in a handler\n")
    subprocess.run([sys.executable, "-c", "print('a child process')"], check=True)
    return "printed"


@cm.handler("probe.boom")
def boom(call):
    raise KeyError("missing")


@cm.handler("probe.coded")
def coded(call):
    raise cm.PluginError("slow down", code="rate_limited")


@cm.handler("probe.exit")
def leave(call):
    raise SystemExit(3)


@cm.handler("probe.emit")
def emit(call):
    for i in range(150):
        call.log("debug", "line %d of %s" % (i, call.execution.get("nodeId")))
    return cm.Emit("high", {"input": call.input, "timeoutMs": call.timeout_ms})


@cm.handler("probe.nan")
def nan(call):
    call.log("warn", "about to return NaN")
    return float("nan")


@cm.handler("probe.set")
def not_json(call):
    return {1, 2}


@cm.handler("probe.echo")
def echo(call):
    return call.config


if __name__ == "__main__":
    cm.serve()

"""hello-python: ConcertMaster's example process plugin.

Node type hellopy.greet turns the configuration {"name": "Ada"} into {"greeting": "Hello, Ada!"},
as hello-wasm's hello.greet does. It imports concertmaster_plugin.py, the helper that `make plugins`
copies next to this file from pkg/plugin/python.
"""

import concertmaster_plugin as cm


@cm.handler("hellopy.greet")
def greet(call):
    name = call.config.get("name") if isinstance(call.config, dict) else None
    if name is not None and not isinstance(name, str):
        raise cm.PermanentError("name must be a string", code="invalid_config")
    name = (name or "").strip()
    if not name:
        raise cm.PermanentError("name is empty", code="invalid_config")
    call.log("info", "greeting " + name)
    return {"greeting": "Hello, " + name + "!"}


if __name__ == "__main__":
    cm.serve()

"""The request loop shared by the benchmark workers (worker.py, ort_worker.py): one JSON
object per line on stdin, one JSON reply per line; {"cmd": "quit"} ends it. A failing request
is answered with {"error": "..."} (the traceback goes to the log) and the loop goes on."""
import json
import sys
import traceback
from typing import Callable, Dict


def serve(commands: Dict[str, Callable[[dict], dict]], reply: Callable[[dict], None],
          log: Callable[[str], None]) -> int:
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise ValueError("request must be a JSON object")
            cmd = req.get("cmd")
            if cmd == "quit":
                reply({"ok": True})
                return 0
            if cmd not in commands:
                raise ValueError(f"unknown cmd {cmd!r}")
            reply(commands[cmd](req))
        except Exception as e:  # report and keep serving
            log(traceback.format_exc())
            reply({"error": f"{type(e).__name__}: {e}"})
    return 0

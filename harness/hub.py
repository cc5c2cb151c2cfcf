"""Whether the Hugging Face Hub can be reached: decided once per process, said once.

Without this, every Hub dataset load on an offline machine went through the Hub client's
retries (five tries, 1 s to 8 s apart) before failing. `offline_reason()` answers from
`HF_HUB_OFFLINE` / `HF_DATASETS_OFFLINE` when set, else from one short TCP connection to
the Hub (a few seconds at most, DNS included). When offline, it switches the Hub and
`datasets` clients to their cache-only mode for the rest of the process, so any later
load answers from the local cache at once.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from urllib.parse import urlparse

PROBE_TIMEOUT_S = 3.0
_TRUE = ("1", "true", "yes", "on")
_reason: str | None = None
_decided = False
_lock = threading.Lock()


def _env_reason() -> str | None:
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        if os.environ.get(name, "").strip().lower() in _TRUE:
            return f"{name} is set"
    return None


def _reachable(host: str, port: int) -> bool:
    result: list[bool] = []

    def connect() -> None:
        try:
            with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=connect, daemon=True)  # bounds DNS too, which ignores socket timeouts
    thread.start()
    thread.join(PROBE_TIMEOUT_S + 0.5)
    return bool(result and result[0])


def _go_offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    # Clients imported already read their settings at import time.
    for module, names in (("huggingface_hub.constants", ("HF_HUB_OFFLINE",)),
                          ("datasets.config", ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))):
        loaded = sys.modules.get(module)
        for name in names:
            if loaded is not None and hasattr(loaded, name):
                setattr(loaded, name, True)


def offline_reason() -> str | None:
    """None when the Hub is reachable; otherwise why not (the first call decides for the process)."""
    global _reason, _decided
    with _lock:
        if not _decided:
            reason = _env_reason()
            if reason is None:
                endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
                host = endpoint.hostname or "huggingface.co"
                port = endpoint.port or (443 if endpoint.scheme != "http" else 80)
                if not _reachable(host, port):
                    reason = f"{host}:{port} is unreachable"
            if reason is not None:
                _go_offline()
            _reason, _decided = reason, True
    return _reason


def offline_now() -> str | None:
    """Like `offline_reason()`, but a Hub client already put in cache-only mode (the contamination
    check does so for its lookups) answers without a probe and without deciding for the process."""
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None and getattr(constants, "HF_HUB_OFFLINE", False) is True and not _decided:
        return _env_reason() or "the Hub client is in cache-only mode"
    return offline_reason()


def reset() -> None:
    """Forget the decision (tests)."""
    global _reason, _decided
    with _lock:
        _reason, _decided = None, False

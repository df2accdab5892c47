"""The driver's HTTP calls, recorded on the wire of its session (a requests response hook)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, str]
    items: int  # resources in a list answer (0 for other calls)
    status: int


class Spy:
    """Records every HTTP answer the connection's session receives (a requests response hook)."""

    def __init__(self, connection: Any) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        connection.client._session.hooks["response"].append(self._record)

    def _record(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        url = urlsplit(response.request.url or "")
        params = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        items = 0
        if response.status_code == 200 and response.request.method == "GET":
            try:
                body = response.json()
            except ValueError:
                body = {}
            items = sum(len(v) for v in body.values() if isinstance(v, list))
        with self._lock:
            self.calls.append(Call(response.request.method or "", url.path, params, items,
                                   response.status_code))

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    def run_lists(self) -> list[Call]:
        return [c for c in self.calls if c.status == 200 and c.method == "GET"
                and c.path.endswith("/runs")]

    def fetched(self) -> int:
        """Runs the API sent back (lists and gets)."""
        gets = [c for c in self.calls if c.status == 200 and c.method == "GET"
                and "/runs/" in c.path]
        return sum(c.items for c in self.run_lists()) + len(gets)

    def take_filters(self) -> list[str]:
        """The `filter` of each run listing since the last take ('' for none), forgotten after."""
        with self._lock:
            taken = [c.params.get("filter", "") for c in self.calls if c.path.endswith("/runs")
                     and c.method == "GET"]
            self.calls.clear()
        return taken

"""`mlflow://HOST:PORT/EXPERIMENT`: every run of an experiment on a tracking server, by REST.

Only the standard library (urllib): reading needs no mlflow package. The experiment is looked
up by name, its runs are listed page by page (`runs/search`), and for each run only the
metrics the planned rules read are fetched (`metrics/get-history`, page by page), so a run
that logs hundreds of metrics costs a few requests. The server's own authentication is
honoured from the environment MLflow's clients read: MLFLOW_TRACKING_TOKEN (a bearer token)
or MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD. MLFLOW_TRACKING_INSECURE_TLS is not
needed: `mlflow+https://` talks TLS with the system's certificates.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlencode, urlsplit

from lrdoctor.errors import InputError
from lrdoctor.readers.base import Select, Table
from lrdoctor.readers.mlflow import _CLAMP  # as the store readers map them
from lrdoctor.readers.records import RUN_PARAMS

API = "/api/2.0/mlflow"
RUNS_PAGE = 1000  # the server's maximum for runs/search
HISTORY_PAGE = 25000  # the server's maximum for metrics/get-history
TIMEOUT = 60.0


@dataclass(frozen=True)
class MlflowRun:
    """One run of an experiment: where the server is, the run's id and name, its metric keys."""

    source: str
    base: str
    run_id: str
    run_name: str
    metrics: tuple[str, ...]
    meta: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return self.source

    def read(self, select: Select) -> list[Table]:
        import numpy as np

        from lrdoctor.readers.records import table_from_series

        wanted = set(select(["step", *self.metrics]))
        series = {}
        for key in self.metrics:
            if key not in wanted:
                continue  # a metric no planned rule reads is never fetched
            steps, values = [], []
            for point in _pages(self.base, "metrics/get-history", "metrics", self.source,
                                {"run_id": self.run_id, "metric_key": key},
                                "max_results", HISTORY_PAGE):  # fmt: skip
                steps.append(int(point.get("step", 0)))
                values.append(_number(point.get("value")))
            v = np.asarray(values, np.float64)
            v[v >= _CLAMP] = np.inf
            v[v <= -_CLAMP] = -np.inf
            series[key] = (steps, v)
        return [table_from_series(self.source, series, select, meta=dict(self.meta))]


def list_runs(uri: str) -> list[MlflowRun]:
    """The runs of the experiment a `mlflow://HOST:PORT/EXPERIMENT` URI names, by run name."""
    base, experiment = _parse(uri)
    found = _call(base, "experiments/get-by-name", uri, query={"experiment_name": experiment})
    experiment_id = found["experiment"]["experiment_id"]
    runs = list(
        _pages(
            base,
            "runs/search",
            "runs",
            uri,
            {"experiment_ids": [experiment_id], "run_view_type": "ACTIVE_ONLY"},
            "max_results",
            RUNS_PAGE,
            post=True,
        )  # fmt: skip
    )
    if not runs:
        raise InputError(uri, "the experiment has no runs", "is the sweep logging to it yet?")
    out, seen = [], {}
    for run in runs:
        info, data = run.get("info", {}), run.get("data", {})
        name = info.get("run_name") or info["run_id"]
        seen[name] = seen.get(name, 0) + 1
        keys = tuple(sorted({m["key"] for m in data.get("metrics", [])}))
        meta = {"framework": "mlflow", "run_id": info["run_id"], "run_name": name,
                "status": info.get("status", "")}  # fmt: skip
        for p in data.get("params", []):
            if p.get("key") in RUN_PARAMS:
                meta.setdefault(RUN_PARAMS[p["key"]], p.get("value", ""))
        out.append((name, info["run_id"], keys, meta))
    root = f"mlflow://{urlsplit(uri).netloc}/{experiment}"
    runs_out = []
    for name, run_id, keys, meta in sorted(out, key=lambda r: (r[0], r[1])):
        label = f"{name} ({run_id[:8]})" if seen[name] > 1 else name
        runs_out.append(
            MlflowRun(f"{root}::{label}", base, run_id, name, keys, tuple(sorted(meta.items())))
        )
    return runs_out


def _parse(uri: str) -> tuple[str, str]:
    parts = urlsplit(
        uri.replace("mlflow+https://", "https://", 1).replace("mlflow://", "http://", 1)
    )
    experiment = unquote(parts.path.lstrip("/")).rstrip("/")
    if not parts.netloc or not experiment:
        raise InputError(uri, "names no experiment", "write mlflow://HOST:PORT/EXPERIMENT")
    return f"{parts.scheme}://{parts.netloc}", experiment


def _pages(base, endpoint, field, where, params, size_key, size, post=False):
    """Every item of a paginated endpoint, following next_page_token."""
    token = None
    while True:
        page = {**params, size_key: size, **({"page_token": token} if token else {})}
        if post:
            answer = _call(base, endpoint, where, body=page)
        else:
            answer = _call(base, endpoint, where, query=page)
        yield from answer.get(field, [])
        token = answer.get("next_page_token")
        if not token:
            return


def _call(base: str, endpoint: str, where: str, query=None, body=None) -> dict:
    import urllib.error
    import urllib.request

    url = f"{base}{API}/{endpoint}"
    if query:
        url += "?" + urlencode(query, doseq=True, quote_via=quote)
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=_headers(data is not None))
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        detail = _error_message(exc)
        if exc.code == 404 or "RESOURCE_DOES_NOT_EXIST" in detail:
            raise InputError(where, f"not found on the tracking server ({detail})",
                             "check the experiment name") from None  # fmt: skip
        if exc.code in (401, 403):
            raise InputError(where, f"the tracking server refused access ({exc.code})",
                             "set MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD"
                             ) from None  # fmt: skip
        raise InputError(where, f"the tracking server answered {exc.code} ({detail})") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InputError(where, f"cannot reach the tracking server at {base} ({reason})",
                         "is `mlflow server` running there?") from None  # fmt: skip
    except ValueError as exc:
        raise InputError(where, f"the tracking server sent something that is not JSON ({exc})"
                         ) from None  # fmt: skip


def _headers(has_body: bool) -> dict[str, str]:
    import base64

    headers = {"Accept": "application/json"}
    if has_body:
        headers["Content-Type"] = "application/json"
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    user, password = (os.environ.get(f"MLFLOW_TRACKING_{k}") for k in ("USERNAME", "PASSWORD"))
    if token:
        headers["Authorization"] = f"Bearer {token}"
    elif user and password:
        pair = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {pair}"
    return headers


def _error_message(exc) -> str:
    try:
        body = json.loads(exc.read() or b"{}")
        return str(body.get("message") or body.get("error_code") or exc.reason)[:300]
    except (ValueError, OSError):
        return str(exc.reason)[:300]


def _number(value) -> float:
    """A metric value as the server sent it: a number, or NaN/Infinity spelled as text."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")

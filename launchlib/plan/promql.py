"""The plan's PromQL: one query template per measured quantity, checked when the plan is read.

A team whose service exports other names (``handler`` instead of ``endpoint``, its own histogram)
sets ``monitoring.prometheus`` in the plan; the defaults fit the common
``http_requests_total`` counter and ``http_request_duration_seconds`` histogram. Templates take
``$endpoints`` (a regex of a class's paths), ``$status`` (a status regex), ``$window`` (a PromQL
range such as ``5s``) and ``$quantile``; each is parsed (``promql-parser``, the Prometheus
grammar) with example values, so a malformed query is refused with the plan, not on launch day.
"""

from __future__ import annotations

from string import Template
from typing import Annotated

import promql_parser
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

__all__ = ["PLACEHOLDERS", "PrometheusQueries", "metric_names", "render"]

#: what each template may use, with the example value it is parsed with
PLACEHOLDERS: dict[str, dict[str, str]] = {
    "requests": {"endpoints": "/api/market|/api/market/.*", "status": "5..", "window": "5s"},
    "latency_quantile": {"endpoints": "/api/market|/api/market/.*", "window": "5s", "quantile": "0.95"},
}

REQUESTS = 'sum(increase(http_requests_total{endpoint=~"$endpoints",status=~"$status"}[$window]))'
LATENCY = (
    "histogram_quantile($quantile, sum by (le) "
    '(increase(http_request_duration_seconds_bucket{endpoint=~"$endpoints"}[$window])))'
)


def render(template: str, **values: str) -> str:
    """The query for these values (every placeholder given: a missing one is a KeyError)."""
    return Template(template).substitute(values)


def metric_names(query: str) -> set[str]:
    """The metric names a PromQL query selects (``__name__`` of each vector selector)."""
    names: set[str] = set()
    todo = [promql_parser.parse(query)]
    while todo:
        node = todo.pop()
        name = getattr(node, "name", None)
        if isinstance(name, str) and type(node).__name__ == "VectorSelector":
            names.add(name)
        for attr in ("args", "expr", "lhs", "rhs", "vector_selector", "param"):
            child = getattr(node, attr, None)
            if isinstance(child, list | tuple):
                todo.extend(c for c in child if c is not None)
            elif child is not None and not isinstance(child, str | int | float):
                todo.append(child)
    return names


def _checked(key: str, template: str) -> str:
    """The template itself, once its placeholders are known and it parses as PromQL."""
    try:
        query = render(template, **PLACEHOLDERS[key])
    except KeyError as exc:
        allowed = ", ".join(f"${p}" for p in PLACEHOLDERS[key])
        why = "unknown placeholder ${name} (this query takes {allowed})"
        raise PydanticCustomError("promql", why, {"name": exc.args[0], "allowed": allowed}) from None
    except ValueError as exc:
        raise PydanticCustomError("promql", "bad placeholder: {why}", {"why": str(exc)}) from None
    try:
        promql_parser.parse(query)
    except ValueError as exc:
        raise PydanticCustomError("promql", "not PromQL: {why}", {"why": str(exc).splitlines()[0]}) from None
    return template


class PrometheusQueries(BaseModel):
    """``monitoring.prometheus``: how the kit reads the service's telemetry from Prometheus."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: requests of the endpoints' classes whose status matches, over the window (a count)
    requests: str = REQUESTS
    #: a latency quantile in seconds over the window, from a histogram
    latency_quantile: str = LATENCY
    #: real seconds between the kit's Prometheus scrapes (it starts one for a rehearsal)
    scrape_interval_s: Annotated[float, Field(ge=0.1, le=60)] = 0.5

    @field_validator("requests", "latency_quantile")
    @classmethod
    def _promql(cls, value: str, info: ValidationInfo) -> str:
        return _checked(str(info.field_name), value)

"""Prometheus metrics (``GET /metrics``): the figures table read on each scrape, plus the service's health.

Names derive from the table: ``enphase_<key without its unit>_<base unit>`` (``enphase_grid_import_watts``),
values in base units (a state of charge as a 0-1 ``_ratio``, durations in ``_seconds``; energies in
``_watt_hours`` throughout), counters (lifetime energies that never fall) end in ``_total``, a figure that
may fall (net consumption) is a gauge, per-phase variants are
``..._per_phase_<unit>{phase}``, inverter figures ``enphase_inverter_..{serial}``. Unknown values
(null, stale instant figures) are left out rather than exported as 0.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from .bus import Update
from .figures import (
    INVERTER_FIGURES,
    Figure,
    Kind,
    Point,
    SiteShape,
    resolve,
    site_points,
    stage_figure,
    stage_runtime_figures,
)
from .mqtt_layout import instant_value

NAMESPACE = "enphase"
Family = GaugeMetricFamily | CounterMetricFamily | InfoMetricFamily
UNIT_SUFFIXES = ("_wh", "_w", "_pct", "_v", "_a", "_hz", "_c", "_s")


class MetricsSource(Protocol):
    def latest_update(self) -> Update | None: ...

    def status(self) -> dict[str, Any]: ...


def metric_name(figure: Figure, *, per_phase: bool = False, scope: str = "") -> str:
    """The metric of a figure, without the ``_total`` / ``_info`` that prometheus_client adds."""
    base = figure.metric or figure.key
    for suffix in UNIT_SUFFIXES:
        base = base.removesuffix(suffix)
    unit = figure.traits.prometheus_unit
    parts = [NAMESPACE, scope, base, "per_phase" if per_phase else ""]
    if unit and unit not in ("info",) and f"_{unit}" not in f"_{base}":
        parts.append(unit)
    return "_".join(p for p in parts if p)


def figure_metrics(update: Update) -> list[Metric]:
    """Every figure of the table this site has, as metric families."""
    document = update.document
    stale = bool(document.get("stale"))
    families: dict[str, Family] = {}
    for point in site_points(SiteShape.of(document)):
        figure = point.figure
        value = (
            instant_value(point, document, stale)
            if figure.metric_path is None
            else resolve(document, figure.metric_path)
        )
        _add(families, point, figure, value, {})
    stages = (document.get("control") or {}).get("stages") or ()
    for number, stage in enumerate(stages, start=1):
        labels = {"stage": str(stage.get("name", number))}
        for figure in (stage_figure(number), *stage_runtime_figures(number)):
            point = Point(figure)
            _add(families, point, _generic_stage_figure(figure, number), point.value(document), labels)
    for inverter in document.get("inverters") or ():
        labels = {"serial": str(inverter.get("serial"))}
        for figure in INVERTER_FIGURES:
            point = Point(figure)
            value = instant_value(point, inverter, stale)
            _add(families, point, figure, value, labels, scope="inverter")
    snapshot = GaugeMetricFamily(f"{NAMESPACE}_snapshot_stale", "1 while the latest figures are stale")
    snapshot.add_metric([], 1.0 if stale else 0.0)
    families[snapshot.name] = snapshot
    return list(families.values())


def health_metrics(status: Mapping[str, Any]) -> list[Metric]:
    """The service's own figures from /api/status: its loops and its outputs."""
    loops: Mapping[str, Mapping[str, Any]] = status.get("loops") or {}
    latency = HistogramMetricFamily(
        f"{NAMESPACE}_poll_duration_seconds", "How long gateway reads take, per loop", labels=["loop"]
    )
    reads = CounterMetricFamily(f"{NAMESPACE}_poll_reads", "Successful gateway reads", labels=["loop"])
    failures = CounterMetricFamily(f"{NAMESPACE}_poll_failures", "Failed gateway reads", labels=["loop"])
    skipped = CounterMetricFamily(
        f"{NAMESPACE}_poll_skipped_ticks", "Ticks skipped because a read ran late", labels=["loop"]
    )
    failing = GaugeMetricFamily(f"{NAMESPACE}_poll_failing", "1 while a loop's reads fail", labels=["loop"])
    for name, loop in loops.items():
        histogram = loop.get("read_latency") or {}
        buckets = [(_le(bound), float(count)) for bound, count in histogram.get("buckets", ())]
        buckets.append(("+Inf", float(histogram.get("count", 0))))
        latency.add_metric([name], buckets, float(histogram.get("sum_s", 0.0)))
        reads.add_metric([name], float(loop.get("reads", 0)))
        failures.add_metric([name], float(loop.get("failures_total", 0)))
        skipped.add_metric([name], float(loop.get("skipped_ticks", 0)))
        failing.add_metric([name], 1.0 if loop.get("failures") else 0.0)
    outputs: Mapping[str, Mapping[str, Any]] = status.get("outputs") or {}
    labels = ["output"]
    connected = GaugeMetricFamily(
        f"{NAMESPACE}_output_connected", "1 while an output reaches its target", labels=labels
    )
    published = CounterMetricFamily(f"{NAMESPACE}_output_published", "Updates sent", labels=labels)
    dropped = CounterMetricFamily(
        f"{NAMESPACE}_output_dropped_busy", "Updates replaced by a newer one while busy", labels=labels
    )
    out_failures = CounterMetricFamily(f"{NAMESPACE}_output_failures", "Failed sends", labels=labels)
    last = GaugeMetricFamily(
        f"{NAMESPACE}_output_last_publish_timestamp_seconds", "When an output last sent", labels=labels
    )
    for name, output in outputs.items():
        ok = output.get("connected", output.get("state") == "ok")
        connected.add_metric([name], 1.0 if ok else 0.0)
        published.add_metric([name], float(output.get("published", 0)))
        dropped.add_metric([name], float(output.get("dropped_busy", 0)))
        out_failures.add_metric([name], float(output.get("failures", 0)))
        if output.get("last_publish"):
            last.add_metric([name], datetime.fromisoformat(output["last_publish"]).timestamp())
    return [latency, reads, failures, skipped, failing, connected, published, dropped, out_failures, last]


class FiguresCollector(Collector):
    """Read on every scrape: nothing is kept between scrapes."""

    def __init__(self, source: MetricsSource) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        update = self._source.latest_update()
        if update is not None:
            yield from figure_metrics(update)
        yield from health_metrics(self._source.status())


def _generic_stage_figure(figure: Figure, number: int) -> Figure:
    """Every stage in one metric (``enphase_stage_on{stage}``), not one metric per stage number."""
    key = figure.key.replace(f"stage_{number}_", "stage_", 1)
    name = figure.name_en.replace(f" stage {number}", " stage", 1)
    return Figure(key, figure.path, figure.kind, figure.name_fr, name, figure.device)


def _add(
    families: dict[str, Family],
    point: Point,
    figure: Figure,
    value: Any,
    labels: Mapping[str, str],
    *,
    scope: str = "",
) -> None:
    traits, phase = figure.traits, point.phase
    name = metric_name(figure, per_phase=phase is not None, scope=scope)
    label_names = [*labels, *(["phase"] if phase is not None else [])]
    label_values = [*labels.values(), *([str(phase)] if phase is not None else [])]
    family = families.get(name)
    if family is None:
        family = _family(name, point, figure, label_names)
        families[name] = family
    if value is None:
        return
    if isinstance(family, InfoMetricFamily):
        family.add_metric(label_values, {figure.key: str(value)})
    elif figure.kind is Kind.TIMESTAMP:
        family.add_metric(label_values, datetime.fromisoformat(str(value)).timestamp())
    elif traits.binary:
        family.add_metric(label_values, 1.0 if value else 0.0)
    else:
        family.add_metric(label_values, _in_base_unit(float(value), figure.prometheus_scale))


def _in_base_unit(value: float, scale: float) -> float:
    # rounded: 0.053 h x 3600 would read 190.79999999999998 s, 55.3 % x 0.01 0.5529999999999999
    return value if scale == 1.0 else round(value * scale, 9)


def _family(name: str, point: Point, figure: Figure, labels: Sequence[str]) -> Family:
    doc = (figure.metric_help or figure.name_en) + (" per phase" if point.phase is not None else "")
    if figure.kind is Kind.TEXT:
        return InfoMetricFamily(name, doc, labels=labels)
    if figure.prometheus_type == "counter":
        return CounterMetricFamily(name, doc, labels=labels)
    return GaugeMetricFamily(name, doc, labels=labels)


def _le(bound: float) -> str:
    return repr(float(bound))

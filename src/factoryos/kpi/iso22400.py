"""ISO 22400-2:2014 KPIs as pure functions of the time elements and quantities.

Formulas follow the KPI descriptions of ISO 22400-2:2014 (+Amd 1:2017), as transcribed in
``shared/reference/standards.md`` section 1.3. A ratio whose denominator is zero is undefined and
returns None rather than a misleading 0 or 1.
"""

from __future__ import annotations

from factoryos.kpi.elements import GroupInputs, Maintenance, Quantities, TimeElements


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def availability(t: TimeElements) -> float | None:
    """Availability = APT / PBT (ISO 22400-2:2014)."""
    return ratio(t.apt_s, t.pbt_s)


def effectiveness(t: TimeElements, q: Quantities) -> float | None:
    """Effectiveness = PRI x PQ / APT (ISO 22400-2:2014); PRI x PQ summed over products."""
    return ratio(q.planned_run_s, t.apt_s)


def quality_ratio(q: Quantities) -> float | None:
    """Quality ratio = GQ / PQ (ISO 22400-2:2014)."""
    return ratio(q.gq, q.pq)


def oee_index(t: TimeElements, q: Quantities) -> float | None:
    """OEE index = Availability x Effectiveness x Quality ratio (ISO 22400-2:2014).

    Computed as the identical PRI x GQ / PBT (the product's factors cancel), which stays defined
    when APT or PQ is zero; per unit of product, PRI x GQ = PRI x PQ x GQ / PQ.
    """
    if t.pbt_s <= 0:
        return None
    if q.pq == 0:
        return 0.0
    return q.planned_run_s * q.gq / q.pq / t.pbt_s


def nee_index(t: TimeElements, q: Quantities) -> float | None:
    """NEE index = AUPT / PBT x Effectiveness x Quality ratio (ISO 22400-2:2014)."""
    e, qr = effectiveness(t, q), quality_ratio(q)
    if t.pbt_s <= 0 or e is None or qr is None:
        return None
    return t.aupt_s / t.pbt_s * e * qr


def setup_ratio(t: TimeElements) -> float | None:
    """Setup ratio = AUST / AUPT (ISO 22400-2:2014)."""
    return ratio(t.aust_s, t.aupt_s)


def technical_efficiency(t: TimeElements) -> float | None:
    """Technical efficiency = APT / (APT + ADET) (ISO 22400-2:2014)."""
    return ratio(t.apt_s, t.apt_s + t.adet_s)


def utilization_efficiency(t: TimeElements) -> float | None:
    """Utilization efficiency = APT / AUBT (ISO 22400-2:2014)."""
    return ratio(t.apt_s, t.aubt_s)


def allocation_efficiency(t: TimeElements) -> float | None:
    """Allocation efficiency = AUBT / PBT (ISO 22400-2:2014)."""
    return ratio(t.aubt_s, t.pbt_s)


def throughput_rate_per_h(t: TimeElements, q: Quantities) -> float | None:
    """Throughput rate = PQ / AOET (ISO 22400-2:2014), units per hour.

    ISO 22400 defines it per order; for a work unit and period the time base used is AUBT, the time
    the unit was busy executing orders.
    """
    return ratio(q.pq, t.aubt_s / 3600.0)


def scrap_ratio(q: Quantities) -> float | None:
    """Scrap ratio = SQ / PQ (ISO 22400-2:2014)."""
    return ratio(q.sq, q.pq)


def rework_ratio(q: Quantities) -> float | None:
    """Rework ratio = RQ / PQ (ISO 22400-2:2014)."""
    return ratio(q.rq, q.pq)


def first_pass_yield(q: Quantities) -> float | None:
    """First pass yield = GP / IP (ISO 22400-2:2014).

    Inspected parts are all produced ones (PQ); good at first pass are those neither scrapped nor
    sent to rework. Without serialised part tracking this equals the quality ratio by count.
    """
    return ratio(q.pq - q.sq - q.rq, q.pq)


def mtbf_s(t: TimeElements, m: Maintenance) -> float | None:
    """Mean operating time between failures = sum(TBF) / FE (ISO 22400-2:2014).

    TBF counts busy time including setup and production, without delay times: APT + AUST.
    """
    return ratio(t.apt_s + t.aust_s, m.failures)


def mttr_s(m: Maintenance) -> float | None:
    """Mean time to repair = sum(TTR) / FE (ISO 22400-2:2014)."""
    return ratio(m.failure_s, m.failures)


def corrective_maintenance_ratio(m: Maintenance) -> float | None:
    """Corrective maintenance ratio = CMT / (CMT + PMT) (ISO 22400-2:2014)."""
    return ratio(m.failure_s, m.failure_s + m.maintenance_s)


def comprehensive_energy_consumption_kwh(inputs: GroupInputs) -> float | None:
    """Comprehensive energy consumption e = E / PQ, kWh per produced unit (ISO 22400-2:2014)."""
    return ratio(inputs.resources.energy_kwh, inputs.quantities.pq)

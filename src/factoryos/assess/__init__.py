"""Maturity assessment (GB/T 39116/39117), measured gains, robot density and the programme view
across many factories. Pure: depends only on ``factoryos.model``.

``load_model`` gives the maturity model as data; ``assess`` scores requirement scores (from
``load_answers`` and ``platform_scores``) into levels; ``measure_gains`` compares two periods of
``DayFigures``; ``robot_density`` counts ISO 8373 robots; ``read_document``/``sign`` handle the KPI
exchange document; ``progress``, ``rankings`` and ``shortlist`` make the programme view.
"""

from factoryos.assess.answers import Answers, load_answers
from factoryos.assess.density import REFERENCES, Density, robot_density, total_density
from factoryos.assess.evidence import Measurement, combine, plan_adherence, platform_scores
from factoryos.assess.exchange import KpiDocument, json_schema, read_document, sign
from factoryos.assess.gains import METRICS, DayFigures, Gain, measure_gains, measure_gains_many
from factoryos.assess.maturity import ManufacturingType, MaturityModel, Requirement, load_model
from factoryos.assess.program import (
    FactoryRecord,
    Programme,
    load_programme,
    progress,
    rankings,
    shortlist,
)
from factoryos.assess.scoring import Assessment, RequirementScore, Source, assess

__all__ = [
    "METRICS",
    "REFERENCES",
    "Answers",
    "Assessment",
    "DayFigures",
    "Density",
    "FactoryRecord",
    "Gain",
    "KpiDocument",
    "ManufacturingType",
    "MaturityModel",
    "Measurement",
    "Programme",
    "Requirement",
    "RequirementScore",
    "Source",
    "assess",
    "combine",
    "json_schema",
    "load_answers",
    "load_model",
    "load_programme",
    "measure_gains",
    "measure_gains_many",
    "plan_adherence",
    "platform_scores",
    "progress",
    "rankings",
    "read_document",
    "robot_density",
    "shortlist",
    "sign",
    "total_density",
]

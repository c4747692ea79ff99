"""The KPI exchange document: what a factory submits to its programme, signed with Ed25519.

Its JSON schema is ``docs/kpi-exchange.schema.json`` (generated from :class:`KpiDocument`, kept
equal by a test). The signature covers the canonical JSON of the document without its
``signature`` member (keys sorted, no spaces, UTF-8), so any change of a figure breaks it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from factoryos.model.errors import AssessmentError

SCHEMA_ID = "factoryos-kpi-exchange"
SCHEMA_VERSION = 1


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Factory(_Doc):
    id: str = Field(description="enterprise/site of the plant model")
    name: str
    district: str = ""
    industry: str = ""
    certification_year: int | None = None


class AssessmentPart(_Doc):
    type: Literal["discrete", "process"]
    level: int = Field(ge=0, le=5)
    total_score: float = Field(ge=0, le=5)
    level_scores: list[float] = Field(min_length=5, max_length=5)
    sub_domain_scores: dict[str, dict[str, float]] = Field(
        description="level ('L1'..'L5') -> sub-domain id -> score"
    )
    weights_source: str


class GainPart(_Doc):
    metric: str
    baseline: float | None
    current: float | None
    change_pct: float | None
    low_pct: float | None
    high_pct: float | None


class DayPart(_Doc):
    """One day's sums (the gains' numerators and denominators)."""

    period: Literal["baseline", "current"]
    day: dt.date
    value_added_cny: float
    good_units: float
    labour_h: float
    operating_cost_cny: float
    energy_kwh: float
    oee_good_run_s: float
    pbt_s: float


class DensityPart(_Doc):
    robots: int = Field(ge=0)
    employees: int = Field(ge=0)
    assumed_axes: int = Field(ge=0)


class Signature(_Doc):
    algorithm: Literal["ed25519"] = "ed25519"
    public_key: str = Field(description="raw Ed25519 public key, base64")
    value: str = Field(description="signature of the canonical document, base64")


class KpiDocument(_Doc):
    """A factory's signed assessment and KPIs (schema ``factoryos-kpi-exchange`` version 1)."""

    schema_: Literal["factoryos-kpi-exchange"] = Field("factoryos-kpi-exchange", alias="schema")
    version: Literal[1] = 1
    generated_at: dt.datetime
    factory: Factory
    assessment: AssessmentPart
    gains: list[GainPart] | None = None
    days: list[DayPart] = []
    robot_density: DensityPart
    signature: Signature | None = None


def canonical(doc: KpiDocument) -> bytes:
    """The bytes a signature covers: the document without ``signature``, canonical JSON."""
    data = doc.model_dump(mode="json", by_alias=True, exclude={"signature"})
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(doc: KpiDocument, private_key_pem: bytes) -> KpiDocument:
    try:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise AssessmentError(f"not an unencrypted PEM private key: {exc}", item="key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise AssessmentError("the key is not an Ed25519 key", item="key")
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    signature = Signature(
        public_key=base64.b64encode(public).decode(),
        value=base64.b64encode(key.sign(canonical(doc))).decode(),
    )
    return doc.model_copy(update={"signature": signature})


def new_private_key_pem() -> bytes:
    """A fresh Ed25519 private key, PEM (PKCS#8, unencrypted)."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def read_document(text: str | bytes, source: str) -> KpiDocument:
    """Parse, check the schema id and version, and verify the signature; errors name ``source``."""
    try:
        raw: Any = json.loads(text)
    except ValueError as exc:
        raise AssessmentError(f"not JSON: {exc}", file=source) from exc
    if not isinstance(raw, dict):
        raise AssessmentError("expected a JSON object", file=source)
    if raw.get("schema") != SCHEMA_ID or raw.get("version") != SCHEMA_VERSION:
        raise AssessmentError(
            f"schema {raw.get('schema')!r} version {raw.get('version')!r} is not "
            f"{SCHEMA_ID!r} version {SCHEMA_VERSION}",
            file=source,
            item="version",
        )
    try:
        doc = KpiDocument.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise AssessmentError(first["msg"], file=source, item=where) from exc
    verify(doc, source)
    return doc


def verify(doc: KpiDocument, source: str) -> None:
    if doc.signature is None:
        raise AssessmentError("the document is not signed", file=source, item="signature")
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(doc.signature.public_key))
        key.verify(base64.b64decode(doc.signature.value), canonical(doc))
    except (InvalidSignature, ValueError) as exc:
        raise AssessmentError(
            "bad signature: the document was changed after signing or signed by another key",
            file=source,
            item="signature",
        ) from exc


def json_schema() -> dict[str, Any]:
    """The document's JSON schema (what docs/kpi-exchange.schema.json holds)."""
    schema = KpiDocument.model_json_schema(by_alias=True)
    schema["$id"] = f"https://factoryos.dev/schemas/{SCHEMA_ID}-{SCHEMA_VERSION}.json"
    return schema

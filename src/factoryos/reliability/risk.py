"""Condition-based failure risk: a gradient-boosted classifier on machine telemetry.

Trained on the AI4I 2020 predictive maintenance data (Matzka 2020, UCI 601): air and process
temperature, spindle speed, torque, tool wear and the product quality variant, labelled with
whether the machine failed. Three physical features are derived because the failure modes are
physical: mechanical power (torque x angular speed; power failures), the process-air temperature
difference (heat dissipation) and tool wear x torque (overstrain). Failures are rare (3.4 %), so
the classes are weighted inversely to their frequency; metrics are stratified k-fold cross-validated
(precision, recall, F1 at the 0.5 threshold, and ROC AUC, which needs no threshold).
"""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_validate
from threadpoolctl import threadpool_limits

from factoryos.model.errors import ReliabilityError

__all__ = [
    "SENSORS",
    "CvMetrics",
    "RiskModel",
    "cross_validated_metrics",
    "derived_features",
    "train_risk_model",
]

SENSORS: tuple[str, ...] = (
    "air_temperature",  # K
    "process_temperature",  # K
    "rotational_speed",  # rpm
    "torque",  # N m
    "tool_wear",  # min
    "quality_variant",  # 0 = L, 1 = M, 2 = H (the product's quality variant)
)
"""The sensor names (``sensor`` of sample events) the model reads, in its column order."""

FloatArray = npt.NDArray[np.float64]

# _ONE_THREAD: histogram boosting's OpenMP threads on a busy shared machine ran 100x slower
# (measured: one fit 3 s on one thread, a 5-fold CV over 400 s with the default threads), and
# 10,000 rows gain nothing from more threads.


def derived_features(x: FloatArray) -> FloatArray:
    """The raw sensor columns plus power (W), temperature difference (K), wear x torque."""
    air, process, speed, torque, wear = (x[:, i] for i in range(5))
    power_w = torque * speed * 2.0 * math.pi / 60.0
    return np.column_stack([x, power_w, process - air, wear * torque])


def _classifier(seed: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        class_weight="balanced", max_iter=150, learning_rate=0.1, random_state=seed
    )


def _check(x: FloatArray, y: npt.NDArray[np.int_]) -> None:
    if x.ndim != 2 or x.shape[1] != len(SENSORS):
        raise ReliabilityError(f"expected {len(SENSORS)} sensor columns, got shape {x.shape}")
    if x.shape[0] != y.shape[0]:
        raise ReliabilityError(f"{x.shape[0]} samples but {y.shape[0]} labels")
    if not np.isfinite(x).all():
        raise ReliabilityError("the samples hold missing or infinite values")
    positives = int(y.sum())
    if positives < 2 or positives == y.size:
        raise ReliabilityError(f"need failures and non-failures to learn from, got {positives}")


@dataclass(frozen=True, slots=True)
class CvMetrics:
    """Cross-validated means and standard deviations over the folds."""

    folds: int
    precision: float
    precision_sd: float
    recall: float
    recall_sd: float
    f1: float
    f1_sd: float
    auc: float
    auc_sd: float
    samples: int
    failures: int


def cross_validated_metrics(
    x: FloatArray, y: npt.NDArray[np.int_], *, folds: int = 5, seed: int = 0
) -> CvMetrics:
    """Stratified k-fold precision, recall, F1 and ROC AUC of the classifier on (x, y)."""
    _check(x, y)
    with threadpool_limits(1):  # see _ONE_THREAD
        scores = cross_validate(
            _classifier(seed),
            derived_features(x),
            y,
            cv=StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed),
            scoring=("precision", "recall", "f1", "roc_auc"),
        )

    def stat(name: str) -> tuple[float, float]:
        values = np.asarray(scores[f"test_{name}"], dtype=np.float64)
        return float(values.mean()), float(values.std(ddof=1))

    (p, p_sd), (r, r_sd), (f, f_sd), (a, a_sd) = (
        stat(n) for n in ("precision", "recall", "f1", "roc_auc")
    )
    return CvMetrics(folds, p, p_sd, r, r_sd, f, f_sd, a, a_sd, int(y.size), int(y.sum()))


@dataclass(frozen=True)
class RiskModel:
    """A trained classifier: ``risk`` is its probability of failure for each sample row."""

    classifier: HistGradientBoostingClassifier
    metrics: CvMetrics | None
    source: str

    def risk(self, x: FloatArray) -> FloatArray:
        if x.ndim != 2 or x.shape[1] != len(SENSORS):
            raise ReliabilityError(f"expected {len(SENSORS)} sensor columns, got shape {x.shape}")
        with threadpool_limits(1):
            return np.asarray(self.classifier.predict_proba(derived_features(x))[:, 1])

    def save(self, path: Path) -> None:
        """Pickle (scikit-learn's own persistence): load only model files you wrote."""
        path.write_bytes(pickle.dumps(self))

    @staticmethod
    def load(path: Path) -> RiskModel:
        try:
            model = pickle.loads(path.read_bytes())
        except OSError as exc:
            raise ReliabilityError(f"cannot read risk model {str(path)!r}: {exc.strerror}") from exc
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
            raise ReliabilityError(f"{str(path)!r} is not a factoryos risk model: {exc}") from exc
        if not isinstance(model, RiskModel):
            raise ReliabilityError(f"{str(path)!r} is not a factoryos risk model")
        return model


def train_risk_model(
    x: FloatArray,
    y: npt.NDArray[np.int_],
    *,
    source: str,
    folds: int = 5,
    seed: int = 0,
) -> RiskModel:
    """Cross-validate (``folds`` >= 2), then fit on all samples."""
    metrics = cross_validated_metrics(x, y, folds=folds, seed=seed) if folds >= 2 else None
    with threadpool_limits(1):
        classifier = _classifier(seed).fit(derived_features(x), y)
    return RiskModel(classifier, metrics, source)

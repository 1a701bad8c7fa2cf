"""Save and load trained scenario models with the versions they were made with.

A model is one file (``NAME.skops`` with skops, the safe format; ``NAME.joblib`` when skops cannot
hold the object) and a JSON sidecar ``NAME.json``: smartfactory and library versions, scenario,
feature names, training time. ``load_model`` refuses a model made by another smartfactory version
or another version of a library it depends on, with a message naming both, because a model
unpickled under other library versions can silently predict something else.

Only load joblib files you made yourself: joblib runs code while loading. skops files are loaded
with only the types that the scenarios' own models use trusted.
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from smartfactory import __version__
from smartfactory.model.errors import UserError

# the libraries a trained model's behaviour depends on (their pickled internals change between releases)
TRACKED_LIBRARIES = ("scikit-learn", "lightgbm", "numpy", "river", "skops")
# skops loads only types under these module prefixes; anything else in a file is refused
TRUSTED_PREFIXES = ("sklearn.", "lightgbm.", "numpy.", "scipy.", "smartfactory.", "builtins.", "collections.")
SIDECAR_FORMAT = "smartfactory.model/1"


@dataclass(frozen=True)
class ModelInfo:
    """The sidecar of a saved model: what made it and what it expects."""

    scenario: str
    smartfactory_version: str
    libraries: dict[str, str]
    feature_names: list[str]
    trained_at: str
    serializer: str
    file: str
    python: str = field(default_factory=platform.python_version)
    metrics: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    format: str = SIDECAR_FORMAT


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a model depends on (absent ones left out)."""
    out: dict[str, str] = {}
    for name in TRACKED_LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def save_model(
    model: Any,
    path: str | Path,
    *,
    scenario: str,
    feature_names: list[str],
    metrics: dict[str, float] | None = None,
    extra: dict[str, Any] | None = None,
) -> ModelInfo:
    """Write ``model`` to ``path`` (suffix chosen here) and its version sidecar; return the sidecar."""
    base = Path(path)
    base.parent.mkdir(parents=True, exist_ok=True)
    serializer, file = _dump(model, base)
    info = ModelInfo(
        scenario=scenario,
        smartfactory_version=__version__,
        libraries=library_versions(),
        feature_names=list(feature_names),
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        serializer=serializer,
        file=file.name,
        metrics=dict(metrics or {}),
        extra=dict(extra or {}),
    )
    sidecar_path(base).write_text(json.dumps(asdict(info), indent=2, ensure_ascii=False), encoding="utf-8")
    return info


def load_model(path: str | Path, scenario: str | None = None) -> tuple[Any, ModelInfo]:
    """The model saved at ``path`` and its sidecar; a UserError if it was made by other versions."""
    base = Path(path)
    info = read_info(base)
    if scenario is not None and info.scenario != scenario:
        raise UserError(f"model {base} belongs to scenario {info.scenario!r}, not {scenario!r}")
    check_versions(info, base)
    file = base.with_name(info.file)
    if not file.exists():
        raise UserError(f"model file {file} named by {sidecar_path(base)} is missing")
    if info.serializer == "skops":
        import skops.io as sio

        untrusted = sio.get_untrusted_types(file=file)
        refused = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
        if refused:
            raise UserError(f"model {file} holds types smartfactory does not trust: {', '.join(refused)}")
        return sio.load(file, trusted=untrusted), info
    import joblib

    return joblib.load(file), info


def read_info(path: str | Path) -> ModelInfo:
    """The sidecar of the model at ``path``; a UserError if it is missing or not a sidecar."""
    side = sidecar_path(Path(path))
    if not side.exists():
        raise UserError(f"no model at {Path(path)}: its sidecar {side} is missing")
    try:
        raw = json.loads(side.read_text(encoding="utf-8"))
        if raw.get("format") != SIDECAR_FORMAT:
            raise ValueError(f"format {raw.get('format')!r}")
        return ModelInfo(**raw)
    except (ValueError, TypeError) as exc:
        raise UserError(f"{side} is not a smartfactory model sidecar ({SIDECAR_FORMAT}): {exc}") from None


def check_versions(info: ModelInfo, where: Path) -> None:
    """Refuse a model made by another smartfactory version or other library versions."""
    if info.smartfactory_version != __version__:
        raise UserError(
            f"model {where} was saved by smartfactory {info.smartfactory_version}; this is smartfactory "
            f"{__version__}: retrain it (smartfactory scenario run {info.scenario})"
        )
    now = library_versions()
    changed = [
        f"{name} {was} (now {now.get(name, 'not installed')})"
        for name, was in sorted(info.libraries.items())
        if now.get(name) != was
    ]
    if changed:
        raise UserError(
            f"model {where} was saved with {', '.join(changed)}; retrain it "
            f"(smartfactory scenario run {info.scenario})"
        )


def sidecar_path(path: Path) -> Path:
    """Where the JSON sidecar of the model at ``path`` lives."""
    return path.with_suffix(".json")


def _dump(model: Any, base: Path) -> tuple[str, Path]:
    import skops.io as sio

    file = base.with_suffix(".skops")
    try:
        sio.dump(model, file)
        untrusted = sio.get_untrusted_types(file=file)
        # a file that load_model would refuse, or skops cannot read back, is no use as skops
        if all(t.startswith(TRUSTED_PREFIXES) for t in untrusted):
            sio.load(file, trusted=untrusted)
            return "skops", file
    except Exception:
        pass
    file.unlink(missing_ok=True)
    import joblib

    file = base.with_suffix(".joblib")
    joblib.dump(model, file)
    return "joblib", file

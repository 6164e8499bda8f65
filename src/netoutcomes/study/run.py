"""Run a study end to end on a registry: load, screen, analyse."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from netoutcomes.registry.importing import import_sources
from netoutcomes.registry.store import create_registry
from netoutcomes.study.analysis import StudyResult, analyse
from netoutcomes.study.eligibility import Screening, screen
from netoutcomes.study.load import load_patients
from netoutcomes.study.protocol import Protocol, load_protocol
from netoutcomes.study.records import PatientRecord

SYNTHETIC_PREFIX = "SYN-"


def is_synthetic(patients: list[PatientRecord]) -> bool:
    """The bundled synthetic cohort labels every patient id with ``SYN-``."""
    return bool(patients) and all(p.patient_id.startswith(SYNTHETIC_PREFIX) for p in patients)


@dataclass(frozen=True)
class LoadedStudy:
    protocol: Protocol
    patients: list[PatientRecord]


def load_study(registry: str | Path, protocol: str | Path) -> LoadedStudy:
    return LoadedStudy(load_protocol(protocol), load_patients(registry))


def screen_registry(registry: str | Path, protocol: str | Path) -> Screening:
    study = load_study(registry, protocol)
    return screen(study.protocol, study.patients)


def analyse_registry(registry: str | Path, protocol: str | Path) -> StudyResult:
    study = load_study(registry, protocol)
    screening = screen(study.protocol, study.patients)
    return analyse(study.protocol, study.patients, screening, is_synthetic(study.patients))


def demo_cohort_dir() -> Path:
    return Path(str(files("netoutcomes") / "data" / "demo_cohort"))


def build_demo_registry(path: str | Path) -> Path:
    """A new registry at ``path`` holding the bundled SYNTHETIC cohort."""
    registry = create_registry(path)
    import_sources(registry, [demo_cohort_dir()], user="netoutcomes-demo")
    return registry

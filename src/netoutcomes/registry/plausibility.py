"""Values possible but unlikely: typing slips that change a study's verdicts.

Each finding blocks the import unless the user confirms it (``confirm_unlikely``,
``netoutcomes import --confirm-unlikely``), in which case it is a warning:

- a lesion under 5 mm: below what imaging measures reliably (RECIST 1.1 measures
  lesions from 10 mm), and what a size typed in cm looks like (2.5 for 25 mm);
- an I-131 MIBG activity under 1 GBq or over 30 GBq per administration (therapy
  is typically 3.7-11.1 GBq, 100-300 mCi; 200 is what an mCi value typed in the
  MBq column looks like);
- a 10-fold (or more) change of activity between consecutive cycles of one
  patient and agent (an mCi/MBq or a GBq/MBq mix-up in one row).

Impossible values are errors in the model (dates after today or before 1900,
non-finite or absurd magnitudes) and in ``registry.consistency`` (the same cycle
number twice).
"""

from __future__ import annotations

from collections import defaultdict

from netoutcomes.registry.consistency import RowRef, State, Violation

MIN_LESION_MM = 5.0
I131_MIBG_MBQ = (1_000.0, 30_000.0)
CYCLE_JUMP = 10.0
CONFIRM = "possible but unlikely: if it is right, import again with --confirm-unlikely"


def unlikely_values(state: State, incoming: set[RowRef]) -> list[Violation]:
    """Findings on the rows of ``incoming`` (stored rows were confirmed when imported)."""
    found: list[Violation] = []
    for key, row in state.get("lesions", {}).items():
        size = row["longest_diameter_mm"]
        if RowRef("lesions", key) in incoming and size is not None and size < MIN_LESION_MM:
            found.append(
                Violation(
                    RowRef("lesions", key),
                    "longest_diameter_mm",
                    size,
                    f"a lesion under {MIN_LESION_MM:g} mm (a size in cm?); {CONFIRM}",
                )
            )
    low, high = I131_MIBG_MBQ
    cycles: dict[tuple[str, str], list[tuple[int, RowRef, float]]] = defaultdict(list)
    for key, row in state.get("therapies", {}).items():
        ref = RowRef("therapies", key)
        cycles[(row["patient_id"], row["agent"])].append((row["cycle"], ref, row["activity_mbq"]))
        mbq = row["activity_mbq"]
        if ref in incoming and row["agent"] == "i131_mibg" and not low <= mbq <= high:
            found.append(
                Violation(
                    ref,
                    "activity_mbq",
                    mbq,
                    f"an I-131 MIBG activity outside {low / 1000:g}-{high / 1000:g} GBq "
                    f"(an activity in mCi? 200 mCi = 7400 MBq); {CONFIRM}",
                )
            )
    for series in cycles.values():
        series.sort(key=lambda item: item[0])
        for (previous, before_ref, before), (cycle, ref, mbq) in zip(
            series, series[1:], strict=False
        ):
            jump = max(mbq, before) / min(mbq, before)
            if jump >= CYCLE_JUMP and (ref in incoming or before_ref in incoming):
                where = ref if ref in incoming else before_ref
                found.append(
                    Violation(
                        where,
                        "activity_mbq",
                        mbq if where is ref else before,
                        f"activity changes {jump:.0f}-fold between cycles {previous} and "
                        f"{cycle} (a unit mix-up?); {CONFIRM}",
                    )
                )
    return found

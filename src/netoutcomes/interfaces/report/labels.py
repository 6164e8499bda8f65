"""What the reader sees instead of the study's internal names (column ids, row keys).

The study keeps ids stable for the CSVs, results.json and the narrative's links;
the report shows these labels. An id with no label here is humanised
(``events_versus`` -> "Events versus"), so no internal name reaches the page.
"""

from __future__ import annotations

import re

from netoutcomes.study.results import METHOD_LABELS

# column id -> (group header or None, header)
COLUMN_LABELS: dict[str, tuple[str | None, str]] = {
    "n": (None, "n"),
    "events": (None, "Events"),
    "total": (None, "Of"),
    "percent": (None, "% (95% CI)"),
    "median": (None, "Median, years (95% CI)"),
    "followup_median": (None, "Median follow-up, years"),
    "cohort": (None, "Cohort"),
    "method": (None, "Analysis"),
    "group": (None, "Group"),
    "versus": (None, "Versus"),
    "origin": (None, "Time from"),
    "reference": (None, "Containing cohort"),
    "n_group": ("Patients", "Group"),
    "n_versus": ("Patients", "Versus"),
    "events_group": ("Events", "Group"),
    "events_versus": ("Events", "Versus"),
    "logrank_chisq": ("Log-rank test", "χ²"),
    "logrank_p": ("Log-rank test", "p"),
    "logrank_p_adjusted": ("Log-rank test", "Adjusted p"),
    "hr": ("Cox model", "HR (95% CI)"),
    "cox_p": ("Cox model", "p"),
    "rmst_diff": ("RMST difference", "Years (95% CI)"),
    "rmst_p": ("RMST difference", "p"),
    "note": (None, "Note"),
}
# landmark columns: prefix -> header under the "5 years" group
LANDMARK_PREFIXES: dict[str, str] = {
    "s": "Survival, % (95% CI)",
    "at_risk": "At risk",
    "diff": "Difference, points (95% CI)",
    "delayed": "Delayed entry, %",
    "naive": "Naive, %",
    "gap": "Gap, points",
}
LANDMARK = re.compile(r"^(?P<prefix>[a-z_]+?)_(?P<t>\d+(?:\.\d+)?)y(?P<note>_note)?$")

METHOD_SHORT: dict[str, str] = {
    METHOD_LABELS["delayed_entry"]: "Delayed entry",
    METHOD_LABELS["naive"]: "Naive (no delayed entry)",
    METHOD_LABELS["from_origin"]: "From first therapy",
}
VALUE_LABELS: dict[str, str] = {
    "not_assessed": "Not assessed",
    "cannot_assess": "Could not be assessed",
    "objective_response": "Objective response",
    "disease_control": "Disease control",
    **METHOD_SHORT,
}
_ID = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


def looks_like_id(text: str) -> bool:
    return bool(_ID.match(text))


def humanise(text: str) -> str:
    """``events_versus`` -> ``Events versus``; other text unchanged."""
    if not looks_like_id(text):
        return text
    words = text.split("_")
    return " ".join([words[0].capitalize(), *words[1:]])


def value_label(value: str, extra: dict[str, str] | None = None) -> str:
    labels = VALUE_LABELS | (extra or {})
    return labels.get(value, humanise(value))

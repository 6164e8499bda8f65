"""Figures drawn from statistics objects (matplotlib, no display needed).

Beside the API, below the study layer: ``netoutcomes stats km --plot``, the
API's ``.plot()`` and the study report all draw with these functions.

- :func:`kaplan_meier_figure` (curves: ``KMSeries``, ``GroupCurve`` or
  ``KaplanMeier``; or ``KMPanel`` for small multiples)
- :func:`cumulative_incidence_figure` (``CompetingRisks`` from ``survival.cif``)
- :func:`forest_figure` (``ForestItem`` rows, or a ``CoxFit``)
- :func:`consort_figure` (``FlowStep``/``FlowBox``)
- :func:`proportions_figure` (``ProportionPanel``)
- :func:`save_figure` (PNG, SVG or PDF by the file's suffix)
"""

from netoutcomes.figures.cif import cumulative_incidence_figure
from netoutcomes.figures.consort import FlowBox, FlowStep, consort_figure
from netoutcomes.figures.forest import ForestItem, forest_figure, format_p, items_from_cox
from netoutcomes.figures.km import KMPanel, KMSeries, as_series, kaplan_meier_figure, series_from_km
from netoutcomes.figures.response import ProportionPanel, proportions_figure
from netoutcomes.figures.style import OKABE_ITO, save_figure

__all__ = [
    "OKABE_ITO",
    "FlowBox",
    "FlowStep",
    "ForestItem",
    "KMPanel",
    "KMSeries",
    "ProportionPanel",
    "as_series",
    "consort_figure",
    "cumulative_incidence_figure",
    "forest_figure",
    "format_p",
    "items_from_cox",
    "kaplan_meier_figure",
    "proportions_figure",
    "save_figure",
    "series_from_km",
]

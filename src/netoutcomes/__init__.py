"""netoutcomes: outcomes registry and survival analysis for neuroendocrine tumours.

Layers (dependencies point down only):
interfaces -> study -> registry -> engine -> survival.
"""

__version__ = "0.1.0"

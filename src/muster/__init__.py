"""muster: one accurate, explainable record per citizen from many agency extracts."""

__version__ = "0.1.0"

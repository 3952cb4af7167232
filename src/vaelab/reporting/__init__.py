"""Figures and text renderings of results."""

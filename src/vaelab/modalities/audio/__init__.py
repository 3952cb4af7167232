"""Audio: loading clips, log-mel front end, Griffin-Lim vocoder, band metrics, enhancements, figures.

Importing this package imports numpy only; librosa / soundfile / torch are imported where used.
"""

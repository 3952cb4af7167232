"""Spectra: baseline removal, smoothing and normalisation steps."""

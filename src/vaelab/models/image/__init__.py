"""Generators for small images: ``vaelab-image`` (conv class-conditional VAE) and ``seed-image-vae`` (the
documents' textbook MLP VAE, the baseline)."""

from vaelab.models.image.seed_image import SeedImageVAE
from vaelab.models.image.vaelab_image import VaelabImage

__all__ = ["SeedImageVAE", "VaelabImage"]

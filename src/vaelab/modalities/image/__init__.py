"""Images: readers/writers, the domain feature network, the CNN classifier, figures, the demo part.

Importing this package registers the image domain network as the feature space of image metrics
(``image-cnn``, the default for samples of kind ``image``); torch is imported only when it is built.
"""

from vaelab.metrics.features import register_features


def _image_cnn(*, seed: int = 0, dim: int = 64, epochs: int = 10):
    from vaelab.modalities.image.features import ImageFeatureExtractor

    return ImageFeatureExtractor(seed=seed, dim=dim, epochs=epochs)


register_features("image-cnn", _image_cnn, default_for=("image",))

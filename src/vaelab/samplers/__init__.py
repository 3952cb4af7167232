"""Latent densities for the second stage of a VAE: where sampling draws its codes ``z`` from.

Any VAE that exposes the posteriors of its training samples (means ``mu`` and log-variances
``logvar``, both (n, L)) can sample from one of these instead of N(0, I): the standard prior
leaves the holes of the aggregate posterior (Dai & Wipf 2019, "Diagnosing and enhancing VAE
models"), a second-stage density fills the space the training codes actually occupy.

=============  ====================================================================================
``standard``   N(0, I) codes (the VAE's own prior)                                  :class:`StandardNormal`
``aggregate``  a random training sample's posterior draw (per class)                :class:`AggregatePosterior`
``kde``        the same plus Gaussian kernel noise whose width is *calibrated* so that
               samples lie as far from their nearest training sample as a left-out
               training sample does (a smoothed bootstrap; not copies)                :class:`CalibratedKDE`
``gmm``        a per-class Gaussian mixture fitted on posterior draws               :class:`LatentGMM`
``diffusion``  a class-conditional diffusion model (DDPM) fitted on posterior draws :class:`LatentDiffusion`
=============  ====================================================================================

The protocol (:class:`LatentSampler`), for the image and audio VAEs as for ``vaelab-cvae``::

    sampler = make_sampler("kde", kernel="gaussian")          # params are JSON values
    sampler.fit(mu, logvar, c, n_classes, attached=None, seed=0)
    sampler.calibrate(generate, x_train, c)                    # only "kde"; others: no-op
    z, attached = sampler.sample(c_new, gen)                   # per-row class indices, torch.Generator
    tensors = sampler.state_dict()                             # save with the weights (safetensors)
    sampler.load_state_dict(tensors)                           # after make_sampler(kind, **params)

* ``c`` are class indices (int64, (n,)), ``n_classes`` their number; sampling takes one class
  index per row to generate (the decoder needs it anyway) and draws the rows of each class in
  class order from the one generator, so samples are reproducible from the seed.
* ``attached`` (n, a), optional: per-sample values that travel with a training sample's code
  without being noised (``vaelab-cvae``: the spectrum's noise level); ``sample`` returns the
  attached values of the training sample drawn (``gmm``: modelled jointly with the code).
* ``calibrate(generate, x, c, seed)``: ``generate(c, gen) -> x`` is the model's own sampler in
  data (model) space, ``x`` (n, d) its training samples; :class:`CalibratedKDE` picks per class the
  smallest kernel width whose samples are as novel as real ones.
* ``state_dict()`` returns the live tensors (names below, flat, safetensors-ready) and
  ``load_state_dict`` keeps references, so a model may hold them in its weights dict;
  :func:`save_sampler` / :func:`load_sampler` write and read ``sampler.json`` + ``sampler.safetensors``
  on their own.

State keys: ``train_mu``, ``train_logvar``, ``train_class``, ``train_attached`` (training codes),
``kde_mean``, ``kde_sd``, ``kde_var``, ``kde_h``, ``kde_nn``, ``kde_comp``, ``kde_cmean``, ``kde_croot`` (kde),
``gmm_weight``, ``gmm_mean``, ``gmm_chol`` (gmm), ``ldm_mean``, ``ldm_sd``, ``ldm_classes``, ``ldm_w.*`` (diffusion).
"""

from __future__ import annotations

from vaelab.samplers.base import LatentSampler, load_sampler, make_sampler, save_sampler
from vaelab.samplers.diffusion import LatentDiffusion
from vaelab.samplers.gmm import LatentGMM
from vaelab.samplers.kde import CalibratedKDE
from vaelab.samplers.posterior import AggregatePosterior, StandardNormal

SAMPLERS: dict[str, type] = {cls.kind: cls for cls in (StandardNormal, AggregatePosterior, CalibratedKDE, LatentGMM,
                                                        LatentDiffusion)}

__all__ = ["SAMPLERS", "AggregatePosterior", "CalibratedKDE", "LatentDiffusion", "LatentGMM", "LatentSampler", "StandardNormal",
           "load_sampler", "make_sampler", "save_sampler"]

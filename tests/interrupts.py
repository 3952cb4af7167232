"""Helpers for the tests of interrupted and resumed training: a crash in the middle of a model's training loop."""


class Interrupted(Exception):
    """Stands in for a crash / Ctrl-C in the middle of training."""


def interrupt_loss(monkeypatch, cls, epoch_to_fail: int) -> None:
    """Make ``cls.loss`` (a torch generator's) raise :class:`Interrupted` at epoch ``epoch_to_fail`` (0-based)."""
    real = cls.loss

    def loss(self, m, x, c, epoch):
        if epoch == epoch_to_fail:
            raise Interrupted
        return real(self, m, x, c, epoch)

    monkeypatch.setattr(cls, "loss", loss)

"""Thin adapters from training frameworks to :class:`~cmf_core.run.Run`, each an optional extra.

``lightning``: :class:`~cmf_core.integrations.lightning.CmfLogger`, a PyTorch
Lightning logger (``pip install 'cmf[lightning]'``); ``huggingface``:
:class:`~cmf_core.integrations.huggingface.CmfCallback`, a ``transformers``
``TrainerCallback`` (``pip install 'cmf[transformers]'``). ``guard`` is what they
share: recording that warns once and never stops training.
"""

"""Thin adapters from training frameworks to :class:`~cmf_core.run.Run`, each an optional extra.

``lightning``: :class:`~cmf_core.integrations.lightning.CmfLogger`, a PyTorch
Lightning logger (``pip install 'cmf[lightning]'``).
"""

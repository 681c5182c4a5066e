"""Artifact bytes: a deduplicated content store in DVC's layout, remotes, push/pull, status, gc.

Built on DVC's own libraries (dvc-data for the object layout, dvc-objects and
its plugins for remote file systems), imported on first use: ``from cmf_core
import Cmf`` never imports them.
"""

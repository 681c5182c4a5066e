"""Records built from values already known valid, without validating them again.

A sync page or push holds hundreds of thousands of events and metrics: rows of
a store's own tables, or values the wire models (:mod:`cmf_core.sync.wire`)
have just validated. ``model_construct`` skips validation but still walks the
model's fields for defaults and aliases, about three times the cost of the
record itself; :func:`trusted` sets every field at once, as ``model_construct``
does when each one is given. The record is the same frozen model, equal to a
validated one.
"""

from typing import Any, TypeVar

from pydantic import BaseModel

ModelT = TypeVar("ModelT", bound=BaseModel)


def trusted(model: type[ModelT], values: dict[str, Any]) -> ModelT:
    """``model`` holding ``values`` — every one of its fields, each of the right type."""
    record = model.__new__(model)
    _set(record, "__dict__", values)
    _set(record, "__pydantic_fields_set__", set(values))
    _set(record, "__pydantic_extra__", None)
    _set(record, "__pydantic_private__", None)
    return record


_set = object.__setattr__

__all__ = ["trusted"]

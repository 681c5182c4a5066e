"""Annotations are append-only: a later one with the same key wins on reading, history stays."""

import pytest

from cmf_core.errors import InvalidInputError
from cmf_core.store import Store


def test_a_later_label_supersedes_an_earlier_one_and_history_keeps_both(store_url: str) -> None:
    with Store(store_url) as store:
        store.insert_annotation(
            target_kind="artifact",
            target_key="md5:" + "a" * 32,
            key="quality",
            value="good",
            note=None,
            author="ana",
        )
        store.insert_annotation(
            target_kind="artifact",
            target_key="md5:" + "a" * 32,
            key="quality",
            value="bad",
            note="label noise in batch 3",
            author="ben",
        )
        store.insert_annotation(
            target_kind="execution",
            target_key="0190",
            key="quality",
            value="fine",
            note=None,
            author="ana",
        )
        labels = store.current_labels("artifact", "md5:" + "a" * 32)
        history = store.annotation_history("artifact", "md5:" + "a" * 32, key="quality")
    assert {k: (a.value, a.author, a.note) for k, a in labels.items()} == {
        "quality": ("bad", "ben", "label noise in batch 3")
    }
    assert [a.value for a in history] == ["good", "bad"]
    assert len({a.uid for a in history}) == 2


def test_an_empty_key_is_refused_and_records_nothing(store_url: str) -> None:
    with Store(store_url) as store:
        with pytest.raises(InvalidInputError, match="1 to 255 characters"):
            store.insert_annotation(
                target_kind="execution",
                target_key="0190",
                key="",
                value="x",
                note=None,
                author="ana",
            )
        assert store.annotation_history("execution", "0190") == []

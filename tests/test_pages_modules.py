"""The demo pages' shared modules: one key per session entry, one string lookup over both tables."""

from __future__ import annotations

import pytest

from pages import _i18n, _i18n_study
from pages._state import DemoSession, Slot


def test_every_session_entry_has_its_own_key() -> None:
    slots = [value for value in vars(DemoSession).values() if isinstance(value, Slot)]
    keys = [slot.key for slot in slots]
    assert len(slots) >= 10 and len(set(keys)) == len(keys)


def test_one_tr_can_serve_every_page_because_no_key_is_in_both_tables() -> None:
    assert not set(_i18n.STRINGS) & set(_i18n_study.STRINGS)


def test_tr_reads_both_tables_in_the_session_language(monkeypatch: pytest.MonkeyPatch) -> None:
    from pages import _messages

    monkeypatch.setattr(_messages, "lang", lambda: "en")
    assert _messages.tr("caption.normal") == _i18n.t("caption.normal", "en")
    study_key = next(iter(_i18n_study.STRINGS))
    assert _messages.tr(study_key) == _i18n_study.t(study_key, "en")
    with pytest.raises(KeyError):
        _messages.tr("no.such.key")


def test_preload_fills_the_apps_model_cache_before_any_click(weights_env, monkeypatch: pytest.MonkeyPatch) -> None:
    from pages import _packs

    _packs._warmed_up.clear()
    _packs._classifier.clear()
    _packs._segmenter.clear()
    _packs.preload()
    calls = []
    monkeypatch.setattr(_packs, "analyze", lambda *a, **k: calls.append(a))
    pack = str(weights_env / "rds-demo")
    seg = str(weights_env / "lung-seg")
    assert _packs._warmed_up(pack, seg) is True and calls == [], "warm-up already done by the preload"
    assert _packs._assemble(pack, seg).classifier is _packs._classifier(pack)

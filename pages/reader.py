"""Reader page: sign in with an access code, read one film at a time, answer, and see the AI
hint only where the study's design says so.

Thin page: ``study.security`` checks the code, ``study.protocol`` decides which read comes
next and stores the answer, ``study.display`` renders the film with the reader's window,
level and zoom. The answer is committed inside the submit button's callback, which
Streamlit runs before it draws the page again, so the page never moves on before the
answer is saved. The page receives only reader-facing records
(``study.records.READER_FACING_TYPES``): no truth ever reaches it.

Runs inside the app's ``st.navigation`` or alone (``AppTest.from_file("pages/reader.py")``);
it never calls ``st.set_page_config``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import streamlit as st

from pages._study_ui import database, show_error, tr
from rds_core import render
from rds_core.errors import RdsError
from rds_core.imaging import load_radiograph
from study import StudyError
from study.display import MAX_ZOOM, ViewSettings, fit_film, render_view
from study.protocol import AnswerConflictError, OutOfOrderError, WashoutError, mark_viewed, next_task, submit_answer
from study.records import AiHint, AnswerKey, Progress, StudyComplete, Task, WashoutPending
from study.security import (
    ROLES,
    InvalidAccessCodeError,
    ReaderIdentity,
    UnknownReaderError,
    authenticate,
    get_reader,
    set_profile,
)

READER_KEY = "rs_reader"
FLASH_KEY = "rs_flash"
SUBMITTING_KEY = "rs_submitting"
FILM_MAX_SIDE = 2048  # enough pixels to zoom into; bounds the work per slider move
DEFAULT_CONFIDENCE = 50
# Per-read state lives under keys ending in the read's token, so a new read starts clean.
_READ_STATE = ("dx", "t0", "edits")
_VIEW_WIDGETS = ("level", "width", "zoom", "pan-x", "pan-y", "invert")

_STYLE = """
<style>
.st-key-rs-film img, .st-key-rs-heatmap img { max-height: calc(100vh - 260px); object-fit: contain; background: #000; }
.st-key-rs-answer button p { font-size: 1.15rem; }
</style>
"""

# A second click on the submit button while the first one is being saved does nothing: the
# button is disabled in the browser for a few seconds (the server is idempotent anyway).
_SUBMIT_GUARD = """<script>
(() => {
  if (window.rdsSubmitGuard) return;
  window.rdsSubmitGuard = true;
  document.addEventListener('click', (event) => {
    const button = event.target.closest('[class*="st-key-rs-submit-"] button');
    if (!button) return;
    setTimeout(() => { button.disabled = true; setTimeout(() => { button.disabled = false; }, 4000); }, 0);
  }, true);
})();
</script>"""


# --- film ----------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False, max_entries=16)
def _film_pixels(path: str, mtime: float) -> np.ndarray:
    return fit_film(load_radiograph(path).pixels, FILM_MAX_SIDE)


@st.cache_data(show_spinner=False, max_entries=256)
def _film_png(path: str, mtime: float, settings: tuple[float, float, float, float, float, bool]) -> bytes:
    view = ViewSettings(*settings)
    return render.to_png(render_view(_film_pixels(path, mtime), view))


def _token(key: AnswerKey) -> str:
    """What makes per-read widget keys unique, even across readers signing in one after another
    in the same browser (also valid in a CSS class name)."""
    return f"{key.reader_id}-{key.case_id}-{key.arm}"


def _reset_view(token: str) -> None:
    for name in _VIEW_WIDGETS:
        st.session_state.pop(f"rs-{name}-{token}", None)


def _film(task: Task, token: str) -> None:
    """The film, large, with window/level and zoom under it; in the heatmap arm the AI heatmap
    stands beside it so the two can be compared at a glance."""
    heatmap = task.hint.heatmap_png if task.hint is not None else None
    if heatmap is None:
        picture = st.container(key="rs-film")
    else:
        film_half, heat_half = st.columns(2)
        picture = film_half.container(key="rs-film")
        with heat_half.container(key="rs-heatmap"):
            st.image(heatmap, width="stretch")
            st.caption(tr("rs.hint_heatmap"))
    level_col, width_col, zoom_col = st.columns(3)
    level = level_col.slider(tr("rs.level"), 0, 100, 50, key=f"rs-level-{token}")
    width = width_col.slider(tr("rs.width"), 2, 100, 100, key=f"rs-width-{token}")
    zoom = zoom_col.slider(tr("rs.zoom"), 1.0, MAX_ZOOM, 1.0, step=0.5, key=f"rs-zoom-{token}")
    centre_x = centre_y = 50
    if zoom > 1.0:
        x_col, y_col = st.columns(2)
        centre_x = x_col.slider(tr("rs.pan_x"), 0, 100, 50, key=f"rs-pan-x-{token}")
        centre_y = y_col.slider(tr("rs.pan_y"), 0, 100, 50, key=f"rs-pan-y-{token}")
    invert_col, reset_col = st.columns(2)
    invert = invert_col.toggle(tr("rs.invert"), key=f"rs-invert-{token}")
    reset_col.button(tr("rs.reset_view"), key=f"rs-reset-{token}", on_click=_reset_view, args=(token,),
                     icon=":material/restart_alt:")
    path = Path(task.case.image_path)
    settings = (level / 100, width / 100, float(zoom), centre_x / 100, centre_y / 100, bool(invert))
    picture.image(_film_png(str(path), path.stat().st_mtime, settings), width="stretch")


# --- answer ----------------------------------------------------------------------------------


def _edited(token: str, field: str, value: object) -> None:
    """Log a change of the answer with the time since the read was first drawn (ms)."""
    started = st.session_state.get(f"rs-t0-{token}", time.time())
    st.session_state.setdefault(f"rs-edits-{token}", []).append(
        {"field": field, "value": value, "ms": round((time.time() - started) * 1000)})


def _choose(token: str, diagnosis: bool) -> None:
    st.session_state[f"rs-dx-{token}"] = diagnosis
    _edited(token, "diagnosis", diagnosis)


def _confidence_moved(token: str) -> None:
    _edited(token, "confidence", st.session_state.get(f"rs-conf-{token}"))


def _submit(key: AnswerKey) -> None:
    """Save the answer (runs before the page is drawn again, so it is committed first)."""
    state = st.session_state
    token = _token(key)
    if state.get(SUBMITTING_KEY) == token:
        return  # a second click on a read that is already saved
    diagnosis = state.get(f"rs-dx-{token}")
    if diagnosis is None:
        state[FLASH_KEY] = ("warning", "rs.choose_first", None)
        return
    started = state.get(f"rs-t0-{token}")
    state[SUBMITTING_KEY] = token
    try:
        submit_answer(
            database(), key, diagnosis=bool(diagnosis),
            confidence=int(state.get(f"rs-conf-{token}", DEFAULT_CONFIDENCE)),
            time_on_case_ms=max(0, round((time.time() - started) * 1000)) if started else None,
            edit_durations=state.get(f"rs-edits-{token}", []),
        )
        state[FLASH_KEY] = ("saved", "rs.saved", None)
    except AnswerConflictError as err:
        state[FLASH_KEY] = ("error", "rs.conflict", err)
    except OutOfOrderError as err:
        state[FLASH_KEY] = ("warning", "rs.out_of_order", err)
        state.pop(SUBMITTING_KEY, None)  # nothing was saved; the page now shows the current read
    except WashoutError:
        state.pop(SUBMITTING_KEY, None)  # nothing was saved; the page now says when session 2 opens
    except StudyError as err:
        state[FLASH_KEY] = ("error", "rs.error", err)
        state.pop(SUBMITTING_KEY, None)  # nothing was saved: let the reader try again
        return
    for name in _READ_STATE:
        state.pop(f"rs-{name}-{token}", None)


def _flash() -> None:
    """The outcome of the last submit, once."""
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash is None:
        return
    kind, message_key, error = flash
    if kind == "saved":
        st.toast(tr(message_key), icon=":material/check_circle:")
    elif kind == "warning":
        st.warning(tr(message_key), icon=":material/info:")
    else:
        show_error(message_key, error)


def _answer_form(key: AnswerKey, token: str) -> None:
    chosen = st.session_state.get(f"rs-dx-{token}")
    with st.container(key="rs-answer", border=True):
        st.markdown(f"**{tr('rs.question')}**")
        yes_col, no_col = st.columns(2)
        yes_col.button(tr("rs.yes"), key=f"rs-yes-{token}", shortcut="Y", width="stretch",
                       type="primary" if chosen is True else "secondary", on_click=_choose, args=(token, True))
        no_col.button(tr("rs.no"), key=f"rs-no-{token}", shortcut="N", width="stretch",
                      type="primary" if chosen is False else "secondary", on_click=_choose, args=(token, False))
        st.slider(tr("rs.confidence"), 0, 100, DEFAULT_CONFIDENCE, key=f"rs-conf-{token}",
                  help=tr("rs.confidence_help"), on_change=_confidence_moved, args=(token,))
        st.button(tr("rs.submit"), key=f"rs-submit-{token}", shortcut="Enter", type="primary", width="stretch",
                  disabled=chosen is None, on_click=_submit, args=(key,), icon=":material/send:")
        if chosen is None:
            st.caption(tr("rs.choose_first"))
    st.caption(tr("rs.keys"))
    st.html(_SUBMIT_GUARD, unsafe_allow_javascript=True)


# --- hint, progress, whole read ------------------------------------------------------------


def _diagnosis_text(diagnosis: bool) -> str:
    return tr("rs.yes") if diagnosis else tr("rs.no")


def _hint(hint: AiHint) -> None:
    """The AI's score and call (its heatmap, when shown, stands beside the film)."""
    with st.container(key="rs-hint", border=True):
        st.markdown(f"#### {tr('rs.hint_title')}")
        st.markdown(tr("rs.hint_score", p=hint.probability, t=hint.threshold))
        label = tr("rs.label_rds") if hint.label == "RDS" else tr("rs.label_non")
        st.markdown(tr("rs.hint_label", label=label))
        folds = hint.fold_probabilities
        if folds:
            st.caption(tr("rs.hint_folds", low=min(folds), high=max(folds), spread=hint.spread))
        st.caption(tr("rs.hint_caution"))


def _progress_bar(progress: Progress) -> None:
    if progress.session_total < progress.total:  # two sessions: crossover
        text = tr("rs.progress_session", session=progress.session, session_done=progress.session_done,
                  session_total=progress.session_total, done=progress.done, total=progress.total)
    else:
        text = tr("rs.progress", done=progress.done, total=progress.total)
    st.progress(progress.fraction, text=text)


def _read(task: Task) -> None:
    """One read: progress, the film with its controls, the hint if any, the answer form."""
    token = _token(task.key)
    try:
        mark_viewed(database(), task.key)  # server-side start of the time on case
    except StudyError as err:  # e.g. answered meanwhile in another tab
        show_error("rs.error", err)
        return
    st.session_state.setdefault(f"rs-t0-{token}", time.time())
    _progress_bar(task.progress)
    film_col, side_col = st.columns([3, 2], gap="large")
    with film_col:
        _film(task, token)
    with side_col:
        arm = tr("rs.arm_none") if task.hint is None else tr("rs.arm_aided")
        st.markdown(f"**{tr('rs.case', ref=f'#{task.key.case_id}')}** · {arm}")
        for earlier in task.earlier_answers:
            st.info(f"**{tr('rs.locked_title')}:** "
                    f"{tr('rs.locked', diagnosis=_diagnosis_text(earlier.diagnosis), confidence=earlier.confidence)}",
                    icon=":material/lock:")
        if task.hint is not None:
            _hint(task.hint)
        _answer_form(task.key, token)


def _done(state: StudyComplete) -> None:
    st.progress(1.0, text=tr("rs.progress", done=state.progress.done, total=state.progress.total))
    st.success(f"**{tr('rs.done_title')}** {tr('rs.done', total=state.progress.total)}", icon=":material/task_alt:")


def _washout(state: WashoutPending) -> None:
    _progress_bar(state.progress)
    st.info(f"**{tr('rs.washout_title')}** {tr('rs.washout', date=f'{state.opens_at:%Y-%m-%d %H:%M}')}",
            icon=":material/schedule:")


# --- sign-in and profile ---------------------------------------------------------------------


def _sign_in() -> None:
    st.markdown(tr("rs.intro"))
    with st.form("rs-sign-in", clear_on_submit=True):
        code = st.text_input(tr("rs.code"), type="password", help=tr("rs.code_help"), key="rs-code")
        sent = st.form_submit_button(tr("rs.enter"), type="primary")
    st.caption(tr("rs.resume"))
    if not sent:
        return
    try:
        identity = authenticate(database(), code)
    except InvalidAccessCodeError:
        show_error("rs.wrong_code")
        return
    st.session_state[READER_KEY] = identity
    st.rerun()


def _sign_out() -> None:
    st.session_state.pop(READER_KEY, None)
    st.session_state.pop(SUBMITTING_KEY, None)


def _profile(reader: ReaderIdentity) -> None:
    st.subheader(tr("rs.profile_title"))
    st.markdown(tr("rs.profile_intro"))
    with st.form("rs-profile"):
        role = st.radio(tr("rs.role"), ROLES, index=None, horizontal=True, key="rs-role",
                        format_func=lambda name: tr(f"role.{name}"))
        years = st.number_input(tr("rs.years"), min_value=0, max_value=70, value=None, step=1, key="rs-years")
        sent = st.form_submit_button(tr("rs.save_profile"), type="primary")
    if not sent:
        return
    if role is None or years is None:
        st.warning(tr("rs.profile_incomplete"))
        return
    set_profile(database(), reader.reader_id, role=role, years_experience=int(years))
    st.rerun()


def _signed_in_reader() -> ReaderIdentity | None:
    """The reader of this session, re-read from the database (None after a database change)."""
    held = st.session_state.get(READER_KEY)
    if held is None:
        return None
    try:
        return get_reader(database(), held.reader_id)
    except UnknownReaderError:
        _sign_out()
        return None


def _page() -> None:
    reader = _signed_in_reader()
    if reader is None:
        _sign_in()
        return
    with st.sidebar:
        st.caption(tr("rs.signed_in", label=reader.label))
        st.button(tr("rs.sign_out"), key="rs-sign-out", on_click=_sign_out, icon=":material/logout:")
    if not reader.profile_complete:
        _profile(reader)
        return
    _flash()
    state = next_task(database(), reader.study_id, reader.reader_id)
    if isinstance(state, StudyComplete):
        _done(state)
    elif isinstance(state, WashoutPending):
        _washout(state)
    else:
        _read(state)


def _guarded(part: Callable[[], None]) -> None:
    """Study and film errors as their sentence; Streamlit's own control flow passes through."""
    try:
        part()
    except StudyError as err:
        show_error("db.error", err)
    except RdsError as err:
        show_error("rs.error", err)


st.html(_STYLE)
st.title(tr("rs.title"))
_guarded(_page)

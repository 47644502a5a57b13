"""Reader page: sign in with an access code, read one film at a time, answer, and see the AI
hint only where the study's design says so.

Thin page: ``study.security`` checks the code, ``study.reader_session`` signs the short-lived
session token that brings a reader whose browser session was lost back to the same read,
``study.protocol`` decides which read comes next and stores the answer with its telemetry,
and the film is shown by the client-side viewer in ``pages/_viewer`` (window/level, zoom,
pan, invert, presets and the heatmap overlay run in the browser). The answer is committed
inside the submit button's callback, which Streamlit runs before it draws the page again,
so the page never moves on before the answer is saved. The page receives only
reader-facing records (``study.records.READER_FACING_TYPES``): no truth ever reaches it,
and no database id either: the reader sees "Case 3 of 33" in their own order, and widget
keys carry a random per-sign-in nonce and the read's sequence number.

Keys: Y / N choose, C confirms the confidence as it stands, Enter submits; the viewer's keys
(1-3 presets, I invert, R reset, H heatmap, P pan) work wherever the focus is. One handler in
the page does this (also for keys pressed inside the viewer's frame); a key pressed while the
page is still running (saving the previous step, drawing the read) waits until the page is
quiet and its control is ready, for the same read only, so no key press is lost and none
lands on the wrong read.

Runs inside the app's ``st.navigation`` or alone (``AppTest.from_file("pages/reader.py")``);
it never calls ``st.set_page_config``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import streamlit as st

from pages._admin_gate import client_address
from pages._messages import show_study_error, tr
from pages._study_db import database
from pages._viewer import PRESETS, film_viewer, media_url
from rds_core import render
from rds_core.errors import RdsError
from rds_core.imaging import load_radiograph
from study import StudyError
from study.window_level import MAX_ZOOM, MIN_WIDTH, ViewSettings, fit_film, render_view
from study.protocol import AnswerConflictError, OutOfOrderError, WashoutError, mark_viewed, next_task, submit_answer
from study.reader_session import InvalidSessionTokenError, issue_token, needs_renewal, verify_token
from study.records import AiHint, AnswerKey, Progress, ReadTelemetry, StudyComplete, Task, WashoutPending
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
NONCE_KEY = "rs_nonce"
FLASH_KEY = "rs_flash"
SUBMITTING_KEY = "rs_submitting"
TOKEN_PARAM = "rs"
FILM_MAX_SIDE = 2048  # enough pixels to zoom into; bounds what travels to the browser
CONFIDENCE_START = 50  # where the slider sits; an answer needs it moved or confirmed
# Per-read state lives under keys ending in the read's token, so a new read starts clean.
_READ_STATE = ("dx", "t0", "edits", "confset", "keep", "viewer-at", "viewer-seen")
_VIEWER_LABELS = ("invert", "pan", "reset", "heatmap", "opacity", "window", "level", "help")

_STYLE = """
<style>
.st-key-rs-answer button p { font-size: 1.15rem; }
</style>
"""

# The page's keys, in the page's own document (st.html runs it there, not in a frame). A key
# whose button is not ready yet (the previous step is still being saved, so the submit button
# is still disabled) is retried for up to two minutes, but only while the same read is on screen.
# A second click on submit while the first is being saved does nothing: the button is disabled
# for a few seconds (the server is idempotent anyway).
_KEYS = r"""<script>
(() => {
  if (window.rdsReaderKey) return;
  const VIEWER = /^([1-9]|i|r|h|p)$/i;
  // Y / N: the diagnosis options; C: the "keep" box; Enter: submit. Each waits (for the same
  // read only) until its control is there and enabled, and is pressed only when it would
  // change something (clicking a chosen option again would clear it).
  const targets = {
    y: () => document.querySelectorAll('[class*="st-key-rs-dx-"] button')[0],
    n: () => document.querySelectorAll('[class*="st-key-rs-dx-"] button')[1],
    c: () => document.querySelector('[class*="st-key-rs-keep-"] input[type=checkbox]'),
    enter: () => document.querySelector('[class*="st-key-rs-submit-"] button'),
  };
  const done = (name, el) => (name === 'c' ? el.checked
    : name === 'enter' ? false : el.getAttribute('aria-checked') === 'true');
  const readOf = (el) => {
    const holder = el && el.closest('[class*="st-key-rs-"]');
    const match = holder && holder.className.match(/st-key-rs-(?:dx|keep|submit)-(\S+)/);
    return match ? match[1] : null;
  };
  // While a script run is under way, the page's widgets may still be replaced by that run; a
  // click then can vanish with the element it hit. Keys therefore wait for a quiet page.
  const busy = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    const state = app ? app.getAttribute('data-test-script-state') : null;
    return state === 'running' || state === 'rerunRequested';
  };
  const press = (key) => {
    const name = key.toLowerCase();
    const find = targets[name];
    if (find) {
      const first = find();
      if (!first) return false;
      const read = readOf(first);
      const deadline = Date.now() + 120000;  // a loaded server can take many seconds per rerun
      let clickedAt = 0;
      const attempt = () => {
        const el = find();
        if (!el || readOf(el) !== read || Date.now() > deadline) return;
        if (done(name, el)) return;
        if (!busy() && !el.disabled && Date.now() - clickedAt > 3000) {
          el.click();
          clickedAt = Date.now();
          // A value (option, box) is re-sent with every later message, so one click is enough;
          // a second click could undo it. Submit is a one-shot click: it is repeated while the
          // read stays on screen (an identical answer is stored once).
          if (name !== 'enter') return;
        }
        setTimeout(attempt, 50);
      };
      attempt();
      return true;
    }
    if (VIEWER.test(key) && targets.enter()) {
      for (const frame of document.querySelectorAll('iframe')) {
        try { if (frame.contentWindow.rdsViewerKey) frame.contentWindow.rdsViewerKey(key); } catch (err) { /* other origin */ }
      }
      return true;
    }
    return false;
  };
  window.rdsReaderKey = press;
  document.addEventListener('keydown', (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.repeat) return;
    const target = event.target;
    if (target && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))) return;
    if (press(event.key)) { event.preventDefault(); event.stopPropagation(); }
  }, true);
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


@st.cache_data(show_spinner=False, max_entries=64)
def _film_png(path: str, mtime: float) -> bytes:
    """The film as an 8-bit grey PNG (full range); the viewer windows it in the browser."""
    return render.to_png(render_view(_film_pixels(path, mtime), ViewSettings()))


def _token(task: Task) -> str:
    """What makes per-read widget keys unique: a random nonce drawn at sign-in and the read's
    place in the reader's list (nothing from the database ids; also valid in a CSS class)."""
    nonce = st.session_state.setdefault(NONCE_KEY, secrets.token_hex(3))
    return f"{nonce}{task.progress.done + 1}"


def _film(task: Task, token: str) -> None:
    """The film in the client-side viewer; in the heatmap arm the AI heatmap lies over it."""
    path = Path(task.case.image_path)
    film = media_url(_film_png(str(path), path.stat().st_mtime), f"rs-film-{token}")
    heatmap = task.hint.heatmap_png if task.hint is not None else None
    labels = {name: tr(f"rs.viewer_{name}") for name in _VIEWER_LABELS}
    labels |= {f"preset.{name}": tr(f"rs.preset_{name}") for name, _level, _width in PRESETS}
    with st.container(key="rs-film"):
        value = film_viewer(film, key=f"rs-viewer-{token}", labels=labels, read=token,
                            heatmap_url=media_url(heatmap, f"rs-heatmap-{token}") if heatmap else None,
                            max_zoom=MAX_ZOOM, min_width=MIN_WIDTH)
    if heatmap is not None:
        st.caption(tr("rs.hint_heatmap"))
    state = st.session_state
    if value is not None and value != state.get(f"rs-viewer-seen-{token}"):
        # When the viewer's last report arrived: heatmap time after it is added at submit.
        state[f"rs-viewer-seen-{token}"] = value
        state[f"rs-viewer-at-{token}"] = time.time()


# --- answer ----------------------------------------------------------------------------------


def _edited(token: str, field: str, value: object) -> None:
    """Log a change of the answer with the time since the read was first drawn (ms)."""
    started = st.session_state.get(f"rs-t0-{token}", time.time())
    st.session_state.setdefault(f"rs-edits-{token}", []).append(
        {"field": field, "value": value, "ms": round((time.time() - started) * 1000)})


def _chosen(token: str) -> None:
    _edited(token, "diagnosis", st.session_state.get(f"rs-dx-{token}"))


def _confidence_moved(token: str) -> None:
    st.session_state[f"rs-confset-{token}"] = True
    _edited(token, "confidence", st.session_state.get(f"rs-conf-{token}"))


def _confidence_kept(token: str) -> None:
    if st.session_state.get(f"rs-keep-{token}"):
        _edited(token, "confidence_confirmed", st.session_state.get(f"rs-conf-{token}", CONFIDENCE_START))


def _confidence_is_set(token: str) -> bool:
    state = st.session_state
    return bool(state.get(f"rs-confset-{token}") or state.get(f"rs-keep-{token}"))


def _telemetry(token: str, heatmap_arm: bool, time_on_case_ms: int | None) -> ReadTelemetry:
    """What the page and the viewer measured on this read (see ``ReadTelemetry``)."""
    state = st.session_state
    edits = state.get(f"rs-edits-{token}", [])
    first = next((edit["ms"] for edit in edits if edit["field"] == "diagnosis"), None)
    seen = state.get(f"rs-viewer-seen-{token}") or {}

    def count(name: str) -> int:
        value = seen.get(name, 0)
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0

    visible: int | None = None
    if heatmap_arm:
        if not seen:  # the overlay starts visible and was never touched
            visible = time_on_case_ms
        else:
            reported = seen.get("heatmap_visible_ms")
            visible = reported if isinstance(reported, int) and reported >= 0 else 0
            if seen.get("heatmap_on"):
                visible += round((time.time() - state.get(f"rs-viewer-at-{token}", time.time())) * 1000)
    view = seen.get("state") if isinstance(seen.get("state"), dict) else {}
    return ReadTelemetry(
        first_answer_ms=first, window_level_changes=count("window_level_changes"),
        zoom_changes=count("zoom_changes"), pan_changes=count("pan_changes"),
        heatmap_toggles=count("heatmap_toggles") if heatmap_arm else None, heatmap_visible_ms=visible,
        confidence_set=_confidence_is_set(token),
        viewer_state={k: v for k, v in view.items() if isinstance(v, (int, float, bool, str))},
    )


def _submit(key: AnswerKey, token: str, heatmap_arm: bool) -> None:
    """Save the answer (runs before the page is drawn again, so it is committed first)."""
    state = st.session_state
    if state.get(SUBMITTING_KEY) == token:
        return  # a second click on a read that is already saved
    diagnosis = state.get(f"rs-dx-{token}")
    if diagnosis is None:
        state[FLASH_KEY] = ("warning", "rs.choose_first", None)
        return
    if not _confidence_is_set(token):
        state[FLASH_KEY] = ("warning", "rs.confidence_first", None)
        return
    started = state.get(f"rs-t0-{token}")
    time_on_case = max(0, round((time.time() - started) * 1000)) if started else None
    state[SUBMITTING_KEY] = token
    try:
        submit_answer(
            database(), key, diagnosis=bool(diagnosis),
            confidence=int(state.get(f"rs-conf-{token}", CONFIDENCE_START)),
            time_on_case_ms=time_on_case,
            edit_durations=state.get(f"rs-edits-{token}", []),
            telemetry=_telemetry(token, heatmap_arm, time_on_case),
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
    elif kind == "info":
        st.info(str(error) if error is not None else tr(message_key), icon=":material/info:")
    else:
        show_study_error(message_key, error)


def _answer_form(task: Task, token: str) -> None:
    """The answer: diagnosis and "keep the confidence" are value widgets, not buttons, because
    a value is sent again with every later message from the browser, while a button's one-shot
    click can be lost when it lands in the middle of another rerun."""
    state = st.session_state
    with st.container(key="rs-answer", border=True):
        chosen = st.segmented_control(
            tr("rs.question"), (True, False), key=f"rs-dx-{token}", width="stretch",
            format_func=lambda value: tr("rs.yes") if value else tr("rs.no"), on_change=_chosen, args=(token,))
        st.slider(tr("rs.confidence"), 0, 100, CONFIDENCE_START, key=f"rs-conf-{token}",
                  help=tr("rs.confidence_help"), on_change=_confidence_moved, args=(token,))
        if state.get(f"rs-confset-{token}"):
            st.caption(tr("rs.confidence_is_set", value=state.get(f"rs-conf-{token}", CONFIDENCE_START)))
        else:
            st.checkbox(tr("rs.confidence_keep"), key=f"rs-keep-{token}", on_change=_confidence_kept, args=(token,))
        confidence_set = _confidence_is_set(token)
        st.button(tr("rs.submit"), key=f"rs-submit-{token}", type="primary", width="stretch",
                  disabled=chosen is None or not confidence_set, on_click=_submit,
                  args=(task.key, token, task.hint is not None and task.hint.heatmap_png is not None),
                  icon=":material/send:")
        if chosen is None:
            st.caption(tr("rs.choose_first"))
        elif not confidence_set:
            st.caption(tr("rs.confidence_first"))
    st.caption(tr("rs.keys"))
    st.html(_KEYS, unsafe_allow_javascript=True)


# --- hint, progress, whole read ------------------------------------------------------------


def _diagnosis_text(diagnosis: bool) -> str:
    return tr("rs.yes") if diagnosis else tr("rs.no")


def _hint(hint: AiHint) -> None:
    """The AI's score and call (its heatmap, when shown, stands beside the film)."""
    with st.container(key="rs-hint", border=True):
        st.markdown(f"#### {tr('rs.hint_title')}")
        st.markdown(tr("rs.hint_score", p=hint.probability, t=hint.threshold))
        label = tr("rs.label_rds") if hint.positive else tr("rs.label_non")
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
    token = _token(task)
    try:
        mark_viewed(database(), task.key)  # server-side start of the time on case
    except StudyError as err:  # e.g. answered meanwhile in another tab
        show_study_error("rs.error", err)
        return
    st.session_state.setdefault(f"rs-t0-{token}", time.time())
    _progress_bar(task.progress)
    film_col, side_col = st.columns([3, 2], gap="large")
    with film_col:
        _film(task, token)
    with side_col:
        arm = tr("rs.arm_none") if task.hint is None else tr("rs.arm_aided")
        st.markdown(f"**{tr('rs.case', number=task.case_number, total=task.case_total)}** · {arm}")
        for earlier in task.earlier_answers:
            st.info(f"**{tr('rs.locked_title')}:** "
                    f"{tr('rs.locked', diagnosis=_diagnosis_text(earlier.diagnosis), confidence=earlier.confidence)}",
                    icon=":material/lock:")
        if task.hint is not None:
            _hint(task.hint)
        _answer_form(task, token)


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
        identity = authenticate(database(), code, client=client_address())  # per-address rate limit
    except InvalidAccessCodeError:
        show_study_error("rs.wrong_code")
        return
    _start_session(identity)
    st.rerun()


def _start_session(identity: ReaderIdentity) -> None:
    """Hold the reader in this session and put a fresh signed token in the URL."""
    st.session_state[READER_KEY] = identity
    st.session_state[NONCE_KEY] = secrets.token_hex(3)
    st.query_params[TOKEN_PARAM] = issue_token(database(), identity.reader_id)


def _sign_out() -> None:
    for name in (READER_KEY, SUBMITTING_KEY, NONCE_KEY):
        st.session_state.pop(name, None)
    st.query_params.pop(TOKEN_PARAM, None)


def _reader_from_url() -> ReaderIdentity | None:
    """A session that lost its reader (reconnect, server restart) takes them back from the
    signed token in the URL while it is valid (see ``study.reader_session``)."""
    token = st.query_params.get(TOKEN_PARAM)
    if not token:
        return None
    try:
        identity = verify_token(database(), token)
    except InvalidSessionTokenError:  # its sentence is English; the page shows the translated one
        st.query_params.pop(TOKEN_PARAM, None)
        st.session_state[FLASH_KEY] = ("info", "rs.session_expired", None)
        return None
    st.session_state[READER_KEY] = identity
    st.session_state.setdefault(NONCE_KEY, secrets.token_hex(3))
    return identity


def _keep_token(reader: ReaderIdentity) -> None:
    """Renew the URL's token while the reader is active (sliding expiry)."""
    token = st.query_params.get(TOKEN_PARAM)
    if not token or needs_renewal(token):
        st.query_params[TOKEN_PARAM] = issue_token(database(), reader.reader_id)


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
    reader = _signed_in_reader() or _reader_from_url()
    if reader is None:
        _flash()
        _sign_in()
        return
    _keep_token(reader)
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
        show_study_error("db.error", err)
    except RdsError as err:
        show_study_error("rs.error", err)


st.html(_STYLE)
st.title(tr("rs.title"))
_guarded(_page)

"""Study admin (team only, behind the admin secret): import case sets, create studies and
readers, watch progress per reader, export the answers.

Thin page: ``study.cases`` imports (hints from ``study.hints``), ``study.admin`` creates and
reports, ``study.records`` carries the results. Access codes of new readers are shown once,
right after they are created; the database keeps only their hashes.

Runs inside the app's ``st.navigation`` or alone (``AppTest.from_file("pages/admin.py")``);
it never calls ``st.set_page_config``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from pages._admin_gate import admin_gate
from pages._plain import escape_markdown
from pages._messages import show_study_error, tr
from pages._study_db import database
from rds_core.errors import RdsError
from rds_core.models.packs import default_weights_dir, list_packs
from study import StudyError
from study.admin import create_readers, create_study, list_studies, reader_progress
from study.answers import export_answers
from study.cases import CaseImportError, ImportReport, import_case_set, list_case_sets
from study.config import DEFAULT_WASHOUT_DAYS, db_path
from study.design import ARMS, DESIGNS
from study.records import StudyInfo
from study.throttle import login_audit

CODES_KEY = "adm_new_codes"
REPORT_KEY = "adm_import_report"
HINT_PACKS_KEY = "adm_import_hint_packs"
CREATED_KEY = "adm_created_study"
SELECT_KEY = "adm-study"
SELECT_NEXT_KEY = "adm_select_next"
MAX_NEW_READERS = 100


def _table(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[tr("adm.col_file"), tr("adm.col_reason")])


# --- studies and readers -------------------------------------------------------------------


def _progress_table(study: StudyInfo) -> None:
    st.markdown(f"#### {tr('adm.progress_title')}")
    progress = reader_progress(database(), study.study_id)
    if not progress:
        st.info(tr("adm.no_readers"))
        return
    frame = pd.DataFrame({
        tr("adm.col_reader"): [p.label for p in progress],
        tr("adm.col_role"): [tr(f"role.{p.role}") if p.role else "" for p in progress],
        tr("adm.col_years"): [p.years_experience for p in progress],
        tr("adm.col_done"): [p.done for p in progress],
        tr("adm.col_total"): [p.total for p in progress],
        tr("adm.col_progress"): [p.done / p.total if p.total else 1.0 for p in progress],
        tr("adm.col_state"): [tr(f"state.{p.state}") for p in progress],
        tr("adm.col_opens"): [f"{p.opens_at:%Y-%m-%d %H:%M}" if p.opens_at else "" for p in progress],
        tr("adm.col_last"): [f"{p.last_activity_at:%Y-%m-%d %H:%M}" if p.last_activity_at else "" for p in progress],
    })
    st.container(key="adm-progress").dataframe(frame, hide_index=True, column_config={
        tr("adm.col_progress"): st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="percent"),
    })


def _new_codes(study: StudyInfo) -> None:
    """The codes created a moment ago for this study, until the admin has copied them."""
    held = st.session_state.get(CODES_KEY)
    if held is None or held[0] != study.study_id:
        return
    with st.container(key="adm-codes", border=True):
        st.markdown(f"**{tr('adm.codes_title')}**")
        st.code("\n".join(f"{label}\t{code}" for label, code in held[1]), language=None)
        st.caption(tr("adm.codes_note"))
        st.button(tr("adm.hide_codes"), key="adm-hide-codes", on_click=st.session_state.pop, args=(CODES_KEY, None))


def _add_readers(study: StudyInfo) -> None:
    with st.form("adm-readers", clear_on_submit=True):
        st.markdown(f"#### {tr('adm.add_readers')}")
        count = st.number_input(tr("adm.n_readers"), min_value=1, max_value=MAX_NEW_READERS, value=1, step=1,
                                key="adm-n-readers")
        labels_text = st.text_area(tr("adm.labels"), key="adm-labels", height=100)
        sent = st.form_submit_button(tr("adm.create_readers"), type="primary")
    if not sent:
        return
    labels = [line.strip() for line in labels_text.splitlines() if line.strip()]
    try:
        created = create_readers(database(), study.study_id, labels or int(count))
    except StudyError as err:
        show_study_error("adm.failed", err)
        return
    st.session_state[CODES_KEY] = (study.study_id, [(reader.label, reader.code) for reader in created])
    st.rerun()


def _export(study: StudyInfo) -> None:
    answers = export_answers(database(), study.study_id)
    if answers.empty:
        st.caption(tr("adm.no_answers"))
        return
    st.download_button(tr("adm.export"), answers.to_csv(index=False).encode("utf-8"),
                       file_name=f"{study.name}_answers.csv", mime="text/csv", key="adm-export",
                       help=tr("adm.export_help"), icon=":material/download:")


def _studies_tab() -> None:
    studies = list_studies(database())
    if not studies:
        st.info(tr("adm.no_studies"))
        return
    by_id = {study.study_id: study for study in studies}
    if st.session_state.get(SELECT_NEXT_KEY) in by_id:  # a study created a moment ago
        st.session_state[SELECT_KEY] = st.session_state.pop(SELECT_NEXT_KEY)
    if st.session_state.get(SELECT_KEY) not in by_id:
        st.session_state[SELECT_KEY] = studies[-1].study_id  # the newest study first
    chosen = st.selectbox(tr("adm.study"), list(by_id), key=SELECT_KEY,
                          format_func=lambda sid: f"{by_id[sid].name} (#{sid})")
    study = by_id[chosen]
    st.caption(tr("adm.study_summary", design=study.design, n_cases=study.n_cases,
                  arms=" → ".join(tr(f"arm.{arm}") for arm in study.arms),
                  flagged=study.flagged_fraction, washout=study.washout_days))
    _new_codes(study)
    _progress_table(study)
    _export(study)
    _add_readers(study)


# --- new study -------------------------------------------------------------------------------


def _new_study_tab() -> None:
    st.markdown(tr("adm.new_study_intro"))
    case_sets = [cs for cs in list_case_sets(database()) if cs.status == "ready"]
    if not case_sets:
        st.info(tr("adm.no_case_sets"))
        return
    by_id = {cs.case_set_id: cs for cs in case_sets}
    with st.form("adm-new-study"):
        name = st.text_input(tr("adm.name"), key="adm-study-name")
        case_set_id = st.selectbox(
            tr("adm.case_set"), list(by_id), key="adm-case-set",
            format_func=lambda cid: tr("adm.case_set_option", name=by_id[cid].name, n_cases=by_id[cid].n_cases,
                                       n_rds=by_id[cid].n_rds, n_hints=by_id[cid].n_hints))
        design = st.radio(tr("adm.design"), DESIGNS, key="adm-design", format_func=lambda d: tr(f"design.{d}"))
        arms = st.multiselect(tr("adm.arms"), ARMS, default=["none", "score_heatmap"], key="adm-arms",
                              format_func=lambda a: tr(f"arm.{a}"), help=tr("adm.arms_help"))
        flagged = st.slider(tr("adm.flagged"), 0.0, 0.5, 0.0, step=0.05, key="adm-flagged", format="%.2f",
                            help=tr("adm.flagged_help"))
        washout = st.number_input(tr("adm.washout"), min_value=0.0, max_value=365.0, value=DEFAULT_WASHOUT_DAYS,
                                  step=1.0, key="adm-washout")
        sent = st.form_submit_button(tr("adm.create_study"), type="primary")
    created = st.session_state.pop(CREATED_KEY, None)
    if created is not None:
        st.success(escape_markdown(tr("adm.study_created", name=created[0], n_cases=created[1])))
    if not sent:
        return
    try:
        study = create_study(database(), name=name, case_set_id=case_set_id, design=design, arms=arms,
                             flagged_fraction=flagged, washout_days=washout)
    except StudyError as err:
        show_study_error("adm.failed", err)
        return
    st.session_state[CREATED_KEY] = (study.name, study.n_cases)
    st.session_state[SELECT_NEXT_KEY] = study.study_id  # the studies tab opens on the new study
    st.rerun()


# --- import ----------------------------------------------------------------------------------


def _run_import(folder: str, csv: str, name: str, with_hints: bool, accept_burned_in: bool,
                hint_pack: str | None = None, hint_seg_pack: str | None = None) -> ImportReport:
    hint_fn = None
    if with_hints:
        from study.hints import make_hint_fn  # loads torch and the packs: only when asked

        weights = default_weights_dir()
        hint_fn = make_hint_fn(weights / hint_pack if hint_pack else None, weights / hint_seg_pack if hint_seg_pack else None)
    folder_path = Path(folder.strip()).expanduser()
    csv_path = Path(csv.strip()).expanduser() if csv.strip() else folder_path / "truth.csv"
    with st.spinner(tr("adm.importing")):
        return import_case_set(database(), folder_path, csv_path, name=name.strip() or None, hint_fn=hint_fn,
                               accept_burned_in=accept_burned_in)


def _import_report(report: ImportReport) -> None:
    # Names and reasons come from the admin's files: shown as plain text, never as Markdown.
    st.success(escape_markdown(tr("adm.imported", name=report.name, n=len(report.imported),
                                  skipped=len(report.skipped))))
    packs = st.session_state.get(HINT_PACKS_KEY)
    if packs:
        st.caption(escape_markdown(tr("adm.hints_from", pack=packs[0] or "-", seg_pack=packs[1] or "-")))
    if report.skipped:
        st.markdown(f"**{tr('adm.skipped_title')}**")
        st.container(key="adm-skipped").dataframe(_table(list(report.skipped)), hide_index=True)
    if report.warnings:
        st.markdown(f"**{tr('adm.warnings_title')}**")
        st.container(key="adm-warnings").dataframe(_table(list(report.warnings)), hide_index=True)


def _import_tab() -> None:
    st.markdown(tr("adm.import_intro"))
    with st.form("adm-import"):
        folder = st.text_input(tr("adm.folder"), key="adm-folder")
        csv = st.text_input(tr("adm.csv"), key="adm-csv")
        name = st.text_input(tr("adm.set_name"), key="adm-set-name")
        with_hints = st.checkbox(tr("adm.with_hints"), value=True, key="adm-hints", help=tr("adm.with_hints_help"))
        # Hints come from the pack chosen here (by default the one chosen in the sidebar), never a fixed one.
        rds_packs = [n for n, m in list_packs("classification") if m.positive_class == "RDS"]
        seg_packs = [n for n, _ in list_packs("segmentation")]
        sidebar_pack = st.session_state.get("pack")
        hint_pack = st.selectbox(tr("adm.hint_pack"), rds_packs, key="adm-hint-pack",
                                 index=rds_packs.index(sidebar_pack) if sidebar_pack in rds_packs else 0) if rds_packs else None
        hint_seg_pack = st.selectbox(tr("adm.hint_seg_pack"), seg_packs, key="adm-hint-seg-pack") if seg_packs else None
        accept_burned_in = st.checkbox(tr("adm.accept_burned_in"), value=False, key="adm-burned-in",
                                       help=tr("adm.accept_burned_in_help"))
        sent = st.form_submit_button(tr("adm.import"), type="primary")
    if sent and folder.strip():
        try:
            st.session_state[REPORT_KEY] = _run_import(folder, csv, name, with_hints, accept_burned_in,
                                                       hint_pack, hint_seg_pack)
            st.session_state[HINT_PACKS_KEY] = (hint_pack, hint_seg_pack) if with_hints else None
            st.rerun()  # the other tabs list the new case set too
        except CaseImportError as err:
            show_study_error("adm.failed", err)
            if err.skipped:
                st.markdown(f"**{tr('adm.skipped_title')}**")
                st.container(key="adm-skipped-failed").dataframe(_table(list(err.skipped)), hide_index=True)
        except (StudyError, RdsError) as err:
            show_study_error("adm.failed", err)
    report = st.session_state.get(REPORT_KEY)
    if report is not None:
        _import_report(report)
    case_sets = list_case_sets(database())
    if case_sets:
        st.markdown(f"#### {tr('adm.case_sets_title')}")
        st.container(key="adm-case-sets").dataframe(pd.DataFrame([vars(cs) for cs in case_sets]), hide_index=True)


# --- page ------------------------------------------------------------------------------------

st.title(tr("adm.title"))
if not admin_gate():
    st.stop()
try:
    database()
except StudyError as err:
    show_study_error("db.error", err)
    st.stop()
st.caption(escape_markdown(tr("adm.db", path=db_path())))
studies_tab, new_study_tab, import_tab = st.tabs([tr("adm.tab_studies"), tr("adm.tab_new_study"), tr("adm.tab_import")])
with studies_tab:
    _studies_tab()
with new_study_tab:
    _new_study_tab()
with import_tab:
    _import_tab()
with st.expander(tr("adm.audit_title")):
    audit = login_audit(database())
    st.container(key="adm-audit").dataframe(
        pd.DataFrame([(a.at, a.client, {True: "ok", False: "wrong", None: "?"}[a.ok]) for a in audit],
                     columns=["at", "client", "result"]), hide_index=True)

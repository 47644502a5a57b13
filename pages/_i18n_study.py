"""Every UI string of the reader-study pages (reader and admin), in Korean and English.

Same rules as :mod:`pages._i18n`: pages never hold literal text, they call :func:`t` with a
key. Sentences that come from ``study`` errors are English; the pages show a Korean
headline from this table above them. No Streamlit import here, so the tables can be
checked in plain tests.
"""

from __future__ import annotations

from pages._strings import lookup

__all__ = ["STRINGS", "t"]

STRINGS: dict[str, dict[str, str]] = {
    # --- reader page: sign-in and profile ------------------------------------------------
    "rs.title": {"en": "Reader study", "ko": "판독 연구"},
    "rs.intro": {
        "en": (
            "You read one chest film at a time and say whether it shows RDS and how sure you are. "
            "In some reads an AI hint is shown - only after your answer without it is saved."
        ),
        "ko": (
            "흉부 X선 사진을 한 장씩 보고 RDS 소견이 있는지, 얼마나 확신하는지 답해 주세요. "
            "일부 판독에서는 AI 힌트가 나오며, AI 없이 낸 답변이 저장된 뒤에만 보입니다."
        ),
    },
    "rs.code": {"en": "Access code", "ko": "접근 코드"},
    "rs.code_help": {
        "en": "The code you received from the study team, e.g. ABCD-EFGH-JKMN-PQRS. Case and dashes do not matter.",
        "ko": "연구팀에게 받은 코드입니다 (예: ABCD-EFGH-JKMN-PQRS). 대소문자와 하이픈은 상관없습니다.",
    },
    "rs.enter": {"en": "Start reading", "ko": "판독 시작"},
    "rs.wrong_code": {
        "en": "This access code is not valid. Check it for typing errors, or ask the study team for a new code.",
        "ko": "유효하지 않은 접근 코드입니다. 오타가 없는지 확인하시거나 연구팀에 새 코드를 요청해 주세요.",
    },
    "rs.resume": {
        "en": "Your answers are saved as you go: sign in again with the same code to continue where you stopped.",
        "ko": "답변은 바로바로 저장됩니다. 같은 코드로 다시 들어오면 멈춘 곳부터 이어서 판독합니다.",
    },
    "rs.session_expired": {
        "en": "Your reading session has expired or its link is not valid: please enter your access code again. Your answers are saved.",
        "ko": "판독 세션이 만료되었거나 링크가 유효하지 않습니다. 접근 코드를 다시 입력해 주세요. 답변은 저장되어 있습니다.",
    },
    "rs.signed_in": {"en": "Reader {label}", "ko": "판독자 {label}"},
    "rs.sign_out": {"en": "Sign out", "ko": "로그아웃"},
    "rs.profile_title": {"en": "About you", "ko": "판독자 정보"},
    "rs.profile_intro": {
        "en": "Before the first case: your role and experience. They are used only to group the results; no names are stored.",
        "ko": "첫 증례 전에 직역과 경력을 알려 주세요. 결과를 묶어 보는 데에만 쓰이며 이름은 저장하지 않습니다.",
    },
    "rs.role": {"en": "Role", "ko": "직역"},
    "role.neonatologist": {"en": "Neonatologist", "ko": "신생아 전문의"},
    "role.radiologist": {"en": "Radiologist", "ko": "영상의학과 전문의"},
    "role.resident": {"en": "Resident", "ko": "전공의"},
    "role.other": {"en": "Other", "ko": "기타"},
    "rs.years": {"en": "Years of experience", "ko": "경력 (년)"},
    "rs.save_profile": {"en": "Save and continue", "ko": "저장하고 계속"},
    "rs.profile_incomplete": {
        "en": "Please choose your role and enter your years of experience.",
        "ko": "직역을 고르고 경력 연수를 입력해 주세요.",
    },
    # --- reader page: a read -----------------------------------------------------------
    "rs.progress": {"en": "{done} of {total} reads done", "ko": "전체 {total}건 중 {done}건 완료"},
    "rs.progress_session": {
        "en": "Session {session}: {session_done} of {session_total} reads done ({done} of {total} in all)",
        "ko": "{session}차 세션: {session_total}건 중 {session_done}건 완료 (전체 {total}건 중 {done}건)",
    },
    "rs.case": {"en": "Case {number} of {total}", "ko": "증례 {total}건 중 {number}번째"},
    "rs.arm_none": {"en": "Read without AI", "ko": "AI 없이 판독"},
    "rs.arm_aided": {"en": "Read with the AI hint", "ko": "AI 힌트와 함께 판독"},
    "rs.viewer_invert": {"en": "Invert (I)", "ko": "흑백 반전 (I)"},
    "rs.viewer_pan": {"en": "Pan (P)", "ko": "이동 (P)"},
    "rs.viewer_reset": {"en": "Reset (R)", "ko": "초기화 (R)"},
    "rs.viewer_heatmap": {"en": "Heatmap (H)", "ko": "히트맵 (H)"},
    "rs.viewer_opacity": {"en": "Opacity", "ko": "불투명도"},
    "rs.viewer_window": {"en": "W", "ko": "W"},
    "rs.viewer_level": {"en": "L", "ko": "L"},
    "rs.viewer_help": {
        "en": "Drag: window (left-right) and level (up-down) · wheel: zoom at the cursor · "
              "right-drag or shift-drag: pan · 1-3: presets",
        "ko": "드래그: 윈도우 (좌우)와 레벨 (상하) · 휠: 커서 위치 확대 · 오른쪽 드래그 또는 Shift+드래그: 이동 · 1-3: 프리셋",
    },
    "rs.preset_full": {"en": "Full range", "ko": "전체 범위"},
    "rs.preset_lung": {"en": "Lungs", "ko": "폐"},
    "rs.preset_mediastinum": {"en": "Mediastinum", "ko": "종격동"},
    "rs.question": {"en": "Does this film show RDS?", "ko": "이 사진에 RDS 소견이 있습니까?"},
    "rs.yes": {"en": "RDS", "ko": "RDS 있음"},
    "rs.no": {"en": "No RDS", "ko": "RDS 없음"},
    "rs.confidence": {"en": "How sure are you?", "ko": "얼마나 확신하십니까?"},
    "rs.confidence_help": {
        "en": "0 = a pure guess, 100 = certain of the answer you chose.",
        "ko": "0 = 순전히 추측, 100 = 고른 답이 확실함.",
    },
    "rs.confidence_keep": {"en": "Keep this value (C)", "ko": "이 값으로 확정 (C)"},
    "rs.confidence_is_set": {"en": "Confidence set: {value}", "ko": "확신도: {value}"},
    "rs.confidence_first": {
        "en": "Set your confidence: move the slider, or tick 'Keep this value' (C).",
        "ko": "확신도를 정해 주세요: 슬라이더를 움직이거나 '이 값으로 확정' (C)에 체크합니다.",
    },
    "rs.submit": {"en": "Submit answer", "ko": "답변 제출"},
    "rs.choose_first": {"en": "Choose RDS or no RDS first.", "ko": "먼저 RDS 있음 또는 없음을 골라 주세요."},
    "rs.keys": {
        "en": "Keyboard: **Y** = RDS · **N** = no RDS · **C** = keep the confidence · **Enter** = submit · "
              "**1-3** presets · **I** invert · **R** reset · **H** heatmap · arrow keys move a selected slider",
        "ko": "키보드: **Y** = RDS 있음 · **N** = RDS 없음 · **C** = 확신도 확정 · **Enter** = 제출 · "
              "**1-3** 프리셋 · **I** 반전 · **R** 초기화 · **H** 히트맵 · 선택한 슬라이더는 화살표 키로 움직입니다",
    },
    "rs.saved": {"en": "Answer saved.", "ko": "답변이 저장되었습니다."},
    "rs.locked_title": {"en": "Your answer without AI (saved, cannot be changed)", "ko": "AI 없이 낸 답변 (저장됨, 변경 불가)"},
    "rs.locked": {"en": "{diagnosis}, confidence {confidence}", "ko": "{diagnosis}, 확신도 {confidence}"},
    # --- reader page: the AI hint --------------------------------------------------------
    "rs.hint_title": {"en": "AI hint", "ko": "AI 힌트"},
    "rs.hint_score": {
        "en": "AI probability of RDS: **{p:.2f}** (threshold {t:.2f})",
        "ko": "AI가 본 RDS 확률: **{p:.2f}** (임계값 {t:.2f})",
    },
    "rs.hint_label": {"en": "AI call: **{label}**", "ko": "AI 판정: **{label}**"},
    "rs.label_rds": {"en": "RDS", "ko": "RDS 있음"},
    "rs.label_non": {"en": "no RDS", "ko": "RDS 없음"},
    "rs.hint_folds": {
        "en": "The five models: {low:.2f} to {high:.2f} (± {spread:.2f})",
        "ko": "다섯 모델: {low:.2f} ~ {high:.2f} (± {spread:.2f})",
    },
    "rs.hint_heatmap": {
        "en": "Heatmap over the film: where the models looked; warm colours pushed the score up; cyan line: the lungs the AI found.",
        "ko": "모델이 주목한 곳: 따뜻한 색일수록 점수를 올렸습니다. 하늘색 선: AI가 찾은 폐.",
    },
    "rs.hint_caution": {
        "en": "The AI can be wrong. Your own judgement decides.",
        "ko": "AI도 틀릴 수 있습니다. 최종 판단은 선생님의 몫입니다.",
    },
    # --- reader page: between and after sessions ------------------------------------------
    "rs.washout_title": {"en": "First session finished", "ko": "1차 세션 완료"},
    "rs.washout": {
        "en": (
            "Thank you. Your second reading session opens on {date} (UTC). The pause keeps your memory of the "
            "first reading from influencing the second. Please come back then with the same code."
        ),
        "ko": (
            "감사합니다. 2차 판독 세션은 {date} (UTC)에 열립니다. 첫 판독의 기억이 두 번째 판독에 영향을 주지 "
            "않도록 쉬는 기간입니다. 그때 같은 코드로 다시 들어와 주세요."
        ),
    },
    "rs.done_title": {"en": "All done - thank you!", "ko": "모두 끝났습니다. 감사합니다!"},
    "rs.done": {
        "en": "You have answered all {total} reads. Your answers are saved; you can close this page.",
        "ko": "{total}건의 판독을 모두 마쳤습니다. 답변은 저장되었으니 이 페이지를 닫으셔도 됩니다.",
    },
    "rs.conflict": {
        "en": "This read was already answered differently (perhaps in another tab). Saved answers cannot be changed; the first answer stands.",
        "ko": "이 판독에는 이미 다른 답변이 저장되어 있습니다 (다른 탭에서 답했을 수 있습니다). 저장된 답변은 바꿀 수 없으며 처음 답변이 유지됩니다.",
    },
    "rs.out_of_order": {
        "en": "That was no longer your current case (perhaps answered in another tab). Here is your current case.",
        "ko": "그 증례는 이미 지나갔습니다 (다른 탭에서 답했을 수 있습니다). 지금 판독할 증례를 보여 드립니다.",
    },
    "rs.error": {"en": "The answer could not be saved.", "ko": "답변을 저장하지 못했습니다."},
    "db.error": {"en": "The study database cannot be opened.", "ko": "연구 데이터베이스를 열 수 없습니다."},
    "details": {"en": "Details", "ko": "자세한 내용 (영어)"},
    # --- admin page ----------------------------------------------------------------------
    "adm.title": {"en": "Study admin", "ko": "연구 관리"},
    "adm.db": {"en": "Database: `{path}`", "ko": "데이터베이스: `{path}`"},
    "adm.tab_studies": {"en": "Studies and readers", "ko": "연구와 판독자"},
    "adm.tab_new_study": {"en": "New study", "ko": "새 연구"},
    "adm.tab_import": {"en": "Import cases", "ko": "증례 가져오기"},
    "adm.no_studies": {
        "en": "No study yet. Import a case set, then create a study from it.",
        "ko": "아직 연구가 없습니다. 증례 세트를 가져온 뒤 연구를 만들어 주세요.",
    },
    "adm.study": {"en": "Study", "ko": "연구"},
    "adm.study_summary": {
        "en": "{design} · arms {arms} · {n_cases} cases · deliberately wrong AI on {flagged:.0%} · washout {washout:g} days",
        "ko": "{design} · 힌트 조건 {arms} · 증례 {n_cases}건 · 의도적 AI 오답 {flagged:.0%} · 휴지기 {washout:g}일",
    },
    "adm.progress_title": {"en": "Progress per reader", "ko": "판독자별 진행 상황"},
    "adm.no_readers": {"en": "No readers in this study yet.", "ko": "이 연구에는 아직 판독자가 없습니다."},
    "adm.col_reader": {"en": "reader", "ko": "판독자"},
    "adm.col_role": {"en": "role", "ko": "직역"},
    "adm.col_years": {"en": "years", "ko": "경력"},
    "adm.col_done": {"en": "done", "ko": "완료"},
    "adm.col_total": {"en": "planned", "ko": "계획"},
    "adm.col_progress": {"en": "progress", "ko": "진행률"},
    "adm.col_state": {"en": "state", "ko": "상태"},
    "adm.col_opens": {"en": "session 2 opens", "ko": "2차 세션 시작"},
    "adm.col_last": {"en": "last answer", "ko": "마지막 답변"},
    "state.not started": {"en": "not started", "ko": "시작 전"},
    "state.in progress": {"en": "in progress", "ko": "진행 중"},
    "state.washout": {"en": "washout", "ko": "휴지기"},
    "state.complete": {"en": "complete", "ko": "완료"},
    "adm.add_readers": {"en": "Add readers", "ko": "판독자 추가"},
    "adm.n_readers": {"en": "How many", "ko": "인원"},
    "adm.labels": {
        "en": "Or pseudonym labels, one per line (never real names: labels appear in exports)",
        "ko": "또는 가명 라벨을 한 줄에 하나씩 (실명 금지: 라벨은 내보내기 파일에 나옵니다)",
    },
    "adm.create_readers": {"en": "Create readers", "ko": "판독자 만들기"},
    "adm.codes_title": {"en": "New access codes - shown only now", "ko": "새 접근 코드 - 지금 한 번만 보입니다"},
    "adm.codes_note": {
        "en": "Copy them now and hand each reader their own code. Codes are stored hashed and cannot be shown again.",
        "ko": "지금 복사해서 판독자마다 각자의 코드를 전달해 주세요. 코드는 해시로만 저장되어 다시 볼 수 없습니다.",
    },
    "adm.hide_codes": {"en": "I have copied the codes", "ko": "코드를 복사했습니다"},
    "adm.export": {"en": "Download answers (CSV)", "ko": "답변 내려받기 (CSV)"},
    "adm.export_help": {
        "en": "One row per read with truth, the reader's call, confidence, rating, the AI output shown and reading times; "
        "columns fit iMRMC, MRMCaov and RJafroc.",
        "ko": "판독 한 건당 한 줄: 정답, 판독자의 판정과 확신도, 점수, 보여 준 AI 결과, 판독 시간. iMRMC, MRMCaov, RJafroc 에 맞는 열입니다.",
    },
    "adm.no_answers": {"en": "No answers yet.", "ko": "아직 답변이 없습니다."},
    "adm.new_study_intro": {
        "en": "A study reads one case set with one design. Its cases, halves and flagged cases are fixed when it is created.",
        "ko": "연구 하나는 증례 세트 하나를 한 가지 설계로 판독합니다. 증례, 절반 나누기, 오답 증례는 만들 때 고정됩니다.",
    },
    "adm.no_case_sets": {"en": "Import a case set first.", "ko": "먼저 증례 세트를 가져와 주세요."},
    "adm.name": {"en": "Study name", "ko": "연구 이름"},
    "adm.case_set": {"en": "Case set", "ko": "증례 세트"},
    "adm.case_set_option": {
        "en": "{name} · {n_cases} cases ({n_rds} RDS) · {n_hints} with AI hints",
        "ko": "{name} · 증례 {n_cases}건 (RDS {n_rds}건) · AI 힌트 {n_hints}건",
    },
    "adm.design": {"en": "Design", "ko": "설계"},
    "design.sequential": {
        "en": "Sequential: unaided read, answer locked, then the aided read of the same case",
        "ko": "순차: AI 없이 판독 → 답변 고정 → 같은 증례를 AI와 함께 판독",
    },
    "design.crossover": {
        "en": "Crossover: two sessions, halves swapped between them, washout in between",
        "ko": "교차: 두 세션, 세션마다 절반씩 조건을 바꿈, 사이에 휴지기",
    },
    "adm.arms": {"en": "Hint arms", "ko": "힌트 조건"},
    "adm.arms_help": {
        "en": "Sequential: 'no AI' comes first, then the aided arms in this order. Crossover: exactly two arms.",
        "ko": "순차: 'AI 없음'이 먼저, 그다음 고른 순서대로 AI 조건. 교차: 정확히 두 조건.",
    },
    "arm.none": {"en": "no AI", "ko": "AI 없음"},
    "arm.score": {"en": "AI score", "ko": "AI 점수"},
    "arm.score_heatmap": {"en": "AI score + heatmap", "ko": "AI 점수 + 히트맵"},
    "adm.flagged": {"en": "Cases with deliberately wrong AI output", "ko": "AI 결과를 일부러 틀리게 보여 줄 증례 비율"},
    "adm.flagged_help": {
        "en": "Measures automation bias. 0 (off) by default; recorded in the database and revealed only in the analysis.",
        "ko": "자동화 편향을 측정합니다. 기본값 0 (끔). 데이터베이스에 기록되며 분석에서만 드러납니다.",
    },
    "adm.washout": {"en": "Washout between sessions (days)", "ko": "세션 사이 휴지기 (일)"},
    "adm.create_study": {"en": "Create study", "ko": "연구 만들기"},
    "adm.study_created": {"en": "Study {name!r} created with {n_cases} cases.", "ko": "연구 {name!r} 를 증례 {n_cases}건으로 만들었습니다."},
    "adm.import_intro": {
        "en": (
            "A folder on this server with DICOM/PNG/JPEG films and a truth CSV with columns `file, truth` "
            "(optional `severity, gestational_age, notes`). DICOM headers are de-identified and every film is "
            "stored under a generated name."
        ),
        "ko": (
            "이 서버에 있는 DICOM/PNG/JPEG 사진 폴더와 `file, truth` 열이 있는 정답 CSV "
            "(선택: `severity, gestational_age, notes`). DICOM 헤더는 비식별화되고 모든 사진은 새 이름으로 저장됩니다."
        ),
    },
    "adm.folder": {"en": "Case folder (path on the server)", "ko": "증례 폴더 (서버 경로)"},
    "adm.csv": {"en": "Truth CSV (path on the server; default: truth.csv in the folder)", "ko": "정답 CSV (서버 경로; 기본값: 폴더 안의 truth.csv)"},
    "adm.set_name": {"en": "Case-set name (default: the folder's name)", "ko": "증례 세트 이름 (기본값: 폴더 이름)"},
    "adm.with_hints": {"en": "Compute AI hints with the installed packs", "ko": "설치된 모델 팩으로 AI 힌트 계산"},
    "adm.hint_pack": {"en": "RDS pack for the AI hints", "ko": "AI 힌트에 쓸 RDS 모델 팩"},
    "adm.hint_seg_pack": {"en": "Lung outline pack for the AI hints", "ko": "AI 힌트에 쓸 폐 윤곽 모델 팩"},
    "adm.hints_from": {"en": "AI hints computed with pack {pack} and lung pack {seg_pack}.",
                       "ko": "AI 힌트는 모델 팩 {pack} 와 폐 윤곽 모델 팩 {seg_pack} 으로 계산했습니다."},
    "adm.with_hints_help": {
        "en": "Needed for aided arms. Takes about a second per film on a CPU.",
        "ko": "AI 조건에 필요합니다. CPU에서 사진 한 장에 1초 정도 걸립니다.",
    },
    "adm.import": {"en": "Import", "ko": "가져오기"},
    # study integrity (issue 14): burned-in text and the admin login audit
    "adm.accept_burned_in": {
        "en": "I checked the pixels of films marked as carrying burned-in text: import them",
        "ko": "화면에 글자가 새겨진 것으로 표시된 사진의 픽셀을 확인했습니다: 가져오기",
    },
    "adm.accept_burned_in_help": {
        "en": ("Off by default: DICOM films whose header says text is burned into the pixels (or, for "
               "secondary capture, does not say) are skipped, because that text may name the patient."),
        "ko": ("기본값 끔: 헤더에 픽셀에 글자가 새겨져 있다고 표시된 (또는 2차 캡처로 표시가 없는) DICOM 사진은 "
               "환자 이름이 있을 수 있으므로 건너뜁니다."),
    },
    "adm.audit_title": {"en": "Admin sign-ins (latest first)", "ko": "관리자 로그인 기록 (최신순)"},
    "adm.importing": {"en": "Importing and computing the AI hints...", "ko": "가져오면서 AI 힌트를 계산하는 중..."},
    "adm.imported": {
        "en": "Case set {name!r}: {n} films imported, {skipped} skipped.",
        "ko": "증례 세트 {name!r}: {n}장 가져옴, {skipped}장 건너뜀.",
    },
    "adm.skipped_title": {"en": "Skipped files", "ko": "건너뛴 파일"},
    "adm.warnings_title": {"en": "Imported, but check these", "ko": "가져왔지만 확인이 필요한 파일"},
    "adm.col_file": {"en": "file", "ko": "파일"},
    "adm.col_reason": {"en": "reason", "ko": "이유"},
    "adm.case_sets_title": {"en": "Case sets", "ko": "증례 세트"},
    "adm.failed": {"en": "That did not work.", "ko": "처리하지 못했습니다."},
    # --- results page (pages/results.py); analysis sentences, tables and charts stay in English
    "res.title": {"en": "Reader study results", "ko": "판독 연구 결과"},
    "res.english_note": {"en": "", "ko": "통계 결과(결론 문장, 표, 그림)는 국제 보고 관례에 따라 영어로 표시됩니다."},
    "res.db_error": {"en": "The study database cannot be read.", "ko": "연구 데이터베이스를 읽을 수 없습니다."},
    "res.source": {"en": "Answers to analyse", "ko": "분석할 답변"},
    "res.source_help": {"en": "Real studies appear here once they have answers. The simulated study is always there.",
                        "ko": "실제 연구는 답변이 생기면 여기에 나타납니다. 모의 연구는 항상 있습니다."},
    "res.simulated": {
        "en": "**SIMULATED STUDY - not real results.** Generated readers read generated cases with and without the "
              "AI; the AI was built to raise the readers' AUC by {difference}. Use it to check that the dashboard "
              "finds that effect.",
        "ko": "**모의 연구 - 실제 결과가 아닙니다.** 생성된 판독자가 생성된 증례를 AI 없이/있이 판독했습니다. "
              "AI는 판독자의 AUC를 {difference}만큼 높이도록 만들어졌습니다. 대시보드가 이 효과를 찾는지 확인하는 데 쓰세요.",
    },
    "res.arms": {"en": "Arms", "ko": "판독 조건"},
    "res.roles": {"en": "Reader roles", "ko": "판독자 역할"},
    "res.showing": {"en": "Showing {readers} readers, {cases} cases, {reads} reads.",
                    "ko": "판독자 {readers}명, 증례 {cases}개, 판독 {reads}건을 표시합니다."},
    "res.chart_missing": {"en": "{name}: {reason}", "ko": "{name}: {reason}"},
    "res.mrmc_title": {"en": "Did the AI help? MRMC analysis of the AUC", "ko": "AI가 도움이 되었나? AUC의 MRMC 분석"},
    "res.two_arms": {"en": "Choose at least two arms to compare them.", "ko": "비교하려면 판독 조건을 두 개 이상 고르세요."},
    "res.arm": {"en": "Arm", "ko": "판독 조건"},
    "res.compared_with": {"en": "Compared with", "ko": "비교 대상"},
    "res.different_arms": {"en": "Choose two different arms.", "ko": "서로 다른 판독 조건 두 개를 고르세요."},
    "res.left_out": {
        "en": "Left out of the MRMC analysis (have not read every case in {arms}): {readers}. "
              "The analysis below uses only the readers who finished.",
        "ko": "MRMC 분석에서 제외됨({arms}의 모든 증례를 판독하지 않음): {readers}. 아래 분석은 판독을 마친 판독자만 사용합니다.",
    },
    "res.both_arms": {"en": "both arms", "ko": "두 판독 조건"},
    "res.all_arms": {"en": "all {n} arms", "ko": "{n}개 판독 조건 모두"},
    "res.no_mrmc": {"en": "No MRMC analysis yet: {reason}", "ko": "아직 MRMC 분석이 없습니다: {reason}"},
    "res.one_reader": {
        "en": "Only one reader has finished: only the fixed-reader (FRRC) analysis is defined; it speaks for this "
              "reader only.",
        "ko": "판독을 마친 판독자가 한 명뿐입니다. 고정 판독자(FRRC) 분석만 정의되며, 이 판독자에게만 해당합니다.",
    },
    "res.conclusion": {"en": "**Conclusion.** {text}", "ko": "**결론.** {text}"},
    "res.binary_missing": {"en": "Sensitivity and specificity: {reason}", "ko": "민감도와 특이도: {reason}"},
    "res.rrrc_note": {
        "en": "RRRC (random readers and cases) is the headline: it speaks for readers and cases beyond this study. "
              "Obuchowski-Rockette with jackknife covariance and Hillis degrees of freedom, validated against "
              "OR-DBM MRMC.",
        "ko": "핵심 결과는 RRRC(판독자와 증례 모두 무작위)입니다: 이 연구 밖의 판독자와 증례에도 해당합니다. "
              "잭나이프 공분산과 Hillis 자유도를 쓴 Obuchowski-Rockette 방법이며, OR-DBM MRMC와 대조해 검증했습니다.",
    },
    "res.variance": {"en": "Variance components", "ko": "분산 성분"},
    "res.plan_title": {"en": "Plan a study: power over readers and cases", "ko": "연구 계획: 판독자·증례 수에 따른 검정력"},
    "res.plan_effect": {"en": "AUC difference to detect", "ko": "검출할 AUC 차이"},
    "res.plan_fallback": {"en": "{reason} Showing the published Van Dyke components instead.",
                          "ko": "{reason} 대신 발표된 Van Dyke 분산 성분을 보여 줍니다."},
    "res.plan_note": {
        "en": "Hillis, Obuchowski & Berbaum (2011), as RJafroc SsPowerGivenJK, from the variance components of "
              "{source}. Command line: python -m study plan PILOT.csv --effect D --readers J --power 0.8",
        "ko": "Hillis, Obuchowski & Berbaum (2011), RJafroc SsPowerGivenJK와 같은 방법, 분산 성분 출처: {source}. "
              "명령줄: python -m study plan PILOT.csv --effect D --readers J --power 0.8",
    },
    "res.tab_readers": {"en": "Readers", "ko": "판독자"},
    "res.tab_switching": {"en": "Switching", "ko": "판단 변경"},
    "res.tab_time": {"en": "Reading time", "ko": "판독 시간"},
    "res.tab_cases": {"en": "Cases", "ko": "증례"},
    "res.tab_export": {"en": "Export", "ko": "내보내기"},
    "res.per_reader": {"en": "**Per reader and arm** (Wilson intervals; AUC with DeLong interval)",
                       "ko": "**판독자·판독 조건별** (Wilson 구간; AUC는 DeLong 구간)"},
    "res.per_role": {"en": "**Per reader role** (mean and range over readers)",
                     "ko": "**판독자 역할별** (판독자 평균과 범위)"},
    "res.mcnemar": {
        "en": "McNemar's test treats reads as independent: descriptive only; the MRMC analysis above is the inference.",
        "ko": "McNemar 검정은 판독을 서로 독립으로 취급하므로 기술 통계일 뿐이며, 추론은 위의 MRMC 분석입니다.",
    },
    "res.bias_cases": {"en": "**Automation-bias cases** (the AI hint was wrong on purpose) against the others",
                       "ko": "**자동화 편향 증례** (AI 힌트가 일부러 틀린 증례)와 나머지 비교"},
    "res.bias_auc": {"en": "**AUC per arm on the cases where the AI was right and where it was wrong**",
                     "ko": "**AI가 맞은 증례와 틀린 증례에서 판독 조건별 AUC**"},
    "res.export_note": {"en": "Exports follow the filters above (arms and reader roles).",
                        "ko": "내보내기는 위의 필터(판독 조건, 판독자 역할)를 따릅니다."},
    "res.no_export": {"en": "No export: {reason}", "ko": "내보낼 수 없습니다: {reason}"},
    "res.export_csv": {"en": "Long-format CSV (iMRMC, MRMCaov, RJafroc)", "ko": "긴 형식 CSV (iMRMC, MRMCaov, RJafroc)"},
    "res.export_imrmc": {"en": "iMRMC input file", "ko": "iMRMC 입력 파일"},
    "res.export_report": {"en": "All charts and tables as one HTML file (opens offline)",
                          "ko": "모든 그림과 표를 HTML 파일 하나로 (오프라인에서 열림)"},
    "res.one_chart": {"en": "One chart", "ko": "그림 하나"},
    "res.chart_html": {"en": "'{name}' as HTML", "ko": "'{name}' HTML로"},
    "res.png_note": {
        "en": "PNG: use the camera button in each chart's toolbar (drawn by your browser, no extra software needed).",
        "ko": "PNG: 각 그림 도구 모음의 카메라 버튼을 쓰세요 (브라우저가 그리므로 다른 프로그램이 필요 없습니다).",
    },
}


def t(key: str, lang: str, **values: object) -> str:
    """The UI string ``key`` of :data:`STRINGS` in ``lang`` (``"ko"`` or ``"en"``), filled in."""
    return lookup(STRINGS, key, lang, **values)

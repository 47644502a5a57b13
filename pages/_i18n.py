"""Every UI string of the demo and ensemble pages, in Korean and English.

Pages never hold literal text: they call :func:`t` with a key. Messages that come from
``rds_core`` (error sentences, pipeline warnings) are English; :data:`ERROR_KINDS_KO` and
:data:`CORE_WARNINGS_KO` give Korean versions of the ones a visitor is likely to meet.
No Streamlit import here, so the tables can be checked in plain tests.
"""

from __future__ import annotations

from pages._strings import lookup

from rds_core import errors

__all__ = ["LANGUAGES", "LANGUAGE_NAMES", "STRINGS", "ERROR_KINDS_KO", "CORE_WARNINGS_KO", "t", "error_text", "warning_text"]

LANGUAGES: tuple[str, ...] = ("ko", "en")
LANGUAGE_NAMES: dict[str, str] = {"ko": "한국어", "en": "English"}

STRINGS: dict[str, dict[str, str]] = {
    # --- frame: title, navigation, sidebar --------------------------------------------
    "app.title": {"en": "Neonatal RDS X-ray demo", "ko": "신생아 호흡곤란증후군(RDS) 흉부 X선 데모"},
    "nav.demo": {"en": "Try a film", "ko": "사진으로 체험하기"},
    "nav.ensemble": {"en": "Five models", "ko": "다섯 모델 비교"},
    "nav.reader": {"en": "Reader study", "ko": "판독 연구"},
    "nav.results": {"en": "Study results", "ko": "연구 결과"},
    "nav.admin": {"en": "Study admin", "ko": "연구 관리"},
    "sidebar.language": {"en": "Language", "ko": "언어"},
    "sidebar.pack": {"en": "Model pack", "ko": "모델 팩"},
    "sidebar.pack_help": {
        "en": "Classification packs installed in {path}.",
        "ko": "{path} 에 설치된 분류 모델 팩입니다.",
    },
    "about.title": {"en": "About this model", "ko": "이 모델에 대하여"},
    "about.version": {"en": "Pack **{name}**, version {version}", "ko": "모델 팩 **{name}**, 버전 {version}"},
    "about.training_data": {"en": "Trained on", "ko": "학습 데이터"},
    "about.notice": {"en": "Notice from the pack", "ko": "모델 팩의 안내문"},
    "about.threshold": {
        "en": "Decision threshold {threshold:.2f}. {rule}",
        "ko": "판정 임계값 {threshold:.2f}. {rule}",
    },
    "about.seg_pack": {
        "en": "Lungs outlined by pack **{name}**, version {version} (trained on: {training_data}).",
        "ko": "폐 윤곽: 모델 팩 **{name}**, 버전 {version} (학습 데이터: {training_data}).",
    },
    "about.card": {
        "en": "The full model card is in `weights/README.md`; the pack's original texts are in English.",
        "ko": "전체 모델 카드는 `weights/README.md` 에 있으며, 모델 팩의 원문은 영어입니다.",
    },
    "notice.short": {
        "en": "Research demo - not for clinical use.",
        "ko": "연구용 데모 - 임상 진료에 사용할 수 없습니다.",
    },
    "notice.long": {
        "en": (
            "The score comes from demo models trained on simulated RDS patterns painted onto public X-rays of "
            "older children. It has not been validated on real RDS and is not a diagnosis."
        ),
        "ko": (
            "점수는 공개된 소아 흉부 X선 사진에 모의(시뮬레이션) RDS 소견을 그려 넣어 학습한 데모 모델에서 나옵니다. "
            "실제 RDS 환자로 검증되지 않았으며 진단이 아닙니다."
        ),
    },
    "notice.long_pack": {
        "en": "The score comes from the research models of the pack '{name}'. The pack says: {notice} It is not a diagnosis.",
        "ko": "점수는 모델 팩 '{name}' 의 연구용 모델에서 나옵니다. 모델 팩의 안내: {notice} 진단이 아닙니다.",
    },
    "sidebar.seg_pack": {"en": "Lung outline pack", "ko": "폐 윤곽 모델 팩"},
    "result.score_help_pack": {
        "en": "How strongly the five models of this pack see their positive class, from 0 to 1.",
        "ko": "이 모델 팩의 다섯 모델이 양성 소견을 얼마나 강하게 보는지를 0에서 1 사이로 나타냅니다.",
    },
    "no_packs": {
        "en": "No model pack is installed in {path} yet. Train one with `python -m rds_core.train` or copy a pack there.",
        "ko": "{path} 에 아직 모델 팩이 없습니다. `python -m rds_core.train` 으로 학습하거나 모델 팩을 복사해 주세요.",
    },
    "loading_models": {"en": "Loading the models (only the first time)...", "ko": "모델을 불러오는 중입니다 (처음 한 번만)..."},
    "analysing": {"en": "Analysing the film...", "ko": "사진을 분석하는 중입니다..."},
    # --- demo page: gallery and upload -----------------------------------------------
    "demo.title": {"en": "Try the RDS demo", "ko": "RDS 데모 체험"},
    "demo.intro": {
        "en": (
            "Pick a film or upload a chest X-ray. The demo outlines the lungs, gives a demo model score "
            "and shows where the models looked."
        ),
        "ko": "예시 사진을 고르거나 흉부 X선 사진을 올려 보세요. 데모가 폐의 윤곽을 그리고, 데모 모델 점수와 모델이 주목한 곳을 보여 줍니다.",
    },
    "gallery.title": {"en": "Sample films", "ko": "예시 사진"},
    "gallery.pick": {"en": "Analyse", "ko": "분석하기"},
    "gallery.empty": {
        "en": "No sample films were found in {path}.",
        "ko": "{path} 에서 예시 사진을 찾지 못했습니다.",
    },
    "caption.normal": {"en": "Child, normal", "ko": "소아, 정상"},
    "caption.pneumonia": {"en": "Child, pneumonia", "ko": "소아, 폐렴"},
    "caption.simulated": {"en": "Simulated RDS, grade {grade}", "ko": "모의 RDS, {grade}등급"},
    "caption.simulated_one_lung": {"en": "Simulated RDS, one lung only", "ko": "모의 RDS, 한쪽 폐만"},
    "caption.dicom": {"en": "Adult film, DICOM", "ko": "성인 사진, DICOM"},
    "upload.label": {
        "en": "Or upload a chest X-ray (PNG, JPEG or DICOM, up to {mb} MB)",
        "ko": "또는 흉부 X선 사진을 올려 주세요 (PNG, JPEG, DICOM, 최대 {mb} MB)",
    },
    "upload.memory_only": {
        "en": "Your file is processed in memory only: it is not saved and is forgotten when you leave.",
        "ko": "올린 파일은 메모리에서만 처리되며 저장되지 않고, 떠나면 바로 지워집니다.",
    },
    # --- demo page: result -------------------------------------------------------------
    "result.back": {"en": "← Back to the sample films", "ko": "← 예시 사진으로 돌아가기"},
    "result.film": {"en": "Film: {name}", "ko": "사진: {name}"},
    "result.upload_name": {"en": "your upload", "ko": "올린 사진"},
    "result.score_title": {"en": "Demo model score", "ko": "데모 모델 점수"},
    "result.score_help": {
        "en": "How strongly the five demo models see the (simulated) RDS pattern, from 0 to 1.",
        "ko": "다섯 개의 데모 모델이 (모의) RDS 소견을 얼마나 강하게 보는지를 0에서 1 사이로 나타냅니다.",
    },
    "result.spread": {
        "en": "The five models: ± {spread:.2f} (from {low:.2f} to {high:.2f})",
        "ko": "다섯 모델: ± {spread:.2f} ({low:.2f} ~ {high:.2f})",
    },
    "result.above": {
        "en": "At or above the demo threshold {threshold:.2f} - demo label: {label}",
        "ko": "데모 임계값 {threshold:.2f} 이상 - 데모 분류: {label}",
    },
    "result.below": {
        "en": "Below the demo threshold {threshold:.2f} - demo label: {label}",
        "ko": "데모 임계값 {threshold:.2f} 미만 - 데모 분류: {label}",
    },
    "result.not_diagnosis": {
        "en": "A demo model score, not a diagnosis.",
        "ko": "데모 모델의 점수일 뿐 진단이 아닙니다.",
    },
    "result.no_lungs": {
        "en": "No plausible lungs were found - is this a chest X-ray? The score means little.",
        "ko": "폐로 보이는 부분을 찾지 못했습니다 - 흉부 X선 사진이 맞나요? 이 점수는 의미가 거의 없습니다.",
    },
    "result.show_heatmap": {"en": "Show heatmap", "ko": "히트맵 보기"},
    "result.show_contour": {"en": "Show lung outline", "ko": "폐 윤곽선 보기"},
    "result.opacity": {"en": "Heatmap strength", "ko": "히트맵 진하기"},
    "result.image_caption": {
        "en": "Cyan line: the lungs found by the segmentation model. Colours: where the models looked.",
        "ko": "하늘색 선: 분할 모델이 찾은 폐. 색: 모델이 주목한 곳.",
    },
    "result.legend_low": {"en": "little influence", "ko": "영향 적음"},
    "result.legend_high": {"en": "strong influence", "ko": "영향 큼"},
    "result.warnings": {"en": "Please note", "ko": "참고하세요"},
    "timings.title": {"en": "Time taken", "ko": "걸린 시간"},
    "stage.load": {"en": "reading the file", "ko": "파일 읽기"},
    "stage.segmentation": {"en": "lungs", "ko": "폐 찾기"},
    "stage.classification": {"en": "score", "ko": "점수"},
    "stage.explanation": {"en": "heatmap", "ko": "히트맵"},
    "stage.total": {"en": "total", "ko": "합계"},
    "timings.device": {"en": "on {device}", "ko": "{device} 에서"},
    # --- what the heatmap means ----------------------------------------------------------
    "heatmap.title": {"en": "What does the heatmap mean?", "ko": "히트맵은 무엇을 뜻하나요?"},
    "heatmap.means_title": {"en": "It shows", "ko": "보여 주는 것"},
    "heatmap.means": {
        "en": (
            "- the parts of the film that pushed the demo models' score up the most (warm colours);\n"
            "- the average over five models, each map scaled from its own weakest to its strongest spot;\n"
            "- a coarse picture: the models look at a small, blurred version of the lungs."
        ),
        "ko": (
            "- 데모 모델의 점수를 가장 많이 올린 부분 (따뜻한 색);\n"
            "- 다섯 모델의 평균이며, 각 지도는 가장 약한 곳부터 가장 강한 곳까지로 맞춰져 있습니다;\n"
            "- 대략적인 그림입니다: 모델은 작고 흐릿하게 줄인 폐 사진을 봅니다."
        ),
    },
    "heatmap.not_means_title": {"en": "It does not show", "ko": "보여 주지 않는 것"},
    "heatmap.not_means": {
        "en": (
            "- where a disease is, or how severe it is;\n"
            "- that the score is right: a model can look at the right place for the wrong reason;\n"
            "- a strong finding: every film gets a warm spot, even when the score is low."
        ),
        "ko": (
            "- 병이 있는 위치나 그 심한 정도;\n"
            "- 점수가 맞다는 것: 모델은 엉뚱한 이유로 올바른 곳을 볼 수도 있습니다;\n"
            "- 뚜렷한 이상 소견: 점수가 낮아도 모든 사진에 따뜻한 색이 나타납니다."
        ),
    },
    # --- errors ----------------------------------------------------------------------------
    "error.title": {"en": "This film could not be analysed.", "ko": "이 사진은 분석할 수 없습니다."},
    "error.unexpected": {
        "en": "Something went wrong while analysing this film. Please try another film.",
        "ko": "사진을 분석하는 중에 문제가 생겼습니다. 다른 사진으로 해 보세요.",
    },
    "error.too_large": {
        "en": "This file is larger than {mb} MB; please choose a smaller file.",
        "ko": "이 파일은 {mb} MB 보다 큽니다. 더 작은 파일을 골라 주세요.",
    },
    "error.details": {"en": "Details", "ko": "자세한 내용 (영어)"},
    # --- ensemble page -------------------------------------------------------------------
    "ens.title": {"en": "Five models, one score", "ko": "다섯 모델, 하나의 점수"},
    "ens.intro": {
        "en": (
            "The demo score is the mean of five models, each trained on a different part of the data "
            "(cross-validation folds). Here you see each model on its own."
        ),
        "ko": "데모 점수는 데이터의 서로 다른 부분(교차 검증 폴드)으로 학습한 다섯 모델의 평균입니다. 여기서는 각 모델을 따로 볼 수 있습니다.",
    },
    "ens.pick_first": {
        "en": "No film is selected yet. Pick one here (or on the demo page):",
        "ko": "아직 고른 사진이 없습니다. 여기서 (또는 데모 페이지에서) 골라 주세요:",
    },
    "ens.chart_title": {"en": "Score of each model", "ko": "모델별 점수"},
    "ens.axis_fold": {"en": "model (fold)", "ko": "모델 (폴드)"},
    "ens.axis_score": {"en": "demo model score", "ko": "데모 모델 점수"},
    "ens.mean": {"en": "mean {p:.2f}", "ko": "평균 {p:.2f}"},
    "ens.threshold": {"en": "threshold {t:.2f}", "ko": "임계값 {t:.2f}"},
    "ens.fold": {"en": "Fold {k}", "ko": "폴드 {k}"},
    "ens.fold_caption": {
        "en": "score {p:.2f} · {inside:.0%} of its heat inside the lungs",
        "ko": "점수 {p:.2f} · 열의 {inside:.0%} 가 폐 안쪽",
    },
    "ens.maps_title": {"en": "Where each model looked", "ko": "모델별로 주목한 곳"},
    "ens.scale": {"en": "Colour scale", "ko": "색 눈금"},
    "ens.scale_shared": {
        "en": "One shared scale (a weak model looks weak)",
        "ko": "공통 눈금 (약한 모델은 약하게 보임)",
    },
    "ens.scale_own": {"en": "Each model on its own scale", "ko": "모델마다 자체 눈금"},
    "ens.combined_title": {"en": "The five maps combined", "ko": "다섯 지도를 합친 결과"},
    "ens.fused": {"en": "Fused map (mean of five)", "ko": "합친 지도 (다섯의 평균)"},
    "ens.fused_help": {
        "en": "The map shown on the demo page: the mean of the five maps.",
        "ko": "데모 페이지에 나오는 지도: 다섯 지도의 평균.",
    },
    "ens.agreement": {"en": "Agreement", "ko": "일치도"},
    "ens.agreement_help": {
        "en": "Share of models whose map is strong (above {level:.0%} of its peak) at each spot: red = all five.",
        "ko": "각 위치에서 지도가 강한 (최고값의 {level:.0%} 이상) 모델의 비율: 빨간색 = 다섯 모두.",
    },
    "ens.spread_map": {"en": "Disagreement", "ko": "불일치"},
    "ens.spread_help": {
        "en": "How much the five maps differ at each spot (standard deviation); warm = they differ.",
        "ko": "각 위치에서 다섯 지도가 얼마나 다른지 (표준편차); 따뜻한 색 = 서로 다름.",
    },
    "ens.inlung_title": {"en": "How much of each map lies inside the lungs", "ko": "각 지도에서 폐 안쪽에 있는 비율"},
    "ens.inlung_help": {
        "en": "A model that looks mostly outside the lungs (labels, tubes, edges) deserves less trust.",
        "ko": "대부분 폐 바깥(글자, 튜브, 가장자리)을 보는 모델은 덜 믿어야 합니다.",
    },
    "ens.col_model": {"en": "model", "ko": "모델"},
    "ens.col_score": {"en": "score", "ko": "점수"},
    "ens.col_inside": {"en": "heat inside the lungs", "ko": "폐 안쪽 열 비율"},
    "ens.fused_row": {"en": "fused", "ko": "합친 지도"},
    "ens.agree": {
        "en": "The five models agree: scores within ± {spread:.2f}, all on the same side of the threshold.",
        "ko": "다섯 모델의 의견이 일치합니다: 점수 차이 ± {spread:.2f} 이내, 모두 임계값의 같은 쪽.",
    },
    "ens.disagree_title": {"en": "The models disagree on this film", "ko": "이 사진에서는 모델들의 의견이 다릅니다"},
    "ens.reason_spread": {
        "en": "their scores spread by ± {spread:.2f} (more than {limit:.2f});",
        "ko": "점수가 ± {spread:.2f} 만큼 흩어져 있습니다 ({limit:.2f} 초과);",
    },
    "ens.reason_sides": {
        "en": "{above} of {n} models are at or above the threshold and {below} below it;",
        "ko": "{n} 개 중 {above} 개 모델은 임계값 이상, {below} 개는 미만입니다;",
    },
    "ens.why": {
        "en": (
            "Each model learnt from a different part of the training data. They tend to disagree when a film is "
            "unlike most training films (another age, view, exposure, tubes and lines) or lies near the boundary "
            "between the classes. Read the score with extra caution."
        ),
        "ko": (
            "각 모델은 학습 데이터의 서로 다른 부분으로 배웠습니다. 사진이 대부분의 학습 사진과 다르거나 (나이, 촬영 방향, 노출, "
            "튜브와 선), 두 분류의 경계 근처에 있으면 의견이 갈리기 쉽습니다. 점수를 더욱 조심해서 보세요."
        ),
    },
}

# Korean sentences for the core's error types (the English sentence from the core is shown below them).
ERROR_KINDS_KO: dict[type[errors.RdsError], str] = {
    errors.EmptyFileError: "파일이 비어 있습니다. 파일을 다시 골라 주세요.",
    errors.CorruptFileError: "파일이 손상되었거나 잘려 있습니다.",
    errors.UnsupportedFormatError: "지원하지 않는 파일 형식입니다. PNG, JPEG 또는 DICOM 파일을 올려 주세요.",
    errors.ColourImageError: "컬러 사진입니다. 흑백 흉부 X선 사진을 올려 주세요.",
    errors.MultiFrameError: "여러 장의 영상(CT, MR 등)입니다. 한 장의 흉부 X선 사진을 올려 주세요.",
    errors.ImageTooSmallError: "사진이 너무 작습니다.",
    errors.ImageTooLargeError: "사진의 화소 수가 너무 많습니다.",
    errors.NoPixelDataError: "이 DICOM 파일에는 영상이 없습니다.",
    errors.MissingCodecError: "이 DICOM 압축 방식을 풀 수 있는 프로그램이 설치되어 있지 않습니다.",
    errors.NotARadiographError: "흉부 X선 사진으로 보이지 않습니다.",
    errors.WeightPackError: "모델 팩을 불러올 수 없습니다.",
}

# Korean versions of every coded warning of rds_core (rds_core.warnings_catalog), by code.
CORE_WARNINGS_KO: dict[str, str] = {
    "no_lungs": "폐로 보이는 부분을 찾지 못했습니다 - 흉부 X선 사진이 맞나요?",
    "one_lung": "폐가 한쪽만 보입니다. 사진이 잘렸거나 한쪽 폐가 하얗게 보일 수 있습니다.",
    "whole_film": "폐를 찾지 못해 사진 전체로 점수를 냈습니다. 이 점수는 의미가 거의 없습니다.",
    "turned": "사진이 {degrees}도 돌아간 채 저장된 것으로 보여, 바로 세워서 판독했습니다.",
    "rgb_grey": "흑백 사진이 컬러(RGB) 형식으로 저장되어 있어 흑백으로 바꾸었습니다.",
    "exif_turned": "사진의 EXIF 방향 정보에 따라 바로 세웠습니다.",
    "transparency": "사진의 투명한 부분은 무시했습니다.",
    "few_bits": "16비트 사진이 {bits}비트만 쓰고 있어 그 범위로 맞추었습니다.",
    "blank_raster": "사진이 한 가지 회색뿐입니다. 올바른 파일을 내보냈는지 확인해 주세요.",
    "no_photometric": "파일에 밝기 해석 방식이 없어 MONOCHROME2 로 가정했습니다.",
    "secondary_capture": "원본 X선이 아니라 사진을 스캔하거나 화면을 캡처한 파일입니다. 결과의 신뢰도가 낮을 수 있습니다.",
    "no_modality": "파일에 영상 종류(modality)가 없습니다. 흉부 X선 사진이 맞는지 확인해 주세요.",
    "empty_modality_lut": "파일의 modality LUT 가 비어 있어 무시했습니다.",
    "bad_window": "파일에 저장된 창(window) 값이 잘못되어 무시했습니다.",
    "window_blank": "파일에 저장된 창(window) 값으로는 한 가지 회색만 보여, 그 값을 무시하고 전체 범위를 보여 줍니다.",
    "blank_dicom": "모든 화소의 값이 같습니다. 올바른 파일을 내보냈는지 확인해 주세요.",
}


def t(key: str, lang: str, **values: object) -> str:
    """The UI string ``key`` of :data:`STRINGS` in ``lang`` (``"ko"`` or ``"en"``), filled in."""
    return lookup(STRINGS, key, lang, **values)


def error_text(error: errors.RdsError, lang: str) -> tuple[str, str | None]:
    """What to tell a visitor about ``error``: a headline and the core's own sentence.

    Args:
        error: an error raised by ``rds_core`` (its message is English).
        lang: the UI language.

    Returns:
        ``(message, details)``: in English the core's sentence and no details; in Korean a
        Korean sentence for the error type and the English sentence as details.
    """
    if lang != "ko":
        return str(error), None
    for kind in type(error).__mro__:
        if kind in ERROR_KINDS_KO:
            return ERROR_KINDS_KO[kind], str(error)
    return t("error.title", lang), str(error)


def warning_text(warning: str, lang: str) -> str:
    """A pipeline warning in the UI language (English when no translation is known).

    Args:
        warning: one entry of ``Analysis.warnings`` (a :class:`rds_core.warnings_catalog.CodedWarning`
            carries the code its translation is keyed by; a plain string stays as it is).
        lang: the UI language.
    """
    code = getattr(warning, "code", None)
    if lang != "ko" or code not in CORE_WARNINGS_KO:
        return str(warning)
    return CORE_WARNINGS_KO[code].format(**warning.fields)
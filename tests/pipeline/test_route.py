from docextract.settings import RoutingSettings
from models.schemas import FieldStatus
from worker.pipeline.reasons import Reason
from worker.pipeline.route import FieldEvidence, route

THRESHOLDS = RoutingSettings()


def evidence(**overrides):
    base = dict(found=True, ocr_score=0.999, min_char_score=0.998, label_match=0.95, reasons=())
    return FieldEvidence(**{**base, **overrides})


def test_confident_clean_field_is_accepted():
    routing = route(evidence(), THRESHOLDS)
    assert routing.status == "accepted"
    assert routing.reasons == []
    assert routing.confidence >= THRESHOLDS.min_accept_confidence


def test_missing_row_is_reviewed_as_not_found():
    routing = route(evidence(found=False), THRESHOLDS)
    assert (routing.status, routing.confidence, routing.reasons) == ("review", 0.0, ["not_found"])


def test_weak_digit_is_reviewed():
    routing = route(evidence(min_char_score=0.5), THRESHOLDS)
    assert routing.status == "review"
    assert routing.reasons == ["low_ocr_confidence"]


def test_validation_and_seal_reasons_block_acceptance_and_lower_confidence():
    clean = route(evidence(), THRESHOLDS)
    flagged = route(evidence(reasons=("sum_mismatch", "seal_overlap")), THRESHOLDS)
    assert flagged.status == "review"
    assert flagged.reasons == ["sum_mismatch", "seal_overlap"]
    assert flagged.confidence < clean.confidence / 2


def test_poor_label_match_is_reviewed():
    routing = route(evidence(label_match=0.3), THRESHOLDS)
    assert routing.status == "review"
    assert routing.reasons == ["low_label_match"]


def test_a_sum_that_adds_up_settles_a_seal_or_a_weak_read_and_keeps_the_reasons():
    doubted = evidence(ocr_score=0.8, min_char_score=0.7, reasons=("seal_overlap",))
    assert route(doubted, THRESHOLDS).status == "review"
    settled = route(
        evidence(ocr_score=0.8, min_char_score=0.7, reasons=("seal_overlap",), in_sum_that_holds=True), THRESHOLDS
    )
    assert settled.status == "accepted"
    assert settled.reasons == ["seal_overlap", "low_ocr_confidence"]
    assert settled.confidence == 0.978  # 1 - (1 - 0.8 × 0.975 for the label) / 10


def test_a_sum_does_not_settle_garbage_or_what_it_cannot_see():
    garbage = evidence(ocr_score=0.3, min_char_score=0.2, in_sum_that_holds=True)
    assert route(garbage, THRESHOLDS).status == "review"
    for reason in ("unreadable_value", "low_label_match", "sum_mismatch", "exceeds_parent"):
        routing = route(evidence(reasons=(reason,), in_sum_that_holds=True), THRESHOLDS)
        assert routing.status == "review", reason


def test_digits_read_alone_go_to_a_person_unless_a_sum_holds():
    isolated = evidence(reasons=("digits_isolated",))
    assert route(isolated, THRESHOLDS).status == "review"
    settled = route(evidence(reasons=("digits_isolated",), in_sum_that_holds=True), THRESHOLDS)
    assert (settled.status, settled.reasons) == ("accepted", ["digits_isolated"])


def test_a_field_reviewed_for_weak_evidence_as_a_whole_says_which_part_is_weaker():
    # Each part passes its own threshold; together they are under the acceptance confidence.
    label = route(evidence(label_match=0.7), THRESHOLDS)
    assert (label.status, label.reasons) == ("review", ["low_label_match"])
    read = route(evidence(ocr_score=0.94, min_char_score=0.81, label_match=0.9), THRESHOLDS)
    assert (read.status, read.reasons) == ("review", ["low_ocr_confidence"])


def test_a_second_read_alike_settles_a_seal_over_a_number_or_its_digits_read_alone_and_nothing_else():
    sealed = route(evidence(reasons=(Reason.SEAL_OVERLAP,), read_again_alike=True), THRESHOLDS)
    assert (sealed.status, sealed.reasons) == (FieldStatus.accepted, [Reason.SEAL_OVERLAP])
    assert route(evidence(reasons=(Reason.SEAL_OVERLAP,)), THRESHOLDS).status == FieldStatus.review
    isolated = route(evidence(reasons=(Reason.SEAL_OVERLAP, Reason.DIGITS_ISOLATED), read_again_alike=True), THRESHOLDS)
    assert (isolated.status, isolated.reasons) == (FieldStatus.accepted, [Reason.SEAL_OVERLAP, Reason.DIGITS_ISOLATED])
    assert route(evidence(reasons=(Reason.DIGITS_ISOLATED,)), THRESHOLDS).status == FieldStatus.review
    for other in (Reason.WIDTH_MISMATCH, Reason.OCR_CONFUSION, Reason.SIGN_UNSURE, Reason.UNIT_MISMATCH):
        doubted = evidence(reasons=(Reason.DIGITS_ISOLATED, other), read_again_alike=True)
        assert route(doubted, THRESHOLDS).status == FieldStatus.review, other
    weak = evidence(reasons=(Reason.SEAL_OVERLAP,), ocr_score=0.6, read_again_alike=True)
    assert route(weak, THRESHOLDS).reasons == [Reason.SEAL_OVERLAP, Reason.LOW_OCR_CONFIDENCE]

"""One reading of the data.go.kr envelopes and result codes for every adapter behind the portal."""

from __future__ import annotations

import pytest

from eco2.adapters.datagokr import RESULT_CODES, Outcome, PortalPermanentError, PortalRetryableError, check_code, parse
from eco2.errors import PermanentError


@pytest.mark.parametrize("code", ["3", "03", "0003"])
def test_no_data_is_an_empty_page_however_the_code_is_padded(code: str) -> None:
    assert parse("svc", f'{{"resultCode": "{code}", "resultMsg": "NODATA_ERROR"}}').items == ()
    assert parse("svc", f"<response><header><resultCode>{code}</resultCode></header></response>").items == ()
    envelope = f'{{"response": {{"header": {{"resultCode": "{code}"}}}}}}'
    assert parse("svc", envelope).total_count == 0


@pytest.mark.parametrize("code", sorted(set(RESULT_CODES) - {"00", "03"}))
def test_each_error_code_raises_its_one_outcome_with_the_code(code: str) -> None:
    expected = PortalRetryableError if RESULT_CODES[code][1] is Outcome.RETRYABLE else PortalPermanentError
    with pytest.raises(expected) as caught:
        check_code("svc", f"00{code}")
    assert caught.value.code == code
    assert RESULT_CODES[code][0] in str(caught.value)


def test_a_longer_code_is_not_cut_down_to_a_known_one() -> None:
    with pytest.raises(PortalPermanentError, match="undocumented"):
        check_code("svc", "100")  # not "00"
    with pytest.raises(PortalPermanentError, match="undocumented"):
        check_code("svc", "9" * 5000)  # no int() of a hostile length


def test_the_quota_and_key_codes_are_permanent_and_provider_trouble_is_retryable() -> None:
    assert {RESULT_CODES[c][1] for c in ("20", "21", "22", "30", "31", "32")} == {Outcome.PERMANENT}
    assert {RESULT_CODES[c][1] for c in ("01", "02", "04", "05", "99")} == {Outcome.RETRYABLE}


@pytest.mark.parametrize(
    "body",
    [
        '{"response": {"header": {"resultMsg": "NORMAL SERVICE"}, "body": {"items": ""}}}',  # no result code
        '{"response": {"header": {"resultCode": "00"}}}',  # success without a body
        '{"resultCode": "00", "resultMsg": "NORMAL SERVICE"}',
        "<OpenAPI_ServiceResponse><cmmMsgHeader><errMsg>?</errMsg></cmmMsgHeader></OpenAPI_ServiceResponse>",
        "not json",
    ],
)
def test_malformed_responses_are_permanent_errors(body: str) -> None:
    with pytest.raises(PermanentError, match="malformed"):
        parse("svc", body)

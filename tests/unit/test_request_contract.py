"""The public job contract: what ``eco2.chat.process`` accepts and the codes of what it refuses."""

from __future__ import annotations

import pytest

from eco2.domain.request import GeoPoint, parse_request
from eco2.errors import ContractError

VALID = {"job_id": "job-1.a:b_c", "message": "  페트병 어떻게 버려?  "}


def test_minimal_job_is_accepted_and_message_is_stripped() -> None:
    request = parse_request((), VALID)
    assert request.job_id == "job-1.a:b_c"
    assert request.message == "페트병 어떻게 버려?"


def test_all_optional_fields_round_trip() -> None:
    kwargs = {
        **VALID,
        "session_id": "s-1",
        "user_id": "u-1",
        "user_location": {"latitude": 37.5665, "longitude": 126.978},
        "image_url": "https://example.com/a.jpg",
        "metadata": {"app": "ios"},
    }
    request = parse_request((), kwargs)
    assert request.user_location == GeoPoint(37.5665, 126.978)
    again = parse_request((), request.to_kwargs())
    assert again == request


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"message": "hi"}, "missing_job_id"),
        ({"job_id": "", "message": "hi"}, "invalid_job_id"),
        ({"job_id": "a" * 129, "message": "hi"}, "invalid_job_id"),
        ({"job_id": "has space", "message": "hi"}, "invalid_job_id"),
        ({"job_id": 42, "message": "hi"}, "invalid_job_id"),
        ({"job_id": "j", "message": 42}, "invalid_message"),
        ({"job_id": "j"}, "invalid_message"),
        ({"job_id": "j", "message": "   "}, "empty_message"),
        ({"job_id": "j", "message": "가" * 4001}, "message_too_long"),
        ({"job_id": "j", "message": "hi", "colour": "red"}, "unknown_field"),
        (
            {"job_id": "j", "message": "hi", "user_location": {"latitude": 91, "longitude": 0}},
            "invalid_location",
        ),
        (
            {"job_id": "j", "message": "hi", "user_location": {"latitude": "37", "longitude": 127}},
            "invalid_location",
        ),
        ({"job_id": "j", "message": "hi", "user_location": {"lat": 37, "lon": 127}}, "invalid_location"),
        (
            {"job_id": "j", "message": "hi", "user_location": {"latitude": True, "longitude": 127}},
            "invalid_location",
        ),
        ({"job_id": "j", "message": "hi", "image_url": "file:///etc/passwd"}, "invalid_image_url"),
        ({"job_id": "j", "message": "hi", "metadata": {"a": 1}}, "invalid_metadata"),
        ({"job_id": "j", "message": "hi", "metadata": {str(i): "v" for i in range(21)}}, "invalid_metadata"),
        ({"job_id": "j", "message": "hi", "session_id": ""}, "invalid_session_id"),
        ({"job_id": "j", "message": "hi", "user_id": 7}, "invalid_user_id"),
        # Lone surrogates (JSON's "\ud800" escapes carry them) fail every Redis key and write they reach.
        ({"job_id": "j", "message": "hi", "session_id": "s\ud800"}, "invalid_session_id"),
        ({"job_id": "j", "message": "hi", "user_id": "\udfff"}, "invalid_user_id"),
        ({"job_id": "j", "message": "페트병\ud83d"}, "invalid_message"),
        ({"job_id": "j", "message": "hi", "metadata": {"k": "v\ud800"}}, "invalid_metadata"),
        ({"job_id": "j", "message": "hi", "metadata": {"\ud800": "v"}}, "invalid_metadata"),
        ({"job_id": "j", "message": "hi", "image_url": "https://e.com/\ud800.png"}, "invalid_image_url"),
        ({"job_id": "j", "message": "hi", "\ud800": 1}, "unknown_field"),
        ({"job_id": "j", "message": "hi", "session_seq": 1}, "invalid_session_seq"),  # numbers a session's
        ({"job_id": "j", "message": "hi", "session_id": "s", "session_seq": 0}, "invalid_session_seq"),
        ({"job_id": "j", "message": "hi", "session_id": "s", "session_seq": "2"}, "invalid_session_seq"),
        ({"job_id": "j", "message": "hi", "session_id": "s", "session_seq": True}, "invalid_session_seq"),
        ({"job_id": "j", "message": "hi", "session_id": "s", "session_seq": 2.0}, "invalid_session_seq"),
        ({"job_id": "j", "message": "hi", "session_id": "s", "session_seq": 2**53 + 1}, "invalid_session_seq"),
    ],
)
def test_bad_jobs_are_refused_with_a_stable_code(kwargs: dict[str, object], code: str) -> None:
    with pytest.raises(ContractError) as info:
        parse_request((), kwargs)
    assert info.value.code == code


def test_positional_arguments_are_refused() -> None:
    with pytest.raises(ContractError) as info:
        parse_request(("job", "message"), {})
    assert info.value.code == "positional_args"


def test_exactly_4000_characters_is_allowed() -> None:
    assert len(parse_request((), {"job_id": "j", "message": "가" * 4000}).message) == 4000


def test_the_error_of_an_unknown_field_is_itself_storable_text() -> None:
    with pytest.raises(ContractError) as caught:
        parse_request((), {"job_id": "j", "message": "hi", "\ud800bad": 1})
    caught.value.message.encode("utf-8")  # it goes into an error event or the rejected stream as it is


def test_a_session_seq_is_kept_and_survives_requeueing() -> None:
    request = parse_request((), {"job_id": "j", "message": "hi", "session_id": "s", "session_seq": 2**53})
    assert request.session_seq == 2**53
    assert parse_request((), request.to_kwargs()) == request

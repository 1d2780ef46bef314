"""One table from service errors to HTTP, used by the pages and the API alike."""

from __future__ import annotations

import pytest
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404
from django.utils import translation
from django.utils.translation import gettext_lazy

from jikimi.api.errors import exception_handler
from jikimi.core.errors import (
    AccessDenied,
    InvalidInput,
    NotFound,
    ReadOnlyAccess,
    ServiceErrorMiddleware,
    as_page_exception,
)

CASES = [
    (NotFound("P-7KQ2-M9XD"), Http404, 404),
    (AccessDenied("not for analysts"), PermissionDenied, 403),
    (ReadOnlyAccess("shared: read only"), PermissionDenied, 403),
    (InvalidInput({"birth_year": "must be a year such as 1988"}), BadRequest, 400),
]


@pytest.mark.nodb
@pytest.mark.parametrize(("error", "page", "status"), CASES)
def test_pages_and_api_answer_each_error_alike(error, page, status):
    assert isinstance(as_page_exception(error), page)
    assert exception_handler(error, {}).status_code == status


@pytest.mark.nodb
def test_the_middleware_hands_service_errors_to_djangos_pages():
    middleware = ServiceErrorMiddleware(lambda request: None)
    with pytest.raises(Http404):
        middleware.process_exception(None, NotFound("x"))
    assert middleware.process_exception(None, ValueError("not ours")) is None


@pytest.mark.nodb
def test_a_404_never_names_what_was_asked_for():
    response = exception_handler(NotFound("P-7KQ2-M9XD"), {})
    assert "P-7KQ2" not in str(response.data)


@pytest.mark.nodb
def test_field_errors_are_translated_in_the_api():
    error = InvalidInput({"body": gettext_lazy("The request body must be a JSON object.")})
    with translation.override("ko"):
        assert exception_handler(error, {}).data == {"body": ["요청 본문은 JSON 객체여야 합니다."]}
    with translation.override("en"):
        assert exception_handler(error, {}).data == {
            "body": ["The request body must be a JSON object."]
        }


@pytest.mark.django_db
def test_a_page_answers_another_organisations_person_with_the_404_page(client, login, staff):
    from jikimi.people import services

    person = services.create_person(staff["caseworker"], name="이지현")
    login(client, staff["outsider"])
    response = client.get(f"/people/{person.code}/")
    assert response.status_code == 404
    assert response.templates[0].name == "404.html"

"""Business search over HTTP: name contains the words (any case, LIKE wildcards taken
literally), category and city exact in any case, and a pager that says "more" instead of counting."""

from __future__ import annotations

import re

import pytest

from reviewsite.unit_of_work import unit_of_work
from tests.factories import BusinessFactory


@pytest.fixture
def listings(app, db_connection):
    with app.app_context(), unit_of_work():
        for i in range(25):
            BusinessFactory(name=f"Silver Spoon {i:02d}", city="Testville", category="Restaurant")
        BusinessFactory(name="Golden Spoon", city="Otherton", category="Cafe")
        BusinessFactory(name="100% Pure Juice", city="Testville", category="Cafe")
        BusinessFactory(name="Under_score Bar", city="Testville", category="Bar")
        BusinessFactory(name="Back\\slash Books", city="Testville", category="Shop")
        BusinessFactory(name="Plain Shop 1000 Pures", city="Testville", category="Shop")


def names(html: str) -> list[str]:
    return re.findall(r'<h3 class="card-title"><a href="[^"]+"><bdi>([^<]+)</bdi></a></h3>', html)


def search(client, query: str, status: int = 200) -> str:
    response = client.get("/businesses?" + query)
    assert response.status_code == status, query
    return response.get_data(as_text=True)


def test_a_long_result_list_says_more_and_links_the_next_page(client, listings):
    first = search(client, "q=spoon&city=Testville")
    assert names(first) == [f"Silver Spoon {i:02d}" for i in range(20)]
    assert "More than 20 businesses found." in first
    assert "Showing 1&ndash;20." in first
    nav = re.search(r'<nav class="pager" aria-label="Pages">(.*?)</nav>', first, re.S).group(1)
    assert 'rel="prev"' not in nav
    next_link = re.search(r'<a href="([^"]+)" rel="next">Next page', nav).group(1).replace("&amp;", "&")

    second = search(client, next_link.split("?", 1)[1])
    assert names(second) == [f"Silver Spoon {i:02d}" for i in range(20, 25)]
    assert "25 businesses found." in second and "Showing 21&ndash;25." in second
    assert 'rel="prev"' in second and 'rel="next"' not in second
    search(client, "q=spoon&city=Testville&page=3", status=404)
    search(client, "q=spoon&city=Testville&page=0", status=404)
    search(client, "q=spoon&city=Testville&page=99999999999", status=404)


def test_a_short_result_list_gives_its_exact_count_and_no_pager(client, listings):
    html = search(client, "q=GOLDEN+spoon")
    assert names(html) == ["Golden Spoon"]
    assert "1 business found." in html
    assert 'class="pager"' not in html


def test_exactly_one_page_has_no_next_link(client, listings):
    html = search(client, "q=silver+spoon+0&city=testville")
    assert len(names(html)) == 10 and "10 businesses found." in html
    assert 'rel="next"' not in html


def test_no_match_says_so(client, listings):
    html = search(client, "q=nothing+like+this")
    assert names(html) == []
    assert "No business matches your search." in html


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("%", ["100% Pure Juice"]),
        ("0%", ["100% Pure Juice"]),
        ("_", ["Under_score Bar"]),
        ("d_r", []),  # "_" is not "any character": as one, it would match "Under"
        ("\\", ["Back\\slash Books"]),
        ("k\\s", ["Back\\slash Books"]),
        ("100%pure", []),  # as a wildcard, "%" would match "100% Pure"
    ],
)
def test_wildcards_in_the_words_are_taken_literally(client, listings, q, expected):
    from urllib.parse import urlencode

    assert names(search(client, urlencode({"q": q}))) == expected


def test_city_and_category_match_exactly_in_any_case(client, listings):
    assert names(search(client, "q=spoon&city=OTHERTON")) == ["Golden Spoon"]
    assert names(search(client, "q=spoon&city=Other")) == []
    assert names(search(client, "city=testville&category=Bar")) == ["Under_score Bar"]
    assert names(search(client, "q=pure&category=Shop")) == ["Plain Shop 1000 Pures"]


def test_the_form_keeps_the_query_and_marks_bad_fields(client, listings):
    html = search(client, "q=%22spoon%22&category=Cafe&city=Testville")
    assert 'value="&#34;spoon&#34;"' in html
    assert '<option selected value="Cafe">Cafe</option>' in html
    bad = search(client, "q=" + "x" * 81 + "&category=Nope", status=400)
    assert 'aria-describedby="q-error" aria-invalid="true"' in bad
    assert 'aria-describedby="category-error" aria-invalid="true"' in bad
    assert '<ul class="field-errors" id="category-error">' in bad

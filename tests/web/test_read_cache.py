"""ETag, 304 and public cache headers on anonymous reads, and never a stale answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from test_admin import PASSWORD, client, login, setup_admin
from test_feeds import may_day

from actors import alerts, events, organizations
from web.settings import SettingsError, load

AS2 = {"Accept": "application/activity+json"}
HTML = {"Accept": "text/html"}


async def fetch(url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(url, headers=headers or {})


async def revalidate(url: str, headers: dict[str, str]) -> tuple[httpx.Response, httpx.Response]:
    """A first fetch, then one with If-None-Match: the 200 and the answer to the revalidation."""
    first = await fetch(url, headers)
    assert first.status_code == 200, first.text
    again = await fetch(url, {**headers, "If-None-Match": first.headers["etag"]})
    return first, again


def assert_public(response: httpx.Response) -> None:
    assert response.headers["cache-control"] == "public, max-age=10"
    vary = {v.strip().lower() for v in response.headers["vary"].split(",")}
    assert "accept" in vary
    if "content-language" in response.headers:  # a page in the visitor's language
        assert {"accept-language", "cookie"} <= vary
    else:  # AS2, WebFinger: the same in every language (tests/web/test_i18n.py)
        assert "accept-language" not in vary


async def test_a_page_and_an_object_answer_304_to_their_etag(start_node):
    a = await start_node("alpha")
    event = await events.publish(a.federation, may_day(), category="action")
    for url, headers in (
        (event.uri, HTML),
        (event.uri, AS2),
        (a.url("/actors/alpha"), AS2),
        (a.url("/.well-known/webfinger?resource=acct:alpha@" + a.url("").split("//")[1]), {}),
        (a.url("/"), HTML),
        (a.url("/actions"), HTML),
        (a.url("/alerts"), HTML),
    ):
        first, again = await revalidate(url, headers)
        assert_public(first)
        assert again.status_code == 304, url
        assert again.content == b""
        assert again.headers["etag"] == first.headers["etag"]
        assert_public(again)
        assert ("content-language" in first.headers) == (headers is HTML), url
        # A tag weakened by a compressing proxy still matches.
        weak = await fetch(url, {**headers, "If-None-Match": "W/" + first.headers["etag"]})
        assert weak.status_code == 304
        other = await fetch(url, {**headers, "If-None-Match": '"something-else"'})
        assert other.status_code == 200 and other.content == first.content
    page, document = await fetch(event.uri, HTML), await fetch(event.uri, AS2)
    assert page.headers["etag"] != document.headers["etag"]


async def test_an_action_object_has_last_modified(start_node):
    a = await start_node("alpha")
    event = await events.publish(a.federation, may_day(), category="action")
    document = await fetch(event.uri, AS2)
    last_modified = document.headers["last-modified"]
    assert (await fetch(event.uri, {**AS2, "If-Modified-Since": last_modified})).status_code == 304
    earlier = format_datetime(datetime.now(UTC) - timedelta(days=1), usegmt=True)
    assert (await fetch(event.uri, {**AS2, "If-Modified-Since": earlier})).status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.1.3).
    both = {**AS2, "If-Modified-Since": last_modified, "If-None-Match": '"other"'}
    assert (await fetch(event.uri, both)).status_code == 200


async def test_edit_cancel_and_delete_change_the_etag_at_once(start_node):
    a = await start_node("alpha")
    event = await events.publish(a.federation, may_day(), category="action")
    tags = {kind: (await fetch(event.uri, headers)).headers["etag"] for kind, headers in
            (("page", HTML), ("object", AS2))}  # fmt: skip

    async def changed(check: str) -> None:
        for kind, headers in (("page", HTML), ("object", AS2)):
            response = await fetch(event.uri, {**headers, "If-None-Match": tags[kind]})
            assert response.status_code == 200, (kind, check)
            assert check in response.text, (kind, check)
            tags[kind] = response.headers["etag"]

    await events.edit(a.federation, event.uri, may_day(title="May Day march, new route"))
    await changed("new route")
    await events.cancel(a.federation, event.uri)
    await changed("ancel")  # "Cancelled" on the page, "cancelled" in the object's status
    await events.delete(a.federation, event.uri)
    for kind, headers in (("page", HTML), ("object", AS2)):
        gone = await fetch(event.uri, {**headers, "If-None-Match": tags[kind]})
        assert gone.status_code == 410, kind
        assert "etag" not in gone.headers
        assert "public" not in gone.headers.get("cache-control", "")


async def test_an_organization_profile_change_shows_in_its_actor(start_node):
    a = await start_node("alpha")
    first = await fetch(a.url("/actors/alpha"), AS2)
    await organizations.update_profile(
        a.federation, "alpha", display_name="Alpha Dockers", summary="On strike",
        manually_approves_followers=False,
    )  # fmt: skip
    after = await fetch(a.url("/actors/alpha"), {**AS2, "If-None-Match": first.headers["etag"]})
    assert after.status_code == 200
    assert after.json()["name"] == "Alpha Dockers"
    assert after.headers["etag"] != first.headers["etag"]


async def test_an_alert_raised_and_resolved_changes_the_pages(start_node):
    a = await start_node("alpha")
    event = await events.publish(a.federation, may_day(), category="action")
    urls = [event.uri, a.url("/"), a.url("/alerts")]
    tags = {url: (await fetch(url, HTML)).headers["etag"] for url in urls}
    alert = await alerts.raise_alert(
        a.federation,
        alerts.AlertInput(title="Port workers locked out", text="Come to gate 3.", country="PT"),
    )
    for url in urls:
        response = await fetch(url, {**HTML, "If-None-Match": tags[url]})
        assert response.status_code == 200, url
        assert "Port workers locked out" in response.text, url
        tags[url] = response.headers["etag"]
    await alerts.resolve_alert(a.federation, alert.uri)
    for url in urls:
        response = await fetch(url, {**HTML, "If-None-Match": tags[url]})
        assert response.status_code == 200, url


async def test_each_language_has_its_own_etag(start_node):
    a = await start_node("alpha")
    event = await events.publish(a.federation, may_day(), category="action")
    english = await fetch(event.uri, {**HTML, "Accept-Language": "en"})
    german = await fetch(event.uri, {**HTML, "Accept-Language": "de"})
    assert english.headers["content-language"] == "en"
    assert german.headers["content-language"] == "de"
    assert english.headers["etag"] != german.headers["etag"]
    assert_public(german)
    stale = await fetch(event.uri, {**HTML, "Accept-Language": "de", "If-None-Match":
                                    english.headers["etag"]})  # fmt: skip
    assert stale.status_code == 200 and stale.headers["content-language"] == "de"


async def test_an_admins_pages_are_never_public(start_node):
    node = await start_node("alpha")
    event = await events.publish(node.federation, may_day(), category="action")
    await setup_admin(node)
    async with client(node) as http:
        assert (await login(http, "admin", PASSWORD)).status_code == 303
        for path in ("/", event.uri.split(node.base_url, 1)[1], "/actions", "/admin"):
            page = await http.get(path)
            assert page.status_code == 200, path
            assert page.headers["cache-control"] == "no-store", path
            assert "etag" not in page.headers, path
        anonymous = await fetch(node.url("/"), HTML)
        assert "/admin/logout" not in anonymous.text
        assert_public(anonymous)


async def test_personal_links_and_forms_are_never_cacheable(start_node):
    a = await start_node("alpha")
    for path in (
        "/sign", "/sign/manage/some-token", "/sign/confirm/some-token",
        "/sign/unsubscribe/some-token", "/submit", "/submit/status/some-token", "/contact",
        "/assemblies/1/leave/some-token", "/admin/login", "/admin/setup/some-token",
    ):  # fmt: skip
        response = await fetch(a.url(path), HTML)
        assert response.headers["cache-control"] == "no-store", path
        assert "etag" not in response.headers, path
    # The public list of signatures is not a personal page.
    assert_public(await fetch(a.url("/signatures"), HTML))


def test_the_cache_lifetime_setting_is_checked():
    assert load({"IWSN_LOCAL_DEV": "1"}).read_cache_seconds == 10
    assert load({"IWSN_LOCAL_DEV": "1", "IWSN_READ_CACHE_SECONDS": "0"}).read_cache_seconds == 0
    for wrong in ("-1", "3601", "ten", "1.5"):
        with pytest.raises(SettingsError) as error:
            load({"IWSN_LOCAL_DEV": "1", "IWSN_READ_CACHE_SECONDS": wrong})
        assert "IWSN_READ_CACHE_SECONDS must be a whole number" in str(error.value)

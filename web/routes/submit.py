"""Submit your plans: anyone sends an action to one of the node's organizations, without an
account; moderators decide (web/routes/admin_submissions.py). The submitter follows it at a
private link sent by e-mail: its state, a correction while it waits, or withdrawing it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from actors import countries, events, solidarity_days, submissions
from actors.errors import NotFound, ValidationError
from actors.mail import addresses
from actors.models import Event
from web import flood_gate, i18n, messages
from web.auth import check_csrf
from web.event_form import TEXT_FIELDS, parse, values_from
from web.form_guard import HONEYPOT, STARTED, FormGuard
from web.forms import read_form, refuse_unread
from web.labels import kind_label
from web.routes import common
from web.throttle import client_address

SUBMITTER_FIELDS = ("name", "email", "organization")
PLAN_FIELDS = tuple(name for name in TEXT_FIELDS if name not in ("agenda", "sections", "capacity"))


TOO_MANY = flood_gate.SUBMIT_TOO_MANY


def guard(request: Request) -> FormGuard:
    return request.app.state.submit_guard


async def choices(request: Request, values: dict[str, str]) -> dict[str, Any]:
    """What the form's lists offer, in the page's language."""
    node = common.node(request)
    lang = i18n.language(request)
    organizations = await common.organizations(node)
    async with node.db.read() as session:
        days = await solidarity_days.coming(session)
    return {
        "organizations": organizations,
        "kinds": [(kind, kind_label(kind, lang)) for kind in events.KINDS],
        "countries": common.with_current(countries.choices(lang), values.get("country", "")),
        "timezones": common.with_current(common.timezone_options(lang), values["timezone"]),
        "languages": common.with_current(common.language_options(lang), values["language"]),
        "days": [(d.uri, f"{d.day.isoformat()} — {d.theme} (#{d.hashtag})") for d in days],
    }


async def _form_page(
    request: Request,
    values: dict[str, str],
    problems: dict[str, str] | None = None,
    *,
    status: int = 200,
    template: str = "submit.html",
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    started: str | None = None,
) -> Response:
    """The form; `started`: the posted form's own start, kept when it was good, so that a
    person correcting a field is not taken for a program by the minimum fill time."""
    problems = dict(problems or {})
    form_problem = problems.pop("form", None)
    node = common.node(request)
    context = {
        "values": values,
        "problems": problems,
        "form_problem": form_problem,
        "started": started or guard(request).token(),
        "honeypot": HONEYPOT,
        "started_field": STARTED,
        "mail_on": node.settings.smtp is not None,
        "email_limit": addresses.MAX_LENGTH,
        **await choices(request, values),
        **(extra or {}),
    }
    response = request.app.state.templates.render(request, template, context, status=status)
    response.headers.update(headers or {})
    return response


def _read(form: Any) -> dict[str, str]:
    values = {name: common.form_text(form, name) for name in (*PLAN_FIELDS, *SUBMITTER_FIELDS)}
    values["credit"] = "1" if form.get("credit") else ""
    for name in ("agenda", "sections", "capacity"):
        values[name] = ""
    return values


def _plan(values: dict[str, str]) -> tuple[events.EventInput, Any]:
    return parse(values, "action", "markdown")


async def submit_form(request: Request) -> Response:
    if request.method == "GET":
        values = dict.fromkeys((*PLAN_FIELDS, *SUBMITTER_FIELDS, "credit"), "")
        values["kind"] = "demonstration"
        return await _form_page(request, values)
    await check_csrf(request)
    node = common.node(request)
    lang = i18n.language(request)
    if (wait := await _address_limited(request)) is not None:
        # Checked before any other work, and answered with a short page; remembered, so that
        # this process refuses the address's next posts before any work at all (FloodGate).
        return flood_gate.refusal(request, "submit", wait)
    form = await read_form(request)
    values = _read(form)
    data, unread = _plan(values)
    submitter = submissions.Submitter(
        name=values["name"],
        email=values["email"],
        organization=values["organization"],
        credit=bool(values["credit"]),
        language=lang,
    )
    problems: dict[str, str] = {}
    try:
        refuse_unread(unread, lambda: submissions.check(data, submitter), ignore=_ignored(unread))
        submissions.check(data, submitter)
    except ValidationError as exc:
        problems = messages.beside_fields(exc, lang)
    refused = guard(request).problem(form)
    if refused is not None:
        problems = {"form": messages.word(refused, {}, lang), **problems}
    if problems:
        kept = str(form.get(STARTED, "")) if refused is None else None
        return await _form_page(request, values, problems, status=400, started=kept)
    wait = await _throttled(request, values["email"])
    if wait is not None:
        problem = {"form": i18n.translate(TOO_MANY, lang)}
        return await _form_page(
            request, values, problem, status=429, headers={"Retry-After": str(wait)}
        )
    try:
        await submissions.submit(
            node.db,
            node.mail,
            data,
            submitter,
            org=values["org"] or None,
            base_url=node.settings.base_url,
        )
    except ValidationError as exc:
        return await _form_page(request, values, messages.beside_fields(exc, lang), status=400)
    return RedirectResponse("/submit/sent", status_code=303)


def _ignored(unread: Any) -> tuple[str, ...]:
    # An end measured against the stand-in for an unreadable start means nothing.
    return ("ends",) if "starts" in unread else ()


async def _address_limited(request: Request) -> int | None:
    """Seconds to wait when this client address has already sent all it may for now."""
    throttle = request.app.state.submit_address_throttle
    until = await throttle.refused_until(client_address(request.scope))
    return None if until is None else flood_gate.remember(request, "submit", until)


async def _throttled(request: Request, email: str) -> int | None:
    """Seconds to wait when this address or this e-mail has sent enough for now, counted in
    the database so that every web process counts the same plans."""
    state = request.app.state
    client = client_address(request.scope)
    limits = (
        (state.submit_address_throttle, client),
        (state.submit_email_throttle, addresses.normalized(email) or email),
    )
    for throttle, key in limits:
        if (wait := await throttle.retry_after(key)) is not None:
            return wait
    allowed = [await throttle.hit(key) for throttle, key in limits]
    if all(allowed):
        return None
    waits = [await throttle.retry_after(key) for throttle, key in limits]
    return max((w for w in waits if w is not None), default=1)


async def sent(request: Request) -> Response:
    node = common.node(request)
    return request.app.state.templates.render(
        request, "submit_sent.html", {"mail_on": node.settings.smtp is not None}
    )


async def _by_token(request: Request) -> Any:
    node = common.node(request)
    async with node.db.read() as session:
        row = await submissions.by_token(session, request.path_params["token"])
        organization = await submissions.organization_of(session, row)
        event = None
        if row.event_id is not None:
            event = await session.get(Event, row.event_id)
    return row, organization, event


async def status(request: Request) -> Response:
    """The submitter's private page: the state, and while it waits, the form to correct it."""
    lang = i18n.language(request)
    try:
        row, organization, event = await _by_token(request)
    except NotFound as missing:
        return request.app.state.templates.render(
            request, "submit_gone.html", {"text": messages.sentences(missing, lang)}, status=404
        )
    token = request.path_params["token"]
    values = _status_values(row)
    problems: dict[str, str] = {}
    code = 200
    if request.method == "POST":
        await check_csrf(request)
        form = await read_form(request)
        node = common.node(request)
        if form.get("withdraw"):
            await submissions.withdraw(node.db, token)
            return RedirectResponse("/submit/withdrawn", status_code=303)
        values = {**_read(form), **{k: values[k] for k in ("name", "email", "organization")}}
        data, unread = _plan(values)
        try:
            refuse_unread(unread, lambda: events.check(data, "action"), ignore=_ignored(unread))
            await submissions.change(node.db, token, data)
        except ValidationError as exc:
            problems, code = messages.beside_fields(exc, lang), 400
        else:
            return RedirectResponse(f"/submit/status/{token}?saved=1", status_code=303)
    extra = {
        "submission": row,
        "organization": organization,
        "event": event,
        "token": token,
        "saved": request.query_params.get("saved") == "1",
    }
    return await _form_page(
        request, values, problems, status=code, template="submit_status.html", extra=extra
    )


def _status_values(row: Any) -> dict[str, str]:
    values = values_from(submissions.plan_from_json(row.plan))
    values.update(
        {
            "name": row.submitter_name,
            "email": row.email,
            "organization": row.submitter_organization,
            "credit": "1" if row.credit else "",
        }
    )
    return values


async def withdrawn(request: Request) -> Response:
    return request.app.state.templates.render(request, "submit_withdrawn.html", {})


routes = [
    Route("/submit", submit_form, methods=["GET", "POST"]),
    Route("/submit/sent", sent),
    Route("/submit/withdrawn", withdrawn),
    Route("/submit/status/{token}", status, methods=["GET", "POST"]),
]

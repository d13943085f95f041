"""The public contact form: anyone may write to the node's admins, without an account."""

from __future__ import annotations

from babel.numbers import format_decimal
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from actors import contact
from actors.errors import ValidationError
from actors.mail import addresses
from web import flood_gate, i18n, messages
from web.auth import check_csrf
from web.form_guard import HONEYPOT, STARTED, FormGuard
from web.forms import read_form
from web.labels import TOPIC_LABELS
from web.routes import common
from web.throttle import client_address

FIELDS = ("name", "email", "organization", "topic", "message")


TOO_MANY = flood_gate.CONTACT_TOO_MANY


def guard(request: Request) -> FormGuard:
    return request.app.state.contact_guard


def _page(
    request: Request,
    values: dict[str, str],
    problems: dict[str, str] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    started: str | None = None,
) -> Response:
    """The form, with what was typed and, beside each field, what is wrong with it (a
    problem with the whole form, such as the rate limit, is under "form")."""
    problems = dict(problems or {})
    form_problem = problems.pop("form", None)
    node = common.node(request)
    response = request.app.state.templates.render(
        request,
        "contact.html",
        {
            "values": values,
            "problems": problems,
            "form_problem": form_problem,
            "topics": list(TOPIC_LABELS),
            # The posted form's own start when it was good: correcting a field is not a
            # program's speed.
            "started": started or guard(request).token(),
            "honeypot": HONEYPOT,
            "started_field": STARTED,
            "limits": {
                "name": contact.NAME_LIMIT,
                "organization": contact.ORGANIZATION_LIMIT,
                "message": contact.MESSAGE_LIMIT,
                "email": addresses.MAX_LENGTH,
                "links": contact.MAX_LINKS,
            },
            # "5,000", "5.000", "5 000": as the page's language writes numbers.
            "message_limit": format_decimal(
                contact.MESSAGE_LIMIT, locale=i18n.locale(i18n.language(request))
            ),
            "mail_on": node.settings.smtp is not None,
        },
        status=status,
    )
    response.headers.update(headers or {})
    return response


async def contact_form(request: Request) -> Response:
    if request.method == "GET":
        return _page(request, dict.fromkeys(FIELDS, ""))
    await check_csrf(request)
    if (wait := await _address_limited(request)) is not None:
        # Before the message is read or checked, with a short page: a flood from one address
        # must cost next to nothing; remembered, so that this process refuses the address's
        # next posts before any work at all (FloodGate).
        return flood_gate.refusal(request, "contact", wait)
    node = common.node(request)
    form = await read_form(request)
    lang = i18n.language(request)
    values = {name: str(form.get(name, "")) for name in FIELDS}
    raw = contact.ContactInput(**values, language=lang)
    problems: dict[str, str] = {}
    try:
        contact.check(raw)
    except ValidationError as exc:
        problems = messages.beside_fields(exc, lang)
    refused = guard(request).problem(form)
    if refused is not None:
        problems = {"form": messages.word(refused, {}, lang), **problems}
    if problems:
        kept = str(form.get(STARTED, "")) if refused is None else None
        return _page(request, values, problems, status=400, started=kept)
    wait = await _throttled(request, values["email"])
    if wait is not None:
        problem = {"form": i18n.translate(TOO_MANY, lang)}
        return _page(request, values, problem, status=429, headers={"Retry-After": str(wait)})
    await contact.submit(node.db, node.mail, raw, base_url=node.settings.base_url)
    return RedirectResponse("/contact/thanks", status_code=303)


async def _address_limited(request: Request) -> int | None:
    """Seconds to wait when this client address has already sent all it may for now."""
    throttle = request.app.state.contact_address_throttle
    until = await throttle.refused_until(client_address(request.scope))
    return None if until is None else flood_gate.remember(request, "contact", until)


async def _throttled(request: Request, email: str) -> int | None:
    """Seconds to wait when this address or this e-mail has sent enough for now, counted in
    the database so that every web process counts the same messages."""
    state = request.app.state
    client = client_address(request.scope)
    limits = (
        (state.contact_address_throttle, client),
        (state.contact_email_throttle, addresses.normalized(email) or email),
    )
    for throttle, key in limits:
        if (wait := await throttle.retry_after(key)) is not None:
            return wait
    allowed = [await throttle.hit(key) for throttle, key in limits]
    if all(allowed):
        return None
    waits = [await throttle.retry_after(key) for throttle, key in limits]
    return max((w for w in waits if w is not None), default=1)


async def thanks(request: Request) -> Response:
    node = common.node(request)
    return request.app.state.templates.render(
        request, "contact_thanks.html", {"mail_on": node.settings.smtp is not None}
    )


routes = [
    Route("/contact", contact_form, methods=["GET", "POST"]),
    Route("/contact/thanks", thanks),
]

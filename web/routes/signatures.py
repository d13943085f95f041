"""Signing on to the call: the form, the links a signer gets by mail, the public page (also
the count other nodes read, by content negotiation)."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from actors import countries, signatures, signatures_to_as, signer_messages
from actors.errors import ValidationError
from actors.signatures import Confirmation, SignatureInput
from actors.signer_messages import Unsubscribe
from federation.as2 import with_context
from federation.db import utcnow
from federation.node import INSTANCE_USERNAME
from web import i18n, messages
from web.auth import check_csrf
from web.form_guard import HONEYPOT, STARTED
from web.forms import read_form
from web.labels import ORGANIZATION_KIND_LABELS
from web.negotiation import AS2_MEDIA_TYPE, ActivityJSONResponse, wants_activity_json
from web.routes import common
from web.runtime import Node


def _(message: str) -> str:
    """Marks a message for the catalogs; translated when shown."""
    return message


TOO_MANY = _("Too many signatures from here. Please try again later.")
FIELDS = (
    "name",
    "email",
    "signer",
    "organization_name",
    "organization_kind",
    "website",
    "country",
    "city",
    "comment",
)


# The form's name where it is not the field's: "website" is the honeypot of public forms.
FORM_NAMES = {"website": "organization_website"}


def _values(form: FormData | None = None, signature: Any = None) -> dict[str, Any]:
    """What the form shows: what was typed (kept when refused), or the stored signature."""
    if form is not None:
        values: dict[str, Any] = {
            name: common.form_text(form, FORM_NAMES.get(name, name)) for name in FIELDS
        }
        values["public"] = form.get("public") == "on"
        values["wants_membership"] = form.get("wants_membership") == "on"
        return values
    if signature is not None:
        values = {name: getattr(signature, name, None) or "" for name in FIELDS}
        values["public"] = signature.public
        values["wants_membership"] = signature.wants_membership
        values["email"] = ""
        return values
    return {name: "" for name in FIELDS} | {
        "signer": "individual",
        "public": False,
        "wants_membership": False,
    }


def _input(values: dict[str, Any], lang: str) -> SignatureInput:
    return SignatureInput(
        name=values["name"],
        email=values["email"],
        signer=values["signer"],
        organization_name=values["organization_name"],
        organization_kind=values["organization_kind"],
        website=values["website"],
        country=values["country"],
        city=values["city"],
        comment=values["comment"],
        public=values["public"],
        wants_membership=values["wants_membership"],
        language=lang,
    )


def _form_page(
    request: Request,
    values: dict[str, Any],
    *,
    problems: dict[str, str] | None = None,
    token: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    unsubscribed: bool = False,
) -> Response:
    lang = i18n.language(request)
    response: Response = request.app.state.templates.render(
        request,
        "sign.html",
        {
            "values": values,
            "problems": problems or {},
            "token": token,
            "unsubscribed": unsubscribed,
            "started": request.app.state.sign_guard.token(),
            "started_field": STARTED,
            "honeypot": HONEYPOT,
            "countries": countries.choices(lang),
            "organization_kinds": [
                (code, i18n.translate(label, lang))
                for code, label in ORGANIZATION_KIND_LABELS.items()
            ],
        },
        status=status,
    )
    response.headers.update(headers or {})
    return response


async def sign_form(request: Request) -> Response:
    return _form_page(request, _values())


def mail_configured(node: Node) -> bool:
    return node.settings.smtp is not None


async def _throttled(request: Request) -> int | None:
    throttle = request.app.state.sign_throttle
    client = request.client.host if request.client else "unknown"
    wait = await throttle.retry_after(client)
    if wait is None and not await throttle.hit(client):
        wait = await throttle.retry_after(client) or 1
    return wait


async def sign(request: Request) -> Response:
    node = common.node(request)
    lang = i18n.language(request)
    await check_csrf(request)
    form = await read_form(request)
    values = _values(form)
    if (wait := await _throttled(request)) is not None:
        problems = {"form": i18n.translate(TOO_MANY, lang)}
        return _form_page(
            request, values, problems=problems, status=429, headers={"Retry-After": str(wait)}
        )
    guarded = request.app.state.sign_guard.problem(form)
    if guarded is not None:
        problems = {"form": messages.word(guarded, {}, lang)}
        return _form_page(request, values, problems=problems, status=400)
    try:
        await signatures.sign(
            node.federation,
            _input(values, lang),
            mail=node.mail,
            may_mail=request.app.state.sign_mail_throttle.hit,
        )
    except ValidationError as exc:
        problems = messages.beside_fields(exc, lang)
        return _form_page(request, values, problems=problems, status=400)
    return RedirectResponse("/sign/sent", 303)


async def sent(request: Request) -> Response:
    return request.app.state.templates.render(
        request, "sign_sent.html", {"by_mail": mail_configured(common.node(request))}
    )


async def confirm(request: Request) -> Response:
    """The link in the mail: a button first (mail scanners follow links), then confirmed."""
    node = common.node(request)
    token = request.path_params["token"]
    templates = request.app.state.templates
    if request.method == "GET":
        async with node.db.read() as session:
            state = await signatures.confirmation_state(session, token)
        if state is Confirmation.WAITING:
            return templates.render(request, "sign_confirm.html", {"state": "ask"})
    else:
        await check_csrf(request)
        state = await signatures.confirm(node.federation, token)
    status = 404 if state is Confirmation.UNKNOWN else 200
    return templates.render(request, "sign_confirm.html", {"state": str(state)}, status=status)


async def manage(request: Request) -> Response:
    """The signer's own link: change the signature, or withdraw it."""
    node = common.node(request)
    token = request.path_params["token"]
    lang = i18n.language(request)
    templates = request.app.state.templates
    async with node.db.read() as session:
        signature = await signatures.by_manage_token(session, token)
    if signature is None:
        return templates.render(request, "sign_gone.html", {}, status=404)
    unsubscribed = signature.unsubscribed_at is not None
    if request.method == "GET":
        return _form_page(
            request, _values(signature=signature), token=token, unsubscribed=unsubscribed
        )
    await check_csrf(request)
    form = await read_form(request)
    if form.get("withdraw") is not None:
        await signatures.withdraw(node.federation, token)
        return templates.render(request, "sign_gone.html", {"withdrawn": True})
    if (wanted := form.get("messages")) in ("on", "off"):
        await signer_messages.choose(node.db, token, wants_messages=wanted == "on")
        return RedirectResponse(f"/sign/manage/{token}?messages={wanted}", 303)
    values = _values(form)
    try:
        await signatures.change(node.federation, token, _input(values, lang))
    except ValidationError as exc:
        problems = messages.beside_fields(exc, lang)
        return _form_page(
            request, values, problems=problems, token=token, status=400, unsubscribed=unsubscribed
        )
    return RedirectResponse(f"/sign/manage/{token}?saved=1", 303)


async def unsubscribe(request: Request) -> Response:
    """The link in every message to signers. GET asks first (mail scanners follow links);
    POST unsubscribes, from that page or straight from a mail program (RFC 8058 one-click,
    which sends no cookie and so no CSRF token: the secret link itself is the proof)."""
    node = common.node(request)
    token = request.path_params["token"]
    templates = request.app.state.templates
    if request.method == "GET":
        async with node.db.read() as session:
            state = await signer_messages.unsubscribe_state(session, token)
    else:
        await read_form(request)  # bounded, and whatever it says (List-Unsubscribe=One-Click)
        state = await signer_messages.unsubscribe(node.db, token)
    status = 404 if state is Unsubscribe.UNKNOWN else 200
    return templates.render(
        request, "sign_unsubscribe.html", {"state": str(state), "token": token}, status=status
    )


class _ByVersion:
    """What was built for one version of the public signatures (web processes each keep
    their own): rebuilt only when a change moves the version stored with the count."""

    def __init__(self) -> None:
        self.version = -1
        self.built: dict[tuple[str, ...], Any] = {}

    def get(self, version: int, key: tuple[str, ...]) -> Any:
        if version != self.version:
            self.version, self.built = version, {}
        return self.built.get(key)

    def put(self, version: int, key: tuple[str, ...], value: Any) -> None:
        if version == self.version:
            self.built[key] = value


def _built_for(request: Request) -> _ByVersion:
    """One per application: tests run several nodes in one process."""
    built = getattr(request.app.state, "signature_pages", None)
    if built is None:
        built = request.app.state.signature_pages = _ByVersion()
    return built


async def _collection(request: Request, node: Node) -> bytes:
    built = _built_for(request)
    async with node.db.read() as session:
        version = (await signatures.state(session)).version
        if (cached := built.get(version, ("as2",))) is not None:
            return bytes(cached)
        public = await signatures.public_signatures(session)
        instance = await node.federation.local_actor_by_username(session, INSTANCE_USERNAME)
    if instance is None:
        raise HTTPException(404)
    document = signatures_to_as.collection(node.settings.base_url, instance, public)
    body = ActivityJSONResponse(with_context(signatures_to_as.CONTEXT, document)).body
    built.put(version, ("as2",), body)
    return bytes(body)


async def _lists_html(request: Request, session: AsyncSession, version: int, lang: str) -> Markup:
    built = _built_for(request)
    if (cached := built.get(version, ("lists", lang))) is not None:
        return cached
    lists = await signatures.public_lists(session)
    codes = {org.country for org in lists.organizations} | {p.country for p in lists.people}
    codes |= {code for code, _count in lists.by_country}
    names = {code: countries.name(code, lang) for code in codes if code}
    templates = request.app.state.templates
    with i18n.active(lang):
        rendered = templates.env.get_template("_signature_lists.html").render(
            lists=lists, country_names=names
        )
    # An autoescaped template's output: what signers wrote is escaped in it.
    html = Markup(rendered)  # noqa: S704
    built.put(version, ("lists", lang), html)
    return html


async def public_page(request: Request) -> Response:
    """The count here and across the network (what followed nodes last told us, never
    fetched from here), and the public lists."""
    node = common.node(request)
    if wants_activity_json(request):
        return Response(
            await _collection(request, node),
            media_type=AS2_MEDIA_TYPE,
            headers={"Vary": "Accept", "Cache-Control": "max-age=60"},
        )
    lang = i18n.language(request)
    async with node.db.read() as session:
        kept = await signatures.state(session)
        lists_html = await _lists_html(request, session, kept.version, lang)
        network = await signatures.network_total(session, own=kept.confirmed)
    now = utcnow()
    return request.app.state.templates.render(
        request,
        "signatures.html",
        {
            "lists_html": lists_html,
            "network": network,
            "ages": {
                other.host: i18n.format_age(now - other.received_at, lang)
                for other in network.others
            },
        },
    )


routes = [
    Route("/sign", sign_form, methods=["GET"]),
    Route("/sign", sign, methods=["POST"]),
    Route("/sign/sent", sent),
    Route("/sign/confirm/{token}", confirm, methods=["GET", "POST"]),
    Route("/sign/manage/{token}", manage, methods=["GET", "POST"]),
    Route("/sign/unsubscribe/{token}", unsubscribe, methods=["GET", "POST"]),
    Route("/signatures", public_page),
]

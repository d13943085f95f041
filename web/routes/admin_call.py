"""Admin page for the call on the home page: its text per language (with a preview), and an
image with its alt text. Every rule is in `actors.call`; what ships with the node is in
`web.home_call`."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from actors import call
from actors.errors import ValidationError
from web import home_call, i18n, messages
from web.auth import admin_required
from web.forms import accepts_upload, read_form
from web.routes import common
from web.routes.pages import IMAGE_PATH

FLASH = "admin_call_notice"


async def _render(
    request: Request,
    *,
    texts: dict[str, str] | None = None,
    alts: dict[str, str] | None = None,
    previews: dict[str, str] | None = None,
    error: ValidationError | None = None,
    status: int = 200,
) -> Response:
    node = common.node(request)
    async with node.db.read() as session:
        saved = await call.texts(session)
        image = await call.image(session)
    if texts is None:
        texts = {
            code: saved[code].markdown if code in saved else "" for code, _ in i18n.languages()
        }
    if alts is None:
        alts = {code: (image.alts.get(code, "") if image else "") for code, _ in i18n.languages()}
    lang = i18n.language(request)
    rows: list[dict[str, Any]] = [
        {
            "code": code,
            "name": name,
            "text": texts.get(code, ""),
            "alt": alts.get(code, ""),
            "own": code in saved,
            "default": home_call.default_markdown(code),
            "preview": (previews or {}).get(code),
        }
        for code, name in i18n.languages()
    ]
    return request.app.state.templates.render(
        request,
        "admin/call.html",
        {
            "rows": rows,
            "image": image and {"src": IMAGE_PATH + image.file_name, "alts": image.alts},
            "max_text": call.MAX_TEXT,
            "max_alt": call.MAX_ALT,
            "max_image_mb": call.MAX_IMAGE_MB,
            "problems": messages.beside_fields(error, lang),
            "notice": request.session.pop(FLASH, None),
        },
        status=status,
    )


def _texts(form: FormData) -> dict[str, str]:
    return {code: common.form_text(form, f"text-{code}") for code, _ in i18n.languages()}


@admin_required
async def call_page(request: Request) -> Response:
    if request.method == "GET":
        return await _render(request)
    node = common.node(request)
    form = await read_form(request)
    texts = _texts(form)
    try:
        call.check_texts(texts)
        if form.get("action") == "preview":
            previews = {
                code: call.preview(text) if text.strip() else home_call.default_html(code)
                for code, text in texts.items()
            }
            return await _render(request, texts=texts, previews=previews)
        await call.save_texts(node.db, texts)
    except ValidationError as exc:
        return await _render(request, texts=texts, error=exc, status=400)
    request.session[FLASH] = "texts"
    return RedirectResponse("/admin/call", status_code=303)


@accepts_upload(2 * call.MAX_IMAGE_BYTES)
@admin_required
async def call_image(request: Request) -> Response:
    node = common.node(request)
    form = await read_form(request)
    alts = {code: common.form_text(form, f"alt-{code}") for code, _ in i18n.languages()}
    upload = form.get("image")
    data = await upload.read() if isinstance(upload, UploadFile) else None
    try:
        await call.save_image(
            node.db, home_call.image_directory(node.settings), call.ImageInput(data, alts)
        )
    except ValidationError as exc:
        return await _render(request, alts=alts, error=exc, status=400)
    request.session[FLASH] = "image"
    return RedirectResponse("/admin/call#image", status_code=303)


@admin_required
async def remove_image(request: Request) -> Response:
    node = common.node(request)
    await call.remove_image(node.db, home_call.image_directory(node.settings))
    request.session[FLASH] = "image-removed"
    return RedirectResponse("/admin/call#image", status_code=303)


routes = [
    Route("/admin/call", call_page, methods=["GET", "POST"]),
    Route("/admin/call/image", call_image, methods=["POST"]),
    Route("/admin/call/image/remove", remove_image, methods=["POST"]),
]

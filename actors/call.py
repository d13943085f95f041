"""The network's call on the home page, as the admin words it: a text per language, an image.

A language the admin left empty shows the call the node ships (the web layer reads those);
a text saved here replaces that language's default, no other. The text is Markdown, stored
with its sanitized HTML beside it. The image is checked by its bytes, never by the name or
type the browser claims, and kept as a file in a directory the caller gives (the node's data
directory, which backups carry), named by its content.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from actors.errors import Message, Problems
from actors.models import CallImage, CallText
from actors.text import description_html, strip_controls
from federation.db import Database, utcnow

MAX_TEXT = 10_000
MAX_ALT = 300
MAX_IMAGE_MB = 2
MAX_IMAGE_BYTES = MAX_IMAGE_MB * 1_000_000
# Raster images only: an SVG is a document that can carry scripts.
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
MEDIA_TYPES = {extension: kind for kind, extension in EXTENSIONS.items()}
FILE_NAME = re.compile(r"^[0-9a-f]{32}\.(png|jpg|webp)$")


def media_type(data: bytes) -> str | None:
    """What the bytes are (PNG, JPEG, WebP by their signatures), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


# --- reading ------------------------------------------------------------------------------


async def texts(session: AsyncSession) -> dict[str, CallText]:
    """The admin's texts by language (languages left to the default are absent)."""
    rows = (await session.execute(select(CallText))).scalars()
    return {row.language: row for row in rows}


async def text_html(session: AsyncSession, language: str) -> str | None:
    """The admin's call in `language` as safe HTML, or None: show the default."""
    return (
        await session.execute(select(CallText.html).where(CallText.language == language))
    ).scalar_one_or_none()


async def image(session: AsyncSession) -> CallImage | None:
    return (await session.execute(select(CallImage).limit(1))).scalar_one_or_none()


def alt_for(found: CallImage, language: str, order: tuple[str, ...]) -> str:
    """The image's alt text in `language`, else in the first of `order` that has one."""
    for candidate in (language, *order):
        if found.alts.get(candidate):
            return found.alts[candidate]
    return next((alt for alt in found.alts.values() if alt), "")


# --- the texts ----------------------------------------------------------------------------


def check_texts(given: Mapping[str, str]) -> None:
    problems = Problems()
    for language, markdown in given.items():
        if len(markdown.strip()) > MAX_TEXT:
            problems.add(f"text-{language}", Message.TEXT_TOO_LONG, limit=MAX_TEXT)
    problems.raise_any()


def preview(markdown: str) -> str:
    """The HTML a text would show, sanitized as when it is saved."""
    return description_html(strip_controls(markdown).strip(), format="markdown")


async def save_texts(db: Database, given: Mapping[str, str]) -> None:
    """Store the call per language; an empty text returns that language to the default.

    Nothing is stored when any language's text is refused (ValidationError).
    """
    check_texts(given)
    async with db.transaction() as session:
        for language, markdown in given.items():
            markdown = strip_controls(markdown).strip()
            row = await session.get(CallText, language)
            if not markdown:
                if row is not None:
                    await session.delete(row)
                continue
            if row is None:
                row = CallText(language=language)
                session.add(row)
            row.markdown = markdown
            row.html = preview(markdown)
            row.updated_at = utcnow()


# --- the image ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageInput:
    """`data` None keeps the current image and changes only its alt texts."""

    data: bytes | None
    alts: Mapping[str, str]


def _clean_alts(alts: Mapping[str, str]) -> dict[str, str]:
    return {lang: " ".join(strip_controls(alt).split()) for lang, alt in alts.items()}


def check_image(given: ImageInput, *, has_image: bool) -> str | None:
    """The image's media type once everything is right (None when keeping the current one)."""
    problems = Problems()
    kind = None
    if not given.data:
        if not has_image:
            problems.add("image", Message.IMAGE_REQUIRED)
    elif len(given.data) > MAX_IMAGE_BYTES:
        problems.add("image", Message.IMAGE_TOO_LARGE, limit=MAX_IMAGE_MB)
    else:
        kind = media_type(given.data)
        if kind is None:
            problems.add("image", Message.IMAGE_TYPE_UNKNOWN)
    alts = _clean_alts(given.alts)
    for language, alt in alts.items():
        if len(alt) > MAX_ALT:
            problems.add(f"alt-{language}", Message.ALT_TOO_LONG, limit=MAX_ALT)
    if not any(alts.values()):
        problems.add("alt", Message.ALT_REQUIRED)
    problems.raise_any()
    return kind


def _write(directory: Path, data: bytes, kind: str) -> str:
    name = f"{hashlib.sha256(data).hexdigest()[:32]}.{EXTENSIONS[kind]}"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = directory / name
    if not target.exists():
        # Written aside and renamed: a page never serves half a file.
        partial = directory / f".{name}.part"
        partial.write_bytes(data)
        partial.chmod(0o600)
        os.replace(partial, target)
    return name


def write_image(directory: Path, data: bytes, kind: str) -> str:
    """Store checked image bytes under a name made of their content; returns the name. The
    reports' images are kept the same way (`actors.reports`)."""
    return _write(directory, data, kind)


def remove_image_file(directory: Path, name: str) -> None:
    _remove_file(directory, name)


def _remove_file(directory: Path, name: str) -> None:
    if FILE_NAME.match(name):
        (directory / name).unlink(missing_ok=True)


async def save_image(db: Database, directory: Path, given: ImageInput) -> CallImage:
    """Set the image (or only its alt texts). Refused input (ValidationError) stores nothing."""
    async with db.read() as session:
        current = await image(session)
    kind = check_image(given, has_image=current is not None)
    name = None
    if given.data and kind:
        # Megabytes to disk: off the event loop, which serves every other request meanwhile.
        name = await asyncio.to_thread(_write, directory, given.data, kind)
    async with db.transaction() as session:
        row = await image(session)
        old = row.file_name if row is not None else None
        if row is None:
            assert name is not None and kind is not None  # check_image required a file
            row = CallImage(file_name=name, media_type=kind)
            session.add(row)
        elif name is not None and kind is not None:
            row.file_name, row.media_type = name, kind
        row.alts = {lang: alt for lang, alt in _clean_alts(given.alts).items() if alt}
        row.updated_at = utcnow()
    if old is not None and old != row.file_name:
        _remove_file(directory, old)
    return row


async def remove_image(db: Database, directory: Path) -> None:
    async with db.transaction() as session:
        row = await image(session)
        name = row.file_name if row is not None else None
        await session.execute(delete(CallImage))
    if name is not None:
        _remove_file(directory, name)


def image_file(directory: Path, name: str) -> Path | None:
    """The stored file called `name`, if `name` is one of ours and it is there."""
    if not FILE_NAME.match(name):
        return None
    path = directory / name
    return path if path.is_file() else None

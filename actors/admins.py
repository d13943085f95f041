"""Admin accounts: who may run this node. Passwords hashed with argon2; nothing of it federates."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select

from actors.models import AdminAccount, AdminSession, AdminSetupToken
from federation.db import Database, rowcount, utcnow

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 12
SETUP_TOKEN_LIFETIME = timedelta(days=2)
SESSION_LIFETIME = timedelta(days=14)


@functools.cache
def _dummy_hash() -> str:
    # Verifying against a throwaway hash keeps "no such user" and "wrong password" alike in
    # timing. Made at the first login, not at import: a hash takes a quarter of a second,
    # which every `iwsn` command and every web process start would otherwise pay.
    return _hasher.hash(secrets.token_hex(16))


class AdminError(ValueError):
    pass


def validate_credentials(username: str, password: str) -> None:
    if not username or len(username) > 64 or not username.isprintable() or " " in username:
        raise AdminError("the username must be 1-64 characters without spaces")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AdminError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters long")


async def count(db: Database) -> int:
    async with db.read() as session:
        return (await session.execute(select(func.count(AdminAccount.id)))).scalar_one()


async def create_admin(db: Database, username: str, password: str) -> AdminAccount:
    validate_credentials(username, password)
    async with db.transaction() as session:
        exists = await session.execute(
            select(AdminAccount.id).where(AdminAccount.username == username)
        )
        if exists.first() is not None:
            raise AdminError(f"an admin named {username!r} already exists")
        account = AdminAccount(username=username, password_hash=_hasher.hash(password))
        session.add(account)
    return account


async def set_password(db: Database, username: str, password: str) -> None:
    validate_credentials(username, password)
    async with db.transaction() as session:
        account = (
            await session.execute(select(AdminAccount).where(AdminAccount.username == username))
        ).scalar_one_or_none()
        if account is None:
            raise AdminError(f"no admin named {username!r}")
        account.password_hash = _hasher.hash(password)
        # Whoever knew the old password may hold a session: a new password ends them all.
        await session.execute(delete(AdminSession).where(AdminSession.admin_id == account.id))


async def authenticate(db: Database, username: str, password: str) -> AdminAccount | None:
    async with db.transaction() as session:
        account = (
            await session.execute(select(AdminAccount).where(AdminAccount.username == username))
        ).scalar_one_or_none()
        try:
            _hasher.verify(account.password_hash if account else _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        if account is None:
            return None
        if _hasher.check_needs_rehash(account.password_hash):
            account.password_hash = _hasher.hash(password)
        account.last_login_at = utcnow()
        return account


async def get(db: Database, account_id: int) -> AdminAccount | None:
    async with db.read() as session:
        return await session.get(AdminAccount, account_id)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_setup_token(db: Database, *, now: datetime | None = None) -> str:
    """A one-time secret for the set-password link; only its hash is kept."""
    token = secrets.token_urlsafe(32)
    now = now or utcnow()
    async with db.transaction() as session:
        session.add(
            AdminSetupToken(token_hash=_digest(token), expires_at=now + SETUP_TOKEN_LIFETIME)
        )
    return token


async def setup_token_valid(db: Database, token: str) -> bool:
    async with db.read() as session:
        row = (
            await session.execute(
                select(AdminSetupToken).where(AdminSetupToken.token_hash == _digest(token))
            )
        ).scalar_one_or_none()
    return row is not None and row.used_at is None and row.expires_at > utcnow()


async def redeem_setup_token(db: Database, token: str, username: str, password: str) -> None:
    """Create (or reset) an admin with the password chosen through a one-time link."""
    validate_credentials(username, password)
    async with db.transaction() as session:
        row = (
            await session.execute(
                select(AdminSetupToken).where(AdminSetupToken.token_hash == _digest(token))
            )
        ).scalar_one_or_none()
        if row is None or row.used_at is not None or row.expires_at <= utcnow():
            raise AdminError("this setup link is invalid, used or expired")
        row.used_at = utcnow()
        account = (
            await session.execute(select(AdminAccount).where(AdminAccount.username == username))
        ).scalar_one_or_none()
        if account is None:
            session.add(AdminAccount(username=username, password_hash=_hasher.hash(password)))
        else:
            account.password_hash = _hasher.hash(password)
            await session.execute(delete(AdminSession).where(AdminSession.admin_id == account.id))


# --- sessions ---------------------------------------------------------------------------------
# A signed cookie alone cannot be taken back: a copy made before logout would stay valid until
# it expires. The cookie carries a random id instead, and the session lives while its row does.


async def open_session(db: Database, admin_id: int, *, now: datetime | None = None) -> str:
    """A new session for this admin; the returned secret goes into the cookie."""
    token = secrets.token_urlsafe(32)
    now = now or utcnow()
    async with db.transaction() as session:
        await session.execute(delete(AdminSession).where(AdminSession.expires_at <= now))
        session.add(
            AdminSession(
                token_hash=_digest(token), admin_id=admin_id, expires_at=now + SESSION_LIFETIME
            )
        )
    return token


async def session_admin(db: Database, token: str) -> int | None:
    """The admin whose live session this is, or None (logged out, revoked, expired)."""
    async with db.read() as session:
        row = (
            await session.execute(
                select(AdminSession.admin_id, AdminSession.expires_at).where(
                    AdminSession.token_hash == _digest(token)
                )
            )
        ).first()
    if row is None or row.expires_at <= utcnow():
        return None
    return row.admin_id


async def close_session(db: Database, token: str) -> None:
    async with db.transaction() as session:
        await session.execute(delete(AdminSession).where(AdminSession.token_hash == _digest(token)))


async def close_all_sessions(db: Database, admin_id: int) -> int:
    """Log this admin out everywhere; how many sessions ended."""
    async with db.transaction() as session:
        result = await session.execute(
            delete(AdminSession).where(AdminSession.admin_id == admin_id)
        )
    return rowcount(result)

"""IWSN_SMTP_URL and IWSN_MAIL_FROM, and `iwsn doctor`'s check of the mail server: a real
SMTP server on loopback, with and without a login, running or not."""

from __future__ import annotations

from datetime import timedelta

import pytest

from actors.mail.smtp import SmtpServer
from actors.mail.worker import MAIL_RETRY
from web.doctor import FAIL, OK, WARN, Doctor
from web.settings import SettingsError, load

BASE = {"IWSN_LOCAL_DEV": "1", "IWSN_DOMAIN": "127.0.0.1:8000"}


def test_smtp_urls():
    submission = load(
        {
            **BASE,
            "IWSN_SMTP_URL": "smtp://ana%40x.example:p%3Ass@mail.example:587?starttls=1",
            "IWSN_MAIL_FROM": "Workers <node@x.example>",
        }
    )
    assert submission.smtp == SmtpServer(
        "mail.example", 587, "starttls", "ana@x.example", "p:ss", local_hostname="127.0.0.1"
    )
    assert submission.mail_from == "Workers <node@x.example>"
    assert "p:ss" not in repr(submission.smtp)
    tls = load({**BASE, "IWSN_SMTP_URL": "smtps://u:p@mail.example", "IWSN_MAIL_FROM": "a@x.io"})
    assert (tls.smtp.security, tls.smtp.port) == ("tls", 465)
    local = load({**BASE, "IWSN_SMTP_URL": "smtp://127.0.0.1:1025", "IWSN_MAIL_FROM": "a@x.io"})
    assert (local.smtp.security, local.smtp.port, local.smtp.username) == ("plain", 1025, None)
    unset = load(BASE)
    assert unset.smtp is None and unset.mail_from == "noreply@127.0.0.1"


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"IWSN_SMTP_URL": "http://mail.example"}, "must start with smtp:// or smtps://"),
        ({"IWSN_SMTP_URL": "smtp://mail.example", "IWSN_MAIL_FROM": ""}, "IWSN_MAIL_FROM is not"),
        ({"IWSN_SMTP_URL": "smtp://u:secret@mail.example:25"}, "unencrypted"),
        ({"IWSN_SMTP_URL": "smtp://mail.example:port"}, "port"),
        ({"IWSN_MAIL_FROM": "not an address"}, "IWSN_MAIL_FROM must be"),
    ],
)
def test_bad_mail_settings_are_refused(env, says):
    env = {"IWSN_MAIL_FROM": "a@x.io", **env}
    with pytest.raises(SettingsError, match=says) as refused:
        load({**BASE, **env})
    assert "secret" not in str(refused.value)


def test_mail_is_retried_for_more_than_two_days():
    assert timedelta(days=2) < MAIL_RETRY.longest() < timedelta(days=5)


async def doctor_says(env) -> tuple[str, str]:
    doctor = Doctor(load({**BASE, "IWSN_MAIL_FROM": "a@x.io", **env}))
    await doctor.smtp()
    (finding,) = doctor.findings
    assert finding.check == "mail"
    return finding.status, finding.words


async def test_doctor_checks_the_mail_server(smtp_catcher):
    catcher = smtp_catcher(credentials=("ana", "right"))
    catcher.start()
    status, words = await doctor_says(
        {"IWSN_SMTP_URL": f"smtp://ana:right@127.0.0.1:{catcher.port}"}
    )
    assert status == OK and "connected, EHLO answered, logged in as ana" in words, words
    status, words = await doctor_says(
        {"IWSN_SMTP_URL": f"smtp://ana:wrong@127.0.0.1:{catcher.port}"}
    )
    assert status == FAIL and "login refused: 535" in words, words
    catcher.stop()
    status, words = await doctor_says({"IWSN_SMTP_URL": catcher.url})
    assert status == FAIL and "does not work" in words, words
    assert catcher.caught == []


async def test_doctor_says_when_no_mail_server_is_set():
    status, words = await doctor_says({})
    assert status == WARN and words.startswith("not set (IWSN_SMTP_URL)")

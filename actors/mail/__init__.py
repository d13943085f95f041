"""Outgoing e-mail: a durable queue in the database, sent over SMTP by the node's workers.

It knows nothing of the domain. A domain change that should e-mail someone calls
`MailQueue.enqueue` in its own transaction, so the mail exists exactly when the change does;
the worker (`actors.mail.worker`) sends it with retries, and the admin sees what waits or
failed (`actors.mail.queue.status`).
"""

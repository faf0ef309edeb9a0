"""A real SMTP server for the email destination tests, built on aiosmtpd.

Each accepted message is parsed with Python's `email` package and written to OUT_DIR as
`<n>.json` (envelope, headers, text and HTML parts, attachments) next to the raw `<n>.eml`.
RCPT TO addresses whose local part is `unknown` get `550 5.1.1 User unknown`; those whose
local part is `busy` get `451 4.3.0 Try again later`. With --auth USER:PASS, AUTH
PLAIN/LOGIN is required and other credentials get `535 5.7.8`. With --cert/--key, STARTTLS
is offered (and required for MAIL with --require-starttls), or with --implicit-tls the
listener speaks TLS from the first byte.

Prints `READY <port>` on stdout once it listens; runs until killed.
"""

import argparse
import json
import os
import ssl
import sys
import time
from email import policy
from email.parser import BytesParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Recorder:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local == "unknown":
            return "550 5.1.1 User unknown"
        if local == "busy":
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        raw = envelope.original_content or envelope.content
        message = BytesParser(policy=policy.default).parsebytes(raw)
        parts = {"text": None, "html": None}
        attachments = []
        for part in message.walk():
            if part.is_multipart():
                continue
            kind = part.get_content_type()
            disposition = part.get_content_disposition()
            if disposition is None and kind in ("text/plain", "text/html"):
                parts["text" if kind == "text/plain" else "html"] = part.get_content()
                continue
            payload = part.get_payload(decode=True) or b""
            attachments.append({
                "filename": part.get_filename(),
                "contentType": kind,
                "disposition": disposition,
                "contentId": part.get("Content-ID"),
                "size": len(payload),
                "hex": payload[:64].hex(),
            })
        record = {
            "mailFrom": envelope.mail_from,
            "rcptTos": envelope.rcpt_tos,
            "auth": session.auth_data.login.decode() if session.auth_data else None,
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
            "contentType": message.get_content_type(),
            "headers": {k.lower(): str(v) for k, v in message.items()},
            "text": parts["text"],
            "html": parts["html"],
            "attachments": attachments,
        }
        name = os.path.join(self.out_dir, f"{time.time_ns()}-{self.count:04d}")
        with open(name + ".eml", "wb") as f:
            f.write(raw)
        with open(name + ".json.tmp", "w") as f:
            json.dump(record, f)
        os.rename(name + ".json.tmp", name + ".json")
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--auth")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--require-starttls", action="store_true")
    parser.add_argument("--implicit-tls", action="store_true")
    args = parser.parse_args()

    kwargs = {}
    context = None
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
    if context and args.implicit_tls:
        kwargs["ssl_context"] = context
    elif context:
        kwargs["tls_context"] = context
        kwargs["require_starttls"] = args.require_starttls
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login.decode() == user
                  and auth_data.password.decode() == password)
            return AuthResult(success=ok, handled=False, auth_data=auth_data)

        kwargs["authenticator"] = authenticator
        kwargs["auth_required"] = True
        kwargs["auth_require_tls"] = context is not None

    controller = Controller(Recorder(args.out), hostname="127.0.0.1", port=args.port,
                            ready_timeout=10, **kwargs)
    controller.start()
    print(f"READY {args.port}", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()

"""Run the test identity provider: `python -m tests.oidc_provider.serve <dir>`.

<dir> holds `people.json` ({"people": {username: {"password": …, "claims": {…}}}, "client": {"id": …,
"secret": …, "redirect_uri": …}}), which the provider reads at each sign-in (backends.py, validator.py).
The server binds 127.0.0.1 on a free port first, then sets itself up for that issuer (migrations,
signing key, the portal's client registration) and prints `READY <port>` once it serves.
"""

import json
import os
import sys
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        sys.stderr.write("idp: " + format % args + "\n")


def main(directory: Path) -> None:
    from django.core.servers.basehttp import ThreadedWSGIServer

    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler)
    port = server.server_address[1]
    os.environ["IDP_DIR"] = str(directory)
    os.environ["IDP_ISSUER"] = f"http://127.0.0.1:{port}/o"
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"
    key = directory / "signing-key.pem"
    if not key.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))

    import django

    django.setup()
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0)
    client = json.loads((directory / "people.json").read_text())["client"]
    Application.objects.update_or_create(client_id=client["id"], defaults={
        "name": "PIM portal", "client_secret": client["secret"], "redirect_uris": client["redirect_uri"],
        "client_type": Application.CLIENT_CONFIDENTIAL,
        "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
        "algorithm": Application.RS256_ALGORITHM, "skip_authorization": False})

    server.set_app(get_wsgi_application())
    print(f"READY {port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(Path(sys.argv[1]))

"""Checks a running emulator with Python `requests` (OpenSSL's TLS) and PyJWT.

Usage: check_emulator.py BASE_URL STATE_DIR CLIENT_ID AUDIENCE ISSUER

Fetches a token over mutual TLS, calls whoami with it, then verifies the token with PyJWT
against the published JWKS (ES256 only, audience, issuer, typ at+jwt) and checks its
certificate binding by computing the client certificate's x5t#S256 here, independently.
Prints one JSON line with what it saw; never the token. Exits non-zero on any failure.
"""

import base64
import hashlib
import json
import os
import ssl
import sys

import jwt
import requests


def main() -> int:
    base_url, state_dir, client_id, audience, issuer = sys.argv[1:6]
    cert = (os.path.join(state_dir, "client.pem"), os.path.join(state_dir, "client.key"))
    ca = os.path.join(state_dir, "ca.pem")

    # Each request names its certificate and CA: a Session's `verify` has not always reached
    # the connection pool in requests 2.32.
    session = requests.Session()
    tls = {"cert": cert, "verify": ca}

    response = session.post(
        f"{base_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "audience": audience,
            "scope": "read write",
        },
        **tls,
    )
    if response.status_code != 200:
        print(f"token request failed: {response.status_code} {response.text}", file=sys.stderr)
        return 1
    if response.headers.get("Cache-Control") != "no-store":
        print("token response lacks Cache-Control: no-store", file=sys.stderr)
        return 1
    token = response.json()["access_token"]

    whoami = session.get(f"{base_url}/v1/whoami", headers={"Authorization": f"Bearer {token}"}, **tls)
    if whoami.status_code != 200:
        print(f"whoami failed: {whoami.status_code} {whoami.text}", file=sys.stderr)
        return 1

    jwks = session.get(f"{base_url}/oauth/jwks", **tls).json()
    header = jwt.get_unverified_header(token)
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(
        token,
        key=jwt.PyJWK(key),
        algorithms=["ES256"],
        audience=audience,
        issuer=issuer,
        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
    )
    if header.get("typ") != "at+jwt":
        print(f"typ is {header.get('typ')!r}, not at+jwt", file=sys.stderr)
        return 1

    with open(cert[0], encoding="ascii") as file:
        der = ssl.PEM_cert_to_DER_cert(file.read())
    thumbprint = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    if claims["cnf"]["x5t#S256"] != thumbprint:
        print("cnf.x5t#S256 is not the client certificate's thumbprint", file=sys.stderr)
        return 1

    # A forged token with alg none must be refused by the API.
    unsigned = jwt.encode(
        claims, key=None, algorithm="none", headers={"typ": "at+jwt", "kid": header["kid"]}
    )
    refused = session.get(f"{base_url}/v1/whoami", headers={"Authorization": f"Bearer {unsigned}"}, **tls)

    print(json.dumps({
        "whoami": whoami.json()["client_id"],
        "verified_client_id": claims["client_id"],
        "scope": claims["scope"],
        "binding": "ok",
        "alg_none_status": refused.status_code,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

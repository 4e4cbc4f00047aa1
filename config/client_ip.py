"""The client's address, for login lockouts (django-axes' AXES_CLIENT_IP_CALLABLE).

Behind TRUSTED_PROXY_COUNT proxies that each append the address they received the
request from to X-Forwarded-For, the client is the N-th address from the right: the
ones left of it are whatever the client sent, and can be forged. The shipped nginx
sets the header to the one address it saw, so behind it (N = 1) that address is the
client's. With no proxy, only the socket's address is believed.
"""

import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    hops = [
        hop.strip()
        for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if hop.strip()
    ]
    if len(hops) < count:
        return remote
    candidate = hops[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote

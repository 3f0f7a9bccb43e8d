"""Security headers of every CRM response, set once (``guard.protect`` installs them on each
CRM blueprint).

The CRM's pages load their script and stylesheet from the CRM's static folder only: no inline
script, no inline event handler (behaviour lives in ``static/kw_crm/crm.js``, wired through
``data-`` attributes), so the Content-Security-Policy can forbid every script it did not ship.
Inline ``style`` stays allowed (the host's layout uses it; styles cannot run code). No page may
be framed (a framed delete confirmation could be click-jacked). A header a view set itself (the
sandboxing CSP of attachment downloads) is kept."""

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def security_headers(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response

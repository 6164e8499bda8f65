"""Rendering a page: the template, the signed-in user, what their role may do, the CSRF token."""

from __future__ import annotations

from jinja2 import Environment
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from netoutcomes.interfaces.web.auth import ROLE_PERMISSIONS, csrf_token


def render(request: Request, template: str, status: int = 200, **context: object) -> HTMLResponse:
    env: Environment = request.app.state.templates
    role = getattr(request.state, "role", None)
    html = env.get_template(template).render(
        request=request,
        user=getattr(request.state, "user", None),
        role=role.value if role else None,
        can={p.value for p in ROLE_PERMISSIONS[role]} if role else set(),
        csrf=csrf_token(request),
        synthetic=request.app.state.access.synthetic(),
        **context,
    )
    return HTMLResponse(html, status_code=status)


def forbidden(request: Request, why: str = "Your role does not allow this page.") -> Response:
    return render(request, "error.html", status=403, title="Not allowed", message=why)

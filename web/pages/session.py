"""Signing in with the bot's one-time link, signing out, and the page language."""

from __future__ import annotations

from aiohttp import web

from bot.repo.staff import StaffRepo
from bot.repo.web_sessions import WebSessionRepo
from bot.staffdesk.console_access import redeem
from web.guard import COOKIE, message, public
from web.keys import LIMITER, SERVICES, STAFF, services, staff
from web.render import render

TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@public
async def home(request: web.Request) -> web.StreamResponse:
    """The address itself: the overview when signed in, else how to sign in."""
    if request.get(STAFF) is not None:
        raise web.HTTPSeeOther("/overview")
    return render(
        request,
        "message.html",
        status=200,
        heading=_text(request, "web.signin.title"),
        message=_text(request, "web.signin.how"),
    )


def _text(request: web.Request, key: str) -> str:
    """A text in the bot's default language (nobody is signed in)."""
    svc = request.app[SERVICES]
    return svc.i18n.t(svc.settings.default_locale, key)


@public
async def login_page(request: web.Request) -> web.StreamResponse:
    """GET of a login link: a button, so that a link preview fetching it spends nothing."""
    token = request.match_info["token"]
    if not 20 <= len(token) <= 64 or not set(token) <= TOKEN_CHARS:
        return message(request, "web.signin.failed", 400)
    return render(request, "login.html", token=token)


def _address(request: web.Request) -> str:
    """The client's address, for the sign-in limiter."""
    return request.remote or "?"


@public
async def login(request: web.Request) -> web.StreamResponse:
    """Spend the link's token and open a session."""
    limiter = request.app[LIMITER]
    if limiter.blocked(_address(request)):
        return message(request, "web.signin.throttled", 429)
    form = await request.post()
    token = form.get("token")
    svc = services(request)
    now = svc.clock.timestamp()
    opened = None
    if isinstance(token, str) and 20 <= len(token) <= 64:
        opened = await redeem(svc.db, token, now, svc.settings.default_locale)
    if opened is None:
        limiter.failed(_address(request))
        return message(request, "web.signin.failed", 400)
    cookie, session = opened
    user = await svc.users.find(session.platform, session.user_id)
    if user is not None and user.lang in svc.i18n.languages:
        await WebSessionRepo(svc.db).set_lang(session.id_hash, user.lang)
    await StaffRepo(svc.db).audit(session.platform, session.user_id, "web_login", {}, now)
    response = web.Response(status=303, headers={"Location": "/overview"})
    settings = svc.settings.web
    response.set_cookie(
        COOKIE,
        cookie,
        httponly=True,
        samesite="Strict",
        secure=bool(settings and settings.secure),
        path="/",
    )
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    """End this session."""
    svc = services(request)
    session = staff(request)
    await WebSessionRepo(svc.db).close_session(session.id_hash)
    await StaffRepo(svc.db).audit(
        session.platform, session.user_id, "web_logout", {"sessions": 1}, svc.clock.timestamp()
    )
    request[STAFF] = None
    response = message(request, "web.signin.signed_out", 200)
    response.del_cookie(COOKIE, path="/")
    return response


async def choose_lang(request: web.Request) -> web.StreamResponse:
    """Switch the console's language and go back to the page."""
    form = await request.post()
    lang = form.get("lang")
    svc = services(request)
    if isinstance(lang, str) and lang in svc.i18n.languages:
        await WebSessionRepo(svc.db).set_lang(staff(request).id_hash, lang)
    back = form.get("next")
    if not isinstance(back, str) or not back.startswith("/") or back.startswith("//"):
        back = "/overview"
    raise web.HTTPSeeOther(back)


async def me(request: web.Request) -> web.StreamResponse:
    """Who is signed in: role and the counties they may see."""
    session = staff(request)
    svc = services(request)
    lang = session.lang
    counties = [
        c.name.get(lang)
        for c in svc.content.counties
        if session.scope.counties is not None and c.id in session.scope.counties
    ]
    return render(request, "me.html", counties=counties)


def setup(app: web.Application) -> None:
    """Add the sign-in routes."""
    app.router.add_get("/", home)
    app.router.add_get("/login/{token}", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_post("/lang", choose_lang)
    app.router.add_get("/me", me)

"""我的数据 pages: a volunteer downloads everything held about them and erases their account (issue 15, item 6)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Template
from markupsafe import Markup

from api.auth import SESSION_COOKIE, Conn, User, roles
from api.services import data_rights
from api.services.accounts import Identity
from api.services.data_rights import ErasureConfirm
from web.forms import parse_form, submit
from web.routes._common import FormData, PageRedirect, multi, redisplay


def _erase_form(who: Identity, errors: dict[str, str], values: dict[str, Any], status: int) -> Template:
    return Template(
        template_name="volunteers/erase.html",
        # The word is Chinese on the English page too (it is what to type), so it says which language it is.
        context={
            "who": who,
            "errors": errors,
            "values": values,
            "word": Markup('<span lang="zh-CN">%s</span>') % data_rights.CONFIRM_WORD,
        },
        status_code=status,
    )


class DataRightsPages(Controller):
    """My data: the download and the erasure of my account."""

    include_in_schema = False

    @get("/volunteer/data", name="volunteer_data", guards=[roles("volunteer")])
    async def show(self, user: User) -> Template:
        """What my download holds, and the way to erase my account."""
        return Template(template_name="volunteers/data.html", context={"who": user})

    @get("/volunteer/data/linli-data.zip", name="volunteer_data_export", guards=[roles("volunteer")])
    async def download(self, conn: Conn, user: User) -> Response[bytes]:
        """Everything held about me as a ZIP of JSON and CSV files (the same as the API's)."""
        download = await data_rights.export(conn, user)
        return Response(download.content, media_type=download.media_type, headers=download.headers)

    @get("/volunteer/data/erase", name="volunteer_erase_form", guards=[roles("volunteer")])
    async def erase_form(self, user: User) -> Template:
        """The confirmation page: what erasure does and keeps, then the password or the word again."""
        return _erase_form(user, {}, {}, 200)

    @post("/volunteer/data/erase", name="volunteer_erase", guards=[roles("volunteer")])
    async def erase(self, request: Request[Any, Any, Any], conn: Conn, user: User, data: FormData) -> Response[Any]:
        """Erase my account; the session ends with it and the page that says so follows."""
        form = multi(data)

        def done(_erased: data_rights.Erased) -> Response[Any]:
            response = PageRedirect("account_erased")
            response.delete_cookie(SESSION_COOKIE, path="/")
            return response

        async def again(errors: dict[str, str], status: int) -> Response[Any]:
            return _erase_form(user, errors, redisplay(form), status)

        return await submit(
            parse_form(ErasureConfirm, form),
            lambda command: data_rights.erase(conn, user, command),
            done,
            again,
        )

    @get("/account-erased", name="account_erased")
    async def erased(self) -> Template:
        """Said once the account is gone (nobody is logged in any more)."""
        return Template(template_name="volunteers/erased.html", context={"who": None})

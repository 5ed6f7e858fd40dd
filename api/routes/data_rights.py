"""A volunteer's data rights: download everything held about them, erase their account (issue 15, item 6)."""

from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.exceptions import ValidationException
from litestar.params import JSONBody

from api.auth import Conn, User, roles
from api.routes.shifts import unprocessable
from api.services import data_rights
from api.services.data_rights import Erased, ErasureConfirm


class DataRightsController(Controller):
    """The calling volunteer's data: a ZIP of everything, and erasure of the account (个人信息权利)."""

    path = "/api/volunteers/me"
    tags = ("volunteers",)
    guards = [roles("volunteer")]  # noqa: RUF012 - Litestar reads these as instance attributes
    exception_handlers = {ValidationException: unprocessable}  # noqa: RUF012 - as above

    @get("/export", operation_id="exportMyData", media_type="application/zip")
    async def export(self, conn: Conn, user: User) -> Response[bytes]:
        """Everything held about me as a ZIP: one JSON and one CSV file per kind, and the files I uploaded."""
        download = await data_rights.export(conn, user)
        return Response(download.content, media_type=download.media_type, headers=download.headers)

    @post("/erase", operation_id="eraseMyAccount", status_code=200)
    async def erase(self, conn: Conn, user: User, data: JSONBody[ErasureConfirm]) -> Erased:
        """Erase my account (confirmed by my password or the word 注销): my future places are cancelled, my hours
        stay without my name, my certificates are withdrawn and my time coins go to the community pool."""
        return await data_rights.erase(conn, user, data)

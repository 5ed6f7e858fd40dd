"""Import pages of a residents' committee: upload the Excel register it keeps (households or volunteers), see every
row with its errors, tick the consent per household, and confirm — every row or none, once. Also the empty template
sheet to fill in, the claim codes of imported volunteers, and the page where a volunteer claims their profile."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, QueryParameter
from litestar.response import Template

from api.auth import Conn, User, Who, roles
from api.i18n import current_locale
from api.i18n import gettext as _
from api.services import register_imports, volunteer_claims
from api.services.accounts import Identity
from api.services.errors import DomainError, NotFound
from api.services.register_imports import UPLOAD_CEILING, Preview, Refused
from api.services.volunteer_claims import VolunteerClaim
from web.forms import parse_form, submit
from web.routes._common import FormData, PageRedirect, multi, redisplay

MultipartData = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]
KindPath = FromPath[str]
DoneQuery = Annotated[str | None, QueryParameter(pattern=r"^(1|again)$")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _upload_page(user: Identity, kind: str, errors: dict[str, str], status: int = 200) -> Template:
    return Template(
        template_name="imports/upload.html",
        context={"who": user, "kind": kind, "errors": errors, "kinds": register_imports.KINDS},
        status_code=status,
    )


def _preview_page(
    user: Identity, preview: Preview, *, done: str | None = None, ticked: set[int] | None = None, status: int = 200
) -> Template:
    """The preview; `ticked` keeps the consent boxes as the staff left them when the import was refused."""
    return Template(
        template_name="imports/preview.html",
        context={"who": user, "kind": preview.kind, "preview": preview, "done": done, "ticked": ticked},
        status_code=status,
    )


class RegisterImportPages(Controller):
    """导入名册: a committee's households and volunteers from its Excel sheets."""

    include_in_schema = False
    guards = [roles("committee")]  # noqa: RUF012 - litestar reads the class attribute

    @get("/imports/{kind:str}", name="register_import")
    async def form(self, user: User, kind: KindPath) -> Template:
        """Choose the sheet to upload; the template to fill in is linked here."""
        return _upload_page(user, register_imports.kind_of(kind), {})

    @get("/imports/{kind:str}/template.xlsx", name="register_import_template")
    async def template(self, kind: KindPath) -> Response[bytes]:
        """The empty register with the columns the import reads, and a sheet of instructions."""
        filename = "households-template.xlsx" if kind == "households" else "volunteers-template.xlsx"
        return Response(
            register_imports.template_workbook(kind),
            media_type=XLSX,
            headers={"content-disposition": f'attachment; filename="{filename}"'},
        )

    @post("/imports/{kind:str}", name="register_import_upload", request_max_body_size=UPLOAD_CEILING)
    async def upload(self, conn: Conn, user: User, state: State, kind: KindPath, data: MultipartData) -> Response[Any]:
        """Keep the sheet and show its preview; a file that is not an XLSX workbook comes back beside the field."""
        upload = data.get("file")
        content = await upload.read() if isinstance(upload, UploadFile) else b""
        filename = upload.filename if isinstance(upload, UploadFile) else ""
        try:
            public_id = await register_imports.upload(
                conn, user, kind, filename or "", content, register_imports.limits_of(state.settings)
            )
        except DomainError as exc:
            if "file" not in exc.fields:
                raise
            wrong = exc.fields["file"]
            message = _(wrong)
            params = {k: str(v) for k, v in exc.params.items()}
            return _upload_page(user, kind, {"file": message % params if params else message}, exc.status)
        return PageRedirect("register_import_preview", kind=kind, public_id=public_id)

    @get("/imports/{kind:str}/{public_id:str}", name="register_import_preview")
    async def preview(
        self, conn: Conn, user: User, state: State, kind: KindPath, public_id: FromPath[str], done: DoneQuery = None
    ) -> Template:
        """Every row of the upload with its errors; after the import, how many rows it wrote."""
        preview = await register_imports.preview(conn, user, public_id, register_imports.limits_of(state.settings))
        if preview.kind != kind:
            # The address names the other register: answer as for an upload that does not exist.
            raise NotFound("No such upload")
        return _preview_page(user, preview, done=done)

    @post("/imports/{kind:str}/{public_id:str}/confirm", name="register_import_confirm")
    async def confirm(
        self,
        conn: Conn,
        user: User,
        state: State,
        kind: KindPath,
        public_id: FromPath[str],
        data: FormData,
    ) -> Response[Any]:
        """Import every row or none; a confirm sent twice (a reload, a double click) imports once."""
        form = multi(data)
        rows = {int(v) for v in form.getall("consent", []) if v.isdigit() and len(v) <= 7}
        limits = register_imports.limits_of(state.settings)
        try:
            result = await register_imports.confirm(conn, user, public_id, rows, limits)
        except Refused as refused:
            return _preview_page(user, refused.preview, ticked=rows, status=refused.status)
        return PageRedirect(
            "register_import_preview", kind=result.kind, public_id=public_id,
            query={"done": "again" if result.already else "1"},
        )  # fmt: skip

    @get("/volunteers/unclaimed", name="unclaimed_volunteers")
    async def unclaimed(self, conn: Conn, user: User) -> Template:
        """The volunteers the committee imported who have not claimed their profiles, by import, with new codes."""
        return Template(
            template_name="imports/unclaimed.html",
            context={"who": user, "kind": "unclaimed", "waiting": await volunteer_claims.waiting_profiles(conn, user)},
        )

    @post("/imports/{kind:str}/{public_id:str}/claim-codes", name="volunteer_claim_codes")
    async def claim_codes(
        self, request: Request[Any, Any, Any], conn: Conn, user: User, kind: KindPath, public_id: FromPath[str]
    ) -> Response[bytes]:
        """New claim codes for the import's volunteers who have not claimed their profiles, as a sheet to hand out."""
        if kind != "volunteers":
            raise NotFound("No such upload")
        codes = await volunteer_claims.issue_codes(conn, user, public_id)
        claim_url = str(request.base_url).rstrip("/") + request.app.route_reverse("volunteer_claim")
        return Response(
            volunteer_claims.codes_workbook(codes, claim_url),
            media_type=XLSX,
            headers={"content-disposition": 'attachment; filename="claim-codes.xlsx"', "cache-control": "no-store"},
        )


def _claim_page(who: Identity | None, errors: dict[str, str], values: dict[str, Any], status: int = 200) -> Template:
    return Template(
        template_name="imports/claim.html", context={"who": who, "errors": errors, "values": values}, status_code=status
    )


class VolunteerClaimPages(Controller):
    """认领志愿者档案: a person whose committee imported them claims the profile with a code."""

    include_in_schema = False

    @get("/register/claim", name="volunteer_claim")
    async def claim_form(self, who: Who) -> Template:
        """The claim form: phone, claim code, and the username and password to choose."""
        return _claim_page(who, {}, {})

    @post("/register/claim", name="volunteer_claim_submit")
    async def claim_submit(self, conn: Conn, who: Who, data: FormData) -> Response[Any]:
        """Claim the profile and send the person to log in; the form comes back with each field's error."""
        form = multi(data)
        extra = {"username": form.get("username", "").strip().lower(), "locale": current_locale.get()}

        async def again(errors: dict[str, str], status: int) -> Template:
            return _claim_page(who, errors, redisplay(form), status)

        return await submit(
            parse_form(VolunteerClaim, form, extra),
            lambda command: volunteer_claims.claim(conn, command),
            lambda _account: PageRedirect("login", query={"registered": "volunteer"}),
            again,
            refusal="__all__",
        )

"""Page controllers, registered by api.app."""

from typing import Any

from litestar import Router

from web.routes.admin import AdminPages
from web.routes.areas import AreaPages
from web.routes.attendance import AttendancePages
from web.routes.awards import NoticePages, ReviewPages
from web.routes.calendar import CalendarPages
from web.routes.calls import CallPages
from web.routes.coins import CoinPages
from web.routes.confirmations import ConfirmationPages
from web.routes.contracts import ContractPages
from web.routes.dashboard import DashboardPages
from web.routes.data_rights import DataRightsPages
from web.routes.grants import GrantPages
from web.routes.groups import GroupPages
from web.routes.handovers import HandoverPages
from web.routes.households import HouseholdPages
from web.routes.needs import NeedPages
from web.routes.notifications import InboxPages, load_unread_count
from web.routes.organisations import OrganisationPages
from web.routes.password_reset import PasswordResetPages
from web.routes.places import PlacePages
from web.routes.register import RegisterPages
from web.routes.register_imports import RegisterImportPages, VolunteerClaimPages
from web.routes.rosters import RespitePages, RosterPages
from web.routes.session import SessionPages
from web.routes.shifts import ShiftPages
from web.routes.staff import StaffPages
from web.routes.teams import TeamPages
from web.routes.tenders import BidPages, TenderPages
from web.routes.timebank import TimeBankPages
from web.routes.verification import VerificationPages
from web.routes.visit_notes import VisitNotePages
from web.routes.visits import VisitPages
from web.routes.volunteering_dashboard import VolunteeringDashboardPages
from web.routes.volunteers import VolunteerPages

PAGE_HANDLERS: list[Any] = [
    SessionPages,
    RegisterPages,
    PasswordResetPages,
    StaffPages,
    OrganisationPages,
    AreaPages,
    AdminPages,
    ContractPages,
    DashboardPages,
    NeedPages,
    TenderPages,
    BidPages,
    CallPages,
    GrantPages,
    ReviewPages,
    NoticePages,
    HandoverPages,
    ShiftPages,
    GroupPages,
    PlacePages,
    CalendarPages,
    TeamPages,
    VisitNotePages,
    HouseholdPages,
    RegisterImportPages,
    VolunteerClaimPages,
    AttendancePages,
    TimeBankPages,
    CoinPages,
    VolunteerPages,
    DataRightsPages,
    VerificationPages,
    InboxPages,
    VolunteeringDashboardPages,
    RosterPages,
    RespitePages,
    ConfirmationPages,
    VisitPages,
]

# Every page shows the caller's unread notifications beside the inbox link (base.html), so all pages share one
# hook that counts them before the handler runs.
PAGE_HANDLERS = [Router(path="/", route_handlers=PAGE_HANDLERS, before_request=load_unread_count)]

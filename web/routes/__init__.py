"""Page controllers, registered by api.app."""

from web.routes.admin import AdminPages
from web.routes.areas import AreaPages
from web.routes.awards import NoticePages, ReviewPages
from web.routes.calls import CallPages
from web.routes.contracts import ContractPages
from web.routes.dashboard import DashboardPages
from web.routes.grants import GrantPages
from web.routes.needs import NeedPages
from web.routes.organisations import OrganisationPages
from web.routes.register import RegisterPages
from web.routes.session import SessionPages
from web.routes.shifts import ShiftPages
from web.routes.tenders import BidPages, TenderPages

PAGE_HANDLERS = [
    SessionPages,
    RegisterPages,
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
    ShiftPages,
]

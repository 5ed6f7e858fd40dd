"""JSON API controllers, registered by api.app (add new ones to API_HANDLERS)."""

from api.routes.accounts import AccountController, AuthController
from api.routes.attendance import AttendanceController
from api.routes.awards import AwardController, NoticeController, ReviewController
from api.routes.calls import CallController, ProposalController
from api.routes.coins import CoinCatalogueController
from api.routes.confirmations import MyPlaceController, PlaceLinkController
from api.routes.contracts import ContractController, PaymentController, PerformanceController
from api.routes.dashboard import DashboardController
from api.routes.data_rights import DataRightsController
from api.routes.grants import GrantController
from api.routes.groups import GroupController
from api.routes.handovers import HandoverController
from api.routes.households import HouseholdController
from api.routes.needs import NeedController
from api.routes.notifications import NotificationController
from api.routes.orgs import OrganisationController
from api.routes.places import PlaceController
from api.routes.reference import ReferenceController
from api.routes.rosters import RespiteController, RosterController, RosterProposalController
from api.routes.shifts import ShiftController
from api.routes.staff import StaffController
from api.routes.system import SystemController
from api.routes.teams import TeamController
from api.routes.tenders import BidController, TenderController
from api.routes.timebank import ServiceRecordController, TimeBankController
from api.routes.travel_times import TravelTimesController
from api.routes.verification import MyEvidenceController, VerificationController
from api.routes.visit_notes import IncidentController, RatingController, VisitNoteController
from api.routes.visits import CarerController, VisitController
from api.routes.volunteering_dashboard import VolunteeringDashboardController
from api.routes.volunteers import VolunteerProfileController

API_HANDLERS: list[type] = [
    SystemController,
    ReferenceController,
    OrganisationController,
    AuthController,
    AccountController,
    NeedController,
    TenderController,
    BidController,
    CallController,
    ProposalController,
    ContractController,
    PaymentController,
    PerformanceController,
    DashboardController,
    ReviewController,
    AwardController,
    GrantController,
    NoticeController,
    ShiftController,
    GroupController,
    HandoverController,
    MyPlaceController,
    PlaceLinkController,
    TeamController,
    HouseholdController,
    PlaceController,
    VolunteerProfileController,
    DataRightsController,
    AttendanceController,
    TimeBankController,
    CoinCatalogueController,
    ServiceRecordController,
    NotificationController,
    VolunteeringDashboardController,
    RosterController,
    RosterProposalController,
    RespiteController,
    MyEvidenceController,
    VerificationController,
    StaffController,
    VisitNoteController,
    IncidentController,
    RatingController,
    TravelTimesController,
    CarerController,
    VisitController,
]

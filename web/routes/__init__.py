"""Page controllers, registered by api.app."""

from web.routes.admin import AdminPages
from web.routes.areas import AreaPages
from web.routes.organisations import OrganisationPages
from web.routes.register import RegisterPages
from web.routes.session import SessionPages

PAGE_HANDLERS = [SessionPages, RegisterPages, OrganisationPages, AreaPages, AdminPages]

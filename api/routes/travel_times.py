"""An organisation's or a committee's measured travel times between its carers' bases and the households it serves
(a CSV upload replacing them as a whole, or removed; read back by the owner only)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, put
from litestar.params import FromPath, QueryParameter

from api.auth import Conn, User, roles
from api.schemas.travel_times import TravelTimesOut, travel_times_out
from api.services import travel_times

OWNERS = roles("organisation", "committee")


class TravelTimesController(Controller):
    """The caller's measured travel times (minutes by e-bike) that day plans use instead of estimates."""

    path = "/api/carers/travel-times"
    tags = ("visits",)

    @get("/", operation_id="getTravelTimes", guards=[OWNERS])
    async def current(self, conn: Conn, user: User) -> TravelTimesOut:
        """The caller's travel times and every pair (404 when none was uploaded)."""
        return travel_times_out(await travel_times.get(conn, user))

    @get("/{matrix_id:int}", operation_id="getTravelTimesById", guards=[OWNERS])
    async def one(self, conn: Conn, user: User, matrix_id: FromPath[int]) -> TravelTimesOut:
        """The caller's travel times by id (another owner's are a 404)."""
        return travel_times_out(await travel_times.get(conn, user, matrix_id))

    @put("/", operation_id="putTravelTimes", guards=[OWNERS], request_max_body_size=travel_times.MAX_BYTES + 1)
    async def replace(
        self, request: Request[Any, Any, Any], conn: Conn, user: User,
        filename: Annotated[str, QueryParameter(min_length=1, max_length=200)] = "travel-times.csv",
    ) -> TravelTimesOut:  # fmt: skip
        """Replace the caller's travel times by a CSV sent as the raw request body (UTF-8 or GBK), rows
        `from,to,minutes`; a file with any wrong row stores nothing and answers 422 naming each row's errors."""
        await travel_times.replace(conn, user, filename, await request.body())
        return travel_times_out(await travel_times.get(conn, user))

    @delete("/{matrix_id:int}", operation_id="deleteTravelTimes", guards=[OWNERS], status_code=204)
    async def remove(self, conn: Conn, user: User, matrix_id: FromPath[int]) -> None:
        """Remove the caller's travel times: later plans estimate every trip from coordinates again, plans already
        made keep the minutes they used (another owner's, or one replaced since, is a 404)."""
        await travel_times.remove(conn, user, matrix_id)

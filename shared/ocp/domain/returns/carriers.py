"""A return pickup as the `Carriers` port books it, apart from `ocp.ports`."""

from ocp.base_model import OcpModel


class CarrierBooking(OcpModel):
    carrier: str
    waybill_no: str
    pickup_code: str | None = None

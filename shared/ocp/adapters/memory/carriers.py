"""Carriers for return pickups (`ocp.ports.Carriers`).

`LocalCarriers` is the deterministic local fake (local runtime, tests, demos). A production adapter books through
the carrier's or platform's API with the buyer as sender and the warehouse as receiver (docs AFTERSALES.md §5):
- SF 顺丰 (丰桥, `https://sfapi.sf-express.com/std/service`): `EXP_RECE_CREATE_REVERSE_ORDER` (退货上门取件), with
  `orderId` = `reference`: SF keeps `orderId` unique, so a retry cannot book twice (on a duplicate refusal, read
  the first booking back with `EXP_RECE_SEARCH_ORDER_RESP`). The reverse order's fields are unverified; the
  forward `EXP_RECE_CREATE_ORDER` answers the waybill in `waybillNoInfoList[0].waybillNo`.
- JD Logistics: `jingdong.ldop.receive.pickuporder.receive` (取件单), `orderId` = `reference`, `pickupAddress` the
  buyer, `backAddress` the warehouse; `receivepickuporder_result.code == "100"` and its `pickUpCode`.
- Cainiao (Taobao): `cainiao.waybill.ii.get` (电子面单 取号), for an e-waybill the buyer prints or hands over
  (made for outbound labels; swapping sender and recipient for returns is unverified).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping

from ocp.domain.returns.carriers import CarrierBooking


class LocalCarriers:
    def __init__(self, carrier: str = "SF") -> None:
        """Every booking is with `carrier`; its waybill is the carrier code and 12 digits from the reference."""
        self.carrier = carrier
        self.bookings: dict[str, CarrierBooking] = {}
        """Reference → the booking it made (the first: a repeat books nothing new)."""
        self._lock = threading.Lock()

    def book_return(self, reference: str, sender: Mapping[str, str], receiver: Mapping[str, str],
                    parcels: int) -> CarrierBooking:
        if parcels < 1:
            raise ValueError(f"a return pickup takes at least one parcel, not {parcels}")
        # Derived from the reference alone: the same reference books the same waybill even after a restart.
        digest = int(hashlib.sha256(reference.encode()).hexdigest(), 16)
        booking = CarrierBooking(carrier=self.carrier, waybill_no=f"{self.carrier}{digest % 10**12:012d}",
                                 pickup_code=f"{digest // 10**12 % 10**6:06d}")
        with self._lock:
            return self.bookings.setdefault(reference, booking)

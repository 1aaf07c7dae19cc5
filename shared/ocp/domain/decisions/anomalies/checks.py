"""The anomaly checks, one pure function each: an order (and the data a check needs) in, problems out.

Details name what is wrong without repeating personal data (no phone or ID numbers in a hold's detail).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ocp.domain.clock import iso
from ocp.domain.order.money import exponent

if TYPE_CHECKING:
    from ocp.domain.decisions.rules.documents.anomaly import PriceCheck
    from ocp.domain.operations.catalog import CatalogItem
    from ocp.domain.order.divisions import Divisions
    from ocp.domain.order.model import Address, Order

_EXTENSION = re.compile(r"^(?P<number>.*?\d)\s*(?:[-－—_,，#]|转|分机|ext\.?)\s*(?P<ext>\d{1,6})$", re.IGNORECASE)
_PHONE_TEXT = re.compile(
    r"^\+?[\d\s()（）\-－—]{3,25}(?:\s*(?:[-－—_,，#]|转|分机|ext\.?)\s*\d{1,6})?$", re.IGNORECASE
)
_CIPHERTEXT = re.compile(r"^(~|\$)|^[A-Za-z0-9+/=_~$-]{24,}$")
_ID_NAME = re.compile(r"^[\u3400-\u9fff\u00b7\u2022A-Za-z .'-]{2,40}$")


def is_masked(value: str) -> bool:
    return "*" in value


def looks_encrypted(value: str) -> bool:
    """Channel ciphertext (Taobao/Douyin encrypt PII: `~...~`, long base64-like tokens), not a typo."""
    return bool(_CIPHERTEXT.search(value.strip()))


# ---- address ----------------------------------------------------------------------------------------------


def address_problem(address: Address, divisions: Divisions, require_district: bool = True) -> str | None:
    """Province, city and district must exist and agree (only for addresses in mainland China's data)."""
    if (address.country or "CN").upper() != "CN":
        return None
    return divisions.problem(address.province, address.city, address.district, require_district,
                             address.detail or address.town)


# ---- phone ------------------------------------------------------------------------------------------------


def phone_problem(address: Address, mobile_only: bool = False) -> str | None:
    """A phone the courier can call. Masked or encrypted numbers were checked by the channel and pass;
    virtual numbers with an extension (`13800138000-1234`, `…转1234`) are checked without it."""
    phone = (address.phone or "").strip()
    if not phone:
        return None if address.masked_phone or address.pii_token else "no phone number"
    if is_masked(phone) or looks_encrypted(phone):
        return None
    if not _PHONE_TEXT.match(phone):
        return "phone number has characters a phone number cannot have"
    extension = _EXTENSION.match(phone)
    number_text = extension.group("number") if extension else phone
    region = (address.country or "CN").upper()
    # Imported on the first phone checked: the library and its metadata are a large part of a cold start, and most
    # functions that load these checks (the rules API, stock events) never check a phone.
    import phonenumbers

    try:
        number = phonenumbers.parse(number_text, region)
    except phonenumbers.NumberParseException:
        return f"phone number cannot be read as a {region} number"
    if not phonenumbers.is_valid_number(number):
        return f"phone number is not a valid {region} number"
    if mobile_only and phonenumbers.number_type(number) not in (phonenumbers.PhoneNumberType.MOBILE,
                                                                phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return "phone number is not a mobile number"
    return None


# ---- price ------------------------------------------------------------------------------------------------


PHASED_PRESALE = frozenset({"deposit", "stepped"})


def _money(minor: int, currency: str) -> str:
    digits = exponent(currency)
    return f"{minor / 10**digits:.{digits}f} {currency}"


def price_problems(order: Order, catalog: Mapping[str, CatalogItem], config: PriceCheck) -> list[str]:
    """Lines paying less per unit than the catalog floor, or far less than list price. Gift lines, give-away
    SKUs, SKUs not in the catalog and prices in another currency are not compared, nor are pre-sale orders
    paid in phases (定金/阶梯: what is paid so far is a deposit, not the price)."""
    if order.presale is not None and order.presale.kind in PHASED_PRESALE:
        return []
    found: list[str] = []
    for line in order.lines:
        item = catalog.get(line.sku)
        if line.gift or item is None or item.gift or item.currency != order.currency:
            continue
        per_unit = line.paid // line.quantity
        if config.below_floor and item.min_price is not None and line.paid < item.min_price * line.quantity:
            found.append(f"{line.sku}: paid {_money(per_unit, order.currency)}/unit, below the floor "
                         f"{_money(item.min_price, order.currency)}")
        elif (config.max_discount_pct is not None and item.list_price
              and line.paid * 100 < item.list_price * line.quantity * (100 - config.max_discount_pct)):
            found.append(f"{line.sku}: paid {_money(per_unit, order.currency)}/unit, more than "
                         f"{config.max_discount_pct}% under list price {_money(item.list_price, order.currency)}")
    return found


# ---- blacklist --------------------------------------------------------------------------------------------


def digits_of_phone(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


def blacklist_problem(
    order: Order, buyers: frozenset[str], phones: frozenset[str], addresses: frozenset[str], address_key: str
) -> str | None:
    if order.buyer_id and (order.buyer_id in buyers or f"{order.channel.value}:{order.buyer_id}" in buyers):
        return "buyer is on the blacklist"
    phone = order.address.phone
    if phone and phones and not is_masked(phone) and digits_of_phone(phone) in phones:
        return "phone number is on the blacklist"
    if addresses and address_key in addresses:
        return "address is on the blacklist"
    return None


# ---- buyer note -------------------------------------------------------------------------------------------


def note_problem(note: str | None, keywords: re.Pattern[str] | None, patterns: tuple[re.Pattern[str], ...],
                 hold_any_note: bool) -> str | None:
    text = (note or "").strip()
    if not text:
        return None
    if keywords is not None:
        hit = keywords.search(text)
        if hit:
            return f"buyer note mentions {hit.group(0)!r}"
    for pattern in patterns:
        if pattern.search(text[:2000]):
            return f"buyer note matches {pattern.pattern!r}"
    return "buyer note needs a person (every note is reviewed)" if hold_any_note else None


def keyword_pattern(keywords: list[str]) -> re.Pattern[str] | None:
    words = sorted({k.strip() for k in keywords if k.strip()}, key=len, reverse=True)
    return re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE) if words else None


# ---- cross-border identity --------------------------------------------------------------------------------


def customs_problem(
    order: Order, accept_masked: bool = True, declared_by_channel: frozenset[str] = frozenset()
) -> str | None:
    """A cross-border order needs the buyer's name and a valid resident ID (GB 11643 check digit and birth
    date). A masked or encrypted value was verified by the channel and passes unless `accept_masked` is off.
    Channels in `declared_by_channel` declare to customs themselves and never send the ID: not checked."""
    declared = order.cross_border
    if declared is None or order.channel.value in declared_by_channel:
        return None
    name = (declared.id_card_name or "").strip()
    number = (declared.id_card_no or "").strip()
    problems: list[str] = []
    if not name:
        problems.append("no name of the ID holder")
    elif is_masked(name) or looks_encrypted(name):
        if not accept_masked:
            problems.append("ID holder's name is masked; it cannot be checked")
    elif not _ID_NAME.match(name):
        problems.append("ID holder's name is not a name")
    if not number:
        problems.append("no resident ID number")
    elif is_masked(number) or looks_encrypted(number):
        if not accept_masked:
            problems.append("resident ID number is masked; it cannot be checked")
    elif not _valid_resident_id(number):
        problems.append("resident ID number fails its check digit or birth date")
    return "; ".join(problems) or None


# ---- pre-sale ---------------------------------------------------------------------------------------------


def _valid_resident_id(number: str) -> bool:
    from stdnum.cn import ric  # on the first ID checked (cross-border orders only), as `phone_problem` does

    return bool(ric.is_valid(number))


def presale_release_at(order: Order, hours_before: int = 0) -> datetime | None:
    """When a pre-sale order may go to the warehouse (None: not a pre-sale with a ship date)."""
    if order.presale is None or order.presale.ship_by is None:
        return None
    return order.presale.ship_by - timedelta(hours=hours_before)


def presale_problem(order: Order, now: datetime, hours_before: int = 0) -> str | None:
    release = presale_release_at(order, hours_before)
    if release is None or now >= release:
        return None
    return f"pre-sale: released automatically at {iso(release)}"

"""The district read from an address's text, for channels that send a province and a city but no district.

Web stores (Shopify) have no district field, so Chinese buyers write the district in the street line:
"广东省广州市天河区天河路385号" or "天河区天河路385号". The address check and routing rules read
`address.district`, so channel mappings fill it from the text with the division dataset (`divisions.py`).
Only the districts of the address's own city count, and nothing is guessed: when the text names none, or
names another city, the district stays empty and the address check holds the order. `detail` is kept as sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocp.domain.order.divisions import CityDistricts, Divisions, china, short_name

if TYPE_CHECKING:
    from ocp.domain.order.model import Address

_SEPARATORS = " \u3000\t,，、;；:：-_/"
_SUFFIX_START = frozenset("省市州盟区县旗")
_NAME_CONTINUES = frozenset("路街道巷弄胡里大小东西南北中直横新门桥村镇乡城园苑站港湾口广场")
"""A short district name followed by one of these is a road or place named after a district (天河路, 黄埔大道,
朝阳门), and those can lie in another district."""


def with_district(address: Address, divisions: Divisions | None = None) -> Address:
    """`address` with `district` read from `detail` when the channel sent none; else `address` unchanged."""
    if address.district or address.country != "CN" or not address.detail:
        return address
    district = district_in_text(address.province, address.city, address.detail, divisions or china())
    return address.model_copy(update={"district": district}) if district else address


def district_in_text(province: str | None, city: str | None, text: str, divisions: Divisions) -> str | None:
    """The official name of the district of `province`/`city` that `text` names, or None.

    The longest full name found wins (2-character names such as 城区 only at the start, after any province and
    city prefix); a short name (天河 for 天河区) only at the start, and only when it fits one district alone."""
    place = divisions.districts_of(province, city)
    if place is None:
        return None
    rest = _after_place(text, place)
    if rest is None:
        return None
    return _full_name(rest, place.districts) or _short_form(rest, place.districts)


def _after_place(text: str, place: CityDistricts) -> str | None:
    """`text` without its province and city prefix; None when it starts with another city of the province."""
    rest = _strip_name(text.strip(_SEPARATORS), place.province)
    if any(rest.startswith(other) for other in place.other_cities):
        return None
    return _strip_name(rest, place.city)


def _strip_name(text: str, name: str) -> str:
    # A municipality is both province and city, and forms repeat it: "上海市上海市浦东新区…".
    if text.startswith(name):
        return text[len(name):].lstrip(_SEPARATORS)
    short = short_name(name)
    # "吉林市…" under 吉林省 starts with the city, not with the province's short name.
    if text.startswith(short) and text[len(short):len(short) + 1] not in _SUFFIX_START:
        return text[len(short):].lstrip(_SEPARATORS)
    return text


def _full_name(text: str, districts: tuple[str, ...]) -> str | None:
    found = [(len(name), -text.find(name), name) for name in districts
             if (name in text if len(name) >= 3 else text.startswith(name))]
    return max(found)[2] if found else None


def _short_form(text: str, districts: tuple[str, ...]) -> str | None:
    fitting = [(name, short) for name in districts for short in _short_forms(name) if text.startswith(short)]
    if len({name for name, _ in fitting}) != 1:
        return None
    name, short = max(fitting, key=lambda pair: len(pair[1]))
    return None if text[len(short):len(short) + 1] in _NAME_CONTINUES else name


def _short_forms(name: str) -> set[str]:
    """天河区 → 天河; 浦东新区 → 浦东 (buyers drop 新区 too). Names of two characters have none."""
    forms = {short_name(name)} - {name}
    if name.endswith("新区") and len(name) >= 4:
        forms.add(name[:-2])
    return forms

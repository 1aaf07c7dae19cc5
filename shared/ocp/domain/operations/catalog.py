"""The product catalog (API.md `PUT /catalog/{sku}`): what routing by category, price checks and return policy read.

Money is integer minor units (fen) with the currency code. Every problem with an item is reported at once.
"""

from typing import Annotated, Any

from pydantic import ConfigDict, Field, ValidationError, model_validator

from ocp.base_model import OcpModel
from ocp.domain.errors import DomainError
from ocp.domain.problems import Problem, problems_from

SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/#+-]{0,127}$"
Sku = Annotated[str, Field(pattern=SKU_PATTERN, description="The merchant SKU")]
NonNegativeFen = Annotated[int, Field(ge=0, le=10**12, strict=True, description="Integer minor units (fen for CNY)")]


class CatalogFields(OcpModel):
    """The body of `PUT /catalog/{sku}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    category: str | None = Field(default=None, min_length=1, max_length=64, description="Routing and rules read it")
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    list_price: NonNegativeFen | None = Field(default=None, description="The usual selling price per unit")
    min_price: NonNegativeFen | None = Field(
        default=None, description="The floor: a line paying less per unit is held as `price_abnormal`"
    )
    returnable: bool = True
    return_window_days: int | None = Field(default=None, ge=0, le=365, strict=True)
    gift: bool = Field(default=False, description="A give-away item: never sold, so never price-checked")

    @model_validator(mode="after")
    def _floor_not_above_list(self) -> "CatalogFields":
        if self.list_price is not None and self.min_price is not None and self.min_price > self.list_price:
            raise ValueError(f"min_price ({self.min_price}) is above list_price ({self.list_price})")
        return self


class CatalogItem(CatalogFields):
    sku: Sku
    updated_at: str | None = Field(default=None, description="When this item was last written (UTC ISO-8601)")


class InvalidCatalogItem(DomainError):
    """`details` lists every problem."""

    code = "invalid_catalog_item"

    def __init__(self, sku: str, problems: list[Problem]) -> None:
        super().__init__(f"catalog item {sku!r} is not valid ({len(problems)} problems)",
                         details=[p.as_dict() for p in problems])
        self.problems = problems


class CatalogItemNotFound(DomainError):
    code = "catalog_item_not_found"


class InvalidBulkRequest(DomainError):
    code = "invalid_bulk_request"


MAX_BULK_ITEMS = 500


def parse_item(sku: str, fields: Any, updated_at: str | None = None) -> CatalogItem:
    """A validated item for `sku` from an untrusted body; `InvalidCatalogItem` lists every problem."""
    if not isinstance(fields, dict):
        raise InvalidCatalogItem(sku, [Problem(path="", problem="a catalog item is a JSON object")])
    problems = []
    if "sku" in fields and fields["sku"] != sku:
        problems.append(Problem(path="sku", problem=f"the body names sku {fields['sku']!r}, the path {sku!r}"))
    try:
        item = CatalogItem.model_validate({**fields, "sku": sku, "updated_at": updated_at})
    except ValidationError as exc:
        problems += problems_from(exc)
    if problems:
        raise InvalidCatalogItem(sku, problems)
    return item
